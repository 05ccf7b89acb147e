package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"strata/agent/proto"
	"strata/restapi"
	"strata/store"
	"strata/tests/harness"
)

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type nodeView struct {
	Name             string            `json:"name"`
	ConnectionStatus string            `json:"connection_status"`
	Props            map[string]string `json:"props"`
}

func nodeStatus(t *testing.T, c *harness.Controller, node string) nodeView {
	var n nodeView
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/nodes/"+node, nil, &n)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	return n
}

type volumeView struct {
	DevicePath string `json:"device_path"`
	UsableKib  *int64 `json:"usable_size_kib"`
	State      *struct {
		DiskState string `json:"disk_state"`
	} `json:"state"`
}

func volumes(t *testing.T, c *harness.Controller) map[string]volumeView {
	var rscs []struct {
		NodeName string       `json:"node_name"`
		Volumes  []volumeView `json:"volumes"`
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/resources?resources=data", nil, &rscs)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	out := map[string]volumeView{}
	for _, r := range rscs {
		if len(r.Volumes) == 1 {
			out[r.NodeName] = r.Volumes[0]
		}
	}
	return out
}

func must(t testing.TB, c *harness.Controller, method, path string, body any, want int) {
	t.Helper()
	var out json.RawMessage
	status, err := c.Do(context.Background(), method, path, body, &out)
	require.NoError(t, err)
	require.Equal(t, want, status, "%s %s: %s", method, path, out)
}

// Three agents as separate processes on loopback with FILE_THIN pools:
// their nodes come online, get their volumes, keep the bytes written to
// them across an agent restart, and show OFFLINE while an agent is gone.
func TestAgentsServeFileThinVolumes(t *testing.T) {
	dirs := map[string]string{}
	t.Cleanup(func() { detachLoops(dirs) }) // last, after the processes stopped
	c := harness.StartController(t, harness.ControllerOptions{})
	names := []string{"alpha", "bravo", "charlie"}
	agents := map[string]*harness.Agent{}
	for _, n := range names {
		agents[n] = harness.StartAgent(t)
		dirs[n] = t.TempDir()
		must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": n, "type": "satellite",
			"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": agents[n].Port}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/nodes/"+n+"/storage-pools", map[string]any{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN",
			"props": map[string]string{"StorDriver/StorPoolName": dirs[n]}}, http.StatusCreated)
	}
	for _, n := range names {
		eventually(t, 20*time.Second, n+" online", func() bool { return nodeStatus(t, c, n).ConnectionStatus == "ONLINE" })
	}
	host, _ := os.Hostname()
	require.Equal(t, host, nodeStatus(t, c, "alpha").Props["NodeUname"], "the node's uname is detected")

	// A pool created on an online node has its capacity when the create
	// is answered: a spawn right after it can use the pool.
	must(t, c, http.MethodPost, "/v1/nodes/alpha/storage-pools", map[string]any{"storage_pool_name": "fresh", "provider_kind": "FILE_THIN",
		"props": map[string]string{"StorDriver/StorPoolName": t.TempDir()}}, http.StatusCreated)
	var fresh []struct {
		Free *int64 `json:"free_capacity"`
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/storage-pools?storage_pools=fresh", nil, &fresh)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, fresh, 1)
	require.NotNil(t, fresh[0].Free, "the agent reported the new pool before the create was answered")
	must(t, c, http.MethodDelete, "/v1/nodes/alpha/storage-pools/fresh", nil, http.StatusOK)
	out, errOut, code := cliRun(t, []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}, "node", "info", "--no-utf8")
	require.Zero(t, code, errOut)
	require.Regexp(t, `\| alpha +\| \+ +\| - +\| - +\| - +\| - +\| \+ +\| \+ +\|`, out, "DISKLESS, FILE and FILE_THIN are served")
	require.Regexp(t, `\| alpha +\| LVM +\| .*(device-mapper|lvm2)`, out, "this machine's kernel has no device-mapper, and node info says so")

	must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "data", "props": map[string]string{"StorPoolName": "pool1"}}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/data/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 8192}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/data/resources",
		[]map[string]any{{"resource": map[string]string{"node_name": "alpha"}}, {"resource": map[string]string{"node_name": "bravo"}}, {"resource": map[string]string{"node_name": "charlie"}}}, http.StatusCreated)
	for _, n := range names {
		must(t, c, http.MethodPut, "/v1/nodes/"+n+"/reconnect", nil, http.StatusOK)
	}
	eventually(t, 30*time.Second, "volumes on all three nodes", func() bool {
		vols := volumes(t, c)
		for _, n := range names {
			if v, ok := vols[n]; !ok || v.DevicePath == "" || v.State == nil || v.State.DiskState != "UpToDate" {
				return false
			}
		}
		return true
	})
	vol := volumes(t, c)["alpha"]
	require.EqualValues(t, 8192, *vol.UsableKib)
	require.FileExists(t, filepath.Join(dirs["alpha"], "data_00000.img"))
	var pools []struct {
		Name  string `json:"storage_pool_name"`
		Total *int64 `json:"total_capacity"`
	}
	status, err = c.Do(context.Background(), http.MethodGet, "/v1/view/storage-pools?storage_pools=pool1", nil, &pools)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	for _, p := range pools {
		require.NotNil(t, p.Total, "the agents report their pools' capacity")
	}

	// Each resource carries LINSTOR's state and layer tree once its agent
	// reported it (the linstor client and linstor-csi read both); a device
	// held as a mount holds it is in use from the next report on.
	inUse := func() *bool {
		var r restapi.ResourceWithVolumes
		status, err := c.Do(context.Background(), http.MethodGet, "/v1/resource-definitions/data/resources/alpha", nil, &r)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.NotNil(t, r.LayerObject)
		require.Equal(t, "STORAGE", r.LayerObject.Type)
		require.Equal(t, vol.DevicePath, r.LayerObject.Storage.StorageVolumes[0].DevicePath)
		if r.State == nil {
			return nil
		}
		return r.State.InUse
	}
	require.False(t, *inUse())
	held, err := unix.Open(vol.DevicePath, unix.O_RDONLY|unix.O_EXCL, 0)
	require.NoError(t, err)
	// (a reconnect joins a push that may have read the state already)
	reported := func(want bool) func() bool {
		return func() bool {
			must(t, c, http.MethodPut, "/v1/nodes/alpha/reconnect", nil, http.StatusOK)
			return *inUse() == want
		}
	}
	eventually(t, 10*time.Second, "in use while held", reported(true))
	require.NoError(t, unix.Close(held))
	eventually(t, 10*time.Second, "not in use once let go", reported(false))

	// Bytes written survive the agent's crash and restart.
	data := []byte("strata keeps these bytes " + time.Now().String())
	f, err := os.OpenFile(vol.DevicePath, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, 1<<20)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	agents["alpha"].Kill()
	eventually(t, 10*time.Second, "alpha offline", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "OFFLINE" })
	agents["alpha"].Start()
	eventually(t, 10*time.Second, "alpha online again", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "ONLINE" })
	again := volumes(t, c)["alpha"]
	require.Equal(t, vol.DevicePath, again.DevicePath, "the restarted agent finds its volume")
	got := make([]byte, len(data))
	f, err = os.Open(again.DevicePath)
	require.NoError(t, err)
	_, err = f.ReadAt(got, 1<<20)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, data, got)

	// Deleting the definition and sending the nodes their state removes
	// the volumes.
	must(t, c, http.MethodDelete, "/v1/resource-definitions/data", nil, http.StatusOK)
	for _, n := range names {
		must(t, c, http.MethodPut, "/v1/nodes/"+n+"/reconnect", nil, http.StatusOK)
	}
	for _, n := range names {
		eventually(t, 30*time.Second, "volume removed on "+n, func() bool {
			_, err := os.Stat(filepath.Join(dirs[n], "data_00000.img"))
			return os.IsNotExist(err)
		})
	}
}

// An agent that speaks another protocol shows as OFFLINE(VERSION_MISMATCH).
func TestAgentVersionMismatch(t *testing.T) {
	// A stand-in for an agent of another release, at the edge of the test.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(proto.Info{Version: "9.9.9", ProtocolVersion: proto.ProtocolVersion + 1, Uname: "old"})
	}))
	defer other.Close()
	port := other.URL[strings.LastIndex(other.URL, ":")+1:]
	c := harness.StartController(t, harness.ControllerOptions{})
	var p int
	_, err := fmt.Sscan(port, &p)
	require.NoError(t, err)
	must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": "old", "type": "satellite",
		"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": p}}}, http.StatusCreated)
	eventually(t, 10*time.Second, "version mismatch shown", func() bool { return nodeStatus(t, c, "old").ConnectionStatus == "VERSION_MISMATCH" })
	out, _, code := cliRun(t, []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}, "node", "list")
	require.Zero(t, code)
	require.Contains(t, out, "OFFLINE(VERSION_MISMATCH)")
}

// detachLoops frees the loop devices of the test's volume files.
func detachLoops(dirs map[string]string) {
	out, _ := exec.Command("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE").Output()
	for _, line := range strings.Split(string(out), "\n") {
		dev, file, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		file = strings.TrimSpace(file) // "(deleted)" follows a file already removed
		for _, dir := range dirs {
			if strings.HasPrefix(file, dir+string(filepath.Separator)) {
				_ = exec.Command("losetup", "--detach", dev).Run()
			}
		}
	}
}

// A pool whose directory is missing: its volume shows the failure with an
// error report that the API and the client retrieve, and the node's other
// pool goes on working.
func TestAgentFaultsBecomeErrorReports(t *testing.T) {
	good, missing := t.TempDir(), filepath.Join(t.TempDir(), "not-there")
	t.Cleanup(func() { detachLoops(map[string]string{"good": good}) }) // last, after the processes stopped
	c := harness.StartController(t, harness.ControllerOptions{})
	a := harness.StartAgent(t)
	must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": "alpha", "type": "satellite",
		"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": a.Port}}}, http.StatusCreated)
	for pool, dir := range map[string]string{"good": good, "broken": missing} {
		must(t, c, http.MethodPost, "/v1/nodes/alpha/storage-pools", map[string]any{"storage_pool_name": pool, "provider_kind": "FILE_THIN",
			"props": map[string]string{"StorDriver/StorPoolName": dir}}, http.StatusCreated)
	}
	for _, rd := range []string{"fine", "doomed"} {
		pool := map[string]string{"fine": "good", "doomed": "broken"}[rd]
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "props": map[string]string{"StorPoolName": pool}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 4096}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
	}
	eventually(t, 20*time.Second, "alpha online", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "ONLINE" })
	type vol struct {
		State *struct {
			DiskState string `json:"disk_state"`
		} `json:"state"`
		Reports []struct {
			Message   string   `json:"message"`
			ReportIDs []string `json:"error_report_ids"`
		} `json:"reports"`
	}
	volOf := func(rd string) vol {
		var rscs []struct {
			Volumes []vol `json:"volumes"`
		}
		status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/resources?resources="+rd, nil, &rscs)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, rscs, 1)
		return rscs[0].Volumes[0]
	}
	eventually(t, 30*time.Second, "the node's state sent", func() bool {
		v := volOf("doomed")
		return v.State != nil && v.State.DiskState == "Failed"
	})
	require.Equal(t, "UpToDate", volOf("fine").State.DiskState, "the other pool goes on")
	doomed := volOf("doomed")
	require.Len(t, doomed.Reports, 1)
	require.Contains(t, doomed.Reports[0].Message, "not-there of the storage pool")
	require.Len(t, doomed.Reports[0].ReportIDs, 1)
	id := doomed.Reports[0].ReportIDs[0]

	var reps []map[string]any
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/error-reports/?since=0", nil, &reps)
	require.NoError(t, err, "the trailing slash golinstor sends")
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, reps)
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	out, errOut, code := cliRun(t, env, "err", "l")
	require.Zero(t, code, errOut)
	require.Contains(t, out, id)
	out, errOut, code = cliRun(t, env, "error-reports", "show", id)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "ERROR REPORT "+id)
	require.Contains(t, out, "not-there of the storage pool")
	out, _, code = cliRun(t, env, "storage-pool", "list", "--no-utf8")
	require.Zero(t, code)
	require.Regexp(t, `\| broken +\| alpha .*\| Error +\|`, out)

	// The same failure on the next sync keeps its report.
	must(t, c, http.MethodPut, "/v1/nodes/alpha/reconnect", nil, http.StatusOK)
	time.Sleep(2 * time.Second)
	require.Equal(t, []string{id}, volOf("doomed").Reports[0].ReportIDs)
}

// node set-log-level as LINSTOR's client sends it (PUT /v1/nodes/{n}/config)
// changes the agent's log level at run time; the node's config shows it;
// a node whose agent is not online answers 503.
func TestNodeSetLogLevel(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	ag := harness.StartAgent(t)
	for n, port := range map[string]int{"alpha": ag.Port, "gone": harness.FreePort(t)} {
		must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": n, "type": "satellite",
			"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": port}}}, http.StatusCreated)
	}
	eventually(t, 20*time.Second, "alpha online", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "ONLINE" })
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	out, errOut, code := cliRun(t, env, "node", "set-log-level", "alpha", "debug")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "Log level of node 'alpha' set to DEBUG.")
	var cfg struct {
		Log struct {
			Level string `json:"level"`
		} `json:"log"`
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/nodes/alpha/config", nil, &cfg)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "DEBUG", cfg.Log.Level)
	eventually(t, 10*time.Second, "the agent logs the change", func() bool { return strings.Contains(ag.Log(), `msg="log level changed" level=DEBUG`) })
	must(t, c, http.MethodPut, "/v1/nodes/gone/config", map[string]any{"log": map[string]string{"level": "INFO"}}, http.StatusServiceUnavailable)
	must(t, c, http.MethodPut, "/v1/nodes/alpha/config", map[string]any{"log": map[string]string{"level": "LOUD"}}, http.StatusBadRequest)
}

// A stranger who reaches an agent's port can push it nothing: an empty
// node state with a huge generation (which would delete the node's
// volumes and make the agent ignore its controller) is refused, the
// volumes stay, and the controller's next change still reaches the node.
func TestStrangersPushNothing(t *testing.T) {
	dirs := map[string]string{"alpha": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	c := harness.StartController(t, harness.ControllerOptions{})
	ag := harness.StartAgent(t)
	alphaWithPool(t, c, ag, dirs["alpha"])
	for _, rd := range []string{"data", "later"} {
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "props": map[string]string{"StorPoolName": "pool1"}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 4096}}, http.StatusCreated)
	}
	must(t, c, http.MethodPost, "/v1/resource-definitions/data/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
	backing := filepath.Join(dirs["alpha"], "data_00000.img")
	require.FileExists(t, backing)

	for _, token := range []string{"", "guessed"} {
		req, err := http.NewRequest(http.MethodPut, ag.URL+"/v1/node-state", strings.NewReader(`{"node": "alpha", "generation": 4611686018427387904, "pools": [], "volumes": []}`))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	require.FileExists(t, backing, "the stranger's state deleted nothing")
	require.Contains(t, ag.Log(), "request refused: not from this node's controller")

	must(t, c, http.MethodPost, "/v1/resource-definitions/later/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
	require.FileExists(t, filepath.Join(dirs["alpha"], "later_00000.img"), "the controller's pushes still count")

	// The token to give agents ahead of time (instead of trusting the first controller).
	out, err := exec.Command(harness.Binary(t, "strata-controller"), "agent-token", "--config", c.ConfigPath).Output()
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{64}\n$`, string(out))
}

// After the database is restored (LINSTOR's backup-db procedure) its
// change generation is behind what the agents applied: their "stale"
// answers are not taken for a deploy; the controller counts past them
// and the new resource is made on the node.
func TestARestoredDatabaseStillDeploys(t *testing.T) {
	ctx := context.Background()
	dirs := map[string]string{"alpha": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	c := harness.StartController(t, harness.ControllerOptions{})
	ag := harness.StartAgent(t)
	alphaWithPool(t, c, ag, dirs["alpha"])
	create := func(rd string) {
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "props": map[string]string{"StorPoolName": "pool1"}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 4096}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
	}
	create("before")
	require.FileExists(t, filepath.Join(dirs["alpha"], "before_00000.img"))

	require.NoError(t, c.Stop())
	st, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(c.DataDir, "strata.db")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.NoError(t, st.DB.Exec("UPDATE change_generation SET generation = 1 WHERE id = 1").Error, "as a restored backup's generation")
	require.NoError(t, st.Close())
	c.Start()
	require.NoError(t, c.WaitHealthy(time.Minute))
	eventually(t, 20*time.Second, "alpha online", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "ONLINE" })

	create("after")
	eventually(t, 30*time.Second, "the new resource made on the node", func() bool {
		_, err := os.Stat(filepath.Join(dirs["alpha"], "after_00000.img"))
		return err == nil
	})
}

// An agent that restarts faster than the controller polls still gets its
// node's whole state: its boot id changed. Seen here by an external file
// removed while the agent was down, written again after the restart.
func TestAQuickAgentRestartGetsItsState(t *testing.T) {
	dirs := map[string]string{"alpha": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	allowed := t.TempDir()
	c := harness.StartController(t, harness.ControllerOptions{})
	ag := harness.StartAgent(t, "--allow-ext-files", allowed)
	path := webWithExternalFile(t, c, ag, dirs["alpha"], allowed)

	require.NoError(t, ag.Stop())
	require.NoError(t, os.Remove(path))
	ag.Start()
	eventually(t, 20*time.Second, "the restarted agent wrote the file again", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
	require.Contains(t, c.Log(), "node's agent restarted")
}

// What is lost on a node while its agent runs (a file removed, a volume
// gone) comes back without a restart or a change: the controller sends
// each online node its whole state again every [agents] verify_interval.
func TestNodesAreReverified(t *testing.T) {
	dirs := map[string]string{"alpha": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	allowed := t.TempDir()
	c := harness.StartController(t, harness.ControllerOptions{Config: "[agents]\nverify_interval = \"2s\"\n"})
	ag := harness.StartAgent(t, "--allow-ext-files", allowed)
	path := webWithExternalFile(t, c, ag, dirs["alpha"], allowed)

	require.NoError(t, os.Remove(path))
	eventually(t, 20*time.Second, "the file is written again", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
	require.NotContains(t, c.Log(), "node's agent restarted")
}

// alphaWithPool makes ag's node alpha, waits until it is online, and gives
// it the FILE_THIN pool pool1 in poolDir.
func alphaWithPool(t *testing.T, c *harness.Controller, ag *harness.Agent, poolDir string) {
	t.Helper()
	must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": "alpha", "type": "satellite",
		"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": ag.Port}}}, http.StatusCreated)
	eventually(t, 20*time.Second, "alpha online", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "ONLINE" })
	must(t, c, http.MethodPost, "/v1/nodes/alpha/storage-pools", map[string]any{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN",
		"props": map[string]string{"StorDriver/StorPoolName": poolDir}}, http.StatusCreated)
}

// webWithExternalFile makes ag's node alpha with its pool in poolDir
// (alphaWithPool), a resource web on it, and an external file web.toml in
// allowed attached to web; it returns the file's path.
func webWithExternalFile(t *testing.T, c *harness.Controller, ag *harness.Agent, poolDir, allowed string) string {
	t.Helper()
	alphaWithPool(t, c, ag, poolDir)
	must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "web", "props": map[string]string{"StorPoolName": "pool1"}}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/web/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 4096}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/web/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
	path := filepath.Join(allowed, "web.toml")
	must(t, c, http.MethodPut, "/v1/files/"+url.QueryEscape(path), map[string]string{"content": "eA=="}, http.StatusOK)
	must(t, c, http.MethodPost, "/v1/resource-definitions/web/files/"+url.QueryEscape(path), nil, http.StatusOK)
	require.FileExists(t, path)
	return path
}
