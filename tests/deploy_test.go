package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// threeNodeCluster starts a controller and three agents with FILE_THIN
// pools, waits until the pools report their capacity, and makes the
// group "web" (2 replicas in pool1, one volume).
func threeNodeCluster(t testing.TB, opts harness.ControllerOptions) (*harness.Controller, map[string]string) {
	c, dirs, _ := threeNodeClusterAgents(t, opts)
	return c, dirs
}

// threeNodeClusterAgents is threeNodeCluster that also hands out the
// nodes' agents.
func threeNodeClusterAgents(t testing.TB, opts harness.ControllerOptions) (*harness.Controller, map[string]string, map[string]*harness.Agent) {
	return threeNodeClusterIn(t, opts, "")
}

// threeNodeClusterIn is threeNodeClusterAgents with the pools' directories
// below root (a file system with reflinks, made before so that it is
// unmounted last); "" puts them in temporary directories.
func threeNodeClusterIn(t testing.TB, opts harness.ControllerOptions, root string) (*harness.Controller, map[string]string, map[string]*harness.Agent) {
	dirs := map[string]string{}
	// Registered first, so that it runs last: after the controller and the
	// agents stopped (a push after it would attach the loop devices again),
	// and it finds the devices by their files' directory even once the
	// files are gone.
	t.Cleanup(func() { detachLoops(dirs) })
	c := harness.StartController(t, opts)
	agents := map[string]*harness.Agent{}
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		a := harness.StartAgent(t)
		agents[n] = a
		dirs[n] = t.TempDir()
		if root != "" {
			dirs[n] = filepath.Join(root, n)
			require.NoError(t, os.Mkdir(dirs[n], 0o755))
		}
		must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": n, "type": "satellite",
			"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": a.Port}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/nodes/"+n+"/storage-pools", map[string]any{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN",
			"props": map[string]string{"StorDriver/StorPoolName": dirs[n]}}, http.StatusCreated)
	}
	poolsReported(t, c, 3)
	must(t, c, http.MethodPost, "/v1/resource-groups", map[string]any{"name": "web", "select_filter": map[string]any{"place_count": 2, "storage_pool": "pool1"}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-groups/web/volume-groups", map[string]any{}, http.StatusCreated)
	return c, dirs, agents
}

type deployedVolume struct {
	node, device string
	usable       int64
	state        string
}

// poolsReported waits until n pools named pool1 have reported their
// capacity: before that, the autoplacer cannot use them.
func poolsReported(t testing.TB, c *harness.Controller, n int) {
	eventually(t, 30*time.Second, "pools report capacity", func() bool {
		var pools []struct {
			Total *int64 `json:"total_capacity"`
		}
		_, err := c.Do(context.Background(), http.MethodGet, "/v1/view/storage-pools?storage_pools=pool1", nil, &pools)
		require.NoError(t, err)
		for _, p := range pools {
			if p.Total == nil {
				return false
			}
		}
		return len(pools) == n
	})
}

// deployed lists every volume of resource rd as the agents reported it.
func deployed(t testing.TB, c *harness.Controller, rd string) []deployedVolume {
	var rscs []struct {
		NodeName string `json:"node_name"`
		Volumes  []struct {
			DevicePath string `json:"device_path"`
			UsableKib  *int64 `json:"usable_size_kib"`
			State      *struct {
				DiskState string `json:"disk_state"`
			} `json:"state"`
		} `json:"volumes"`
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/resources?resources="+rd, nil, &rscs)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	var out []deployedVolume
	for _, r := range rscs {
		for _, v := range r.Volumes {
			d := deployedVolume{node: r.NodeName, device: v.DevicePath}
			if v.UsableKib != nil {
				d.usable = *v.UsableKib
			}
			if v.State != nil {
				d.state = v.State.DiskState
			}
			out = append(out, d)
		}
	}
	return out
}

// ready tells whether rd has replicas volumes, all up to date on a device.
func ready(t testing.TB, c *harness.Controller, rd string, replicas int) bool {
	vols := deployed(t, c, rd)
	for _, v := range vols {
		if v.device == "" || v.state != "UpToDate" {
			return false
		}
	}
	return len(vols) == replicas
}

// 20 resources spawned by the client on three agents get real devices
// of the right size on two nodes each, spread by free space; deleting a
// definition removes its files from every node and then its rows.
func TestSpawnTwentyResourcesOnThreeAgents(t *testing.T) {
	c, dirs := threeNodeCluster(t, harness.ControllerOptions{})
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	// The three pools share one file system, so their free space is the
	// same but for noise: weigh the resource count too, so that the
	// spread does not hang on that noise.
	must(t, c, http.MethodPost, "/v1/controller/properties", map[string]any{"override_props": map[string]string{"Autoplacer/Weights/MinRscCount": "1"}}, http.StatusCreated)
	perNode := map[string]int{}
	for i := range 20 {
		rd := fmt.Sprintf("site%02d", i)
		out, errOut, code := cliRun(t, env, "resource-group", "spawn-resources", "web", rd, "12M")
		require.Zero(t, code, "%s%s", out, errOut)
		require.Contains(t, out, "successfully autoplaced on 2 nodes")
		vols := deployed(t, c, rd)
		require.Len(t, vols, 2, "answered after the deployment: %s", out)
		for _, v := range vols {
			require.Equal(t, "UpToDate", v.state, rd)
			require.EqualValues(t, 12<<10, v.usable, rd)
			fi, err := os.Stat(filepath.Join(dirs[v.node], rd+"_00000.img"))
			require.NoError(t, err)
			require.EqualValues(t, 12<<20, fi.Size(), "the volume's file on %s", v.node)
			dev, err := os.Stat(v.device)
			require.NoError(t, err, "the device %s exists", v.device)
			require.NotZero(t, dev.Mode()&os.ModeDevice, "%s is a block device", v.device)
			perNode[v.node]++
		}
	}
	require.Len(t, perNode, 3, "MinRscCount spreads the replicas over all nodes: %v", perNode)
	for n, count := range perNode {
		require.GreaterOrEqual(t, count, 10, "%s holds its share: %v", n, perNode)
	}

	out, errOut, code := cliRun(t, env, "resource", "list", "--no-utf8", "-r", "site00")
	require.Zero(t, code, errOut)
	// Storage only (no DRBD here): no port, as LINSTOR shows such a
	// resource; the agents report it, so its usage is known.
	require.Regexp(t, `\| site00 +\| \w+ +\| +\| Unused +\| Ok +\| UpToDate +\| 20`, out)

	// Growing a volume definition grows the volumes on their nodes.
	out, errOut, code = cliRun(t, env, "volume-definition", "set-size", "site01", "0", "24M")
	require.Zero(t, code, "%s%s", out, errOut)
	for _, v := range deployed(t, c, "site01") {
		require.EqualValues(t, 24<<10, v.usable)
		fi, err := os.Stat(filepath.Join(dirs[v.node], "site01_00000.img"))
		require.NoError(t, err)
		require.EqualValues(t, 24<<20, fi.Size(), "grown on %s", v.node)
	}

	// Delete: files go from the nodes, then the rows.
	holders := deployed(t, c, "site00")
	out, errOut, code = cliRun(t, env, "resource-definition", "delete", "site00")
	require.Zero(t, code, "%s%s", out, errOut)
	for _, v := range holders {
		require.NoFileExists(t, filepath.Join(dirs[v.node], "site00_00000.img"))
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/resource-definitions/site00", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, status)
}

// A controller killed while spawns are being deployed finishes them after
// it restarts: the deploy workflows are durable.
func TestSpawnFinishesAfterControllerCrash(t *testing.T) {
	c, _ := threeNodeCluster(t, harness.ControllerOptions{})
	var ids []string
	for i := range 4 {
		var rcs []struct {
			ObjRefs map[string]string `json:"obj_refs"`
		}
		body := map[string]any{"resource_definition_name": fmt.Sprintf("crash%d", i), "volume_sizes": []int64{8192}}
		status, err := c.Do(context.Background(), http.MethodPost, "/v1/resource-groups/web/spawn?wait=false", body, &rcs)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, status)
		for _, rc := range rcs {
			if id := rc.ObjRefs["WorkflowId"]; id != "" {
				ids = append(ids, id)
			}
		}
	}
	require.Len(t, ids, 4, "each spawn names its deploy workflow")
	start := time.Now()
	c.Kill()
	c.Start()
	t.Logf("restarted in %v", time.Since(start))
	for _, id := range ids {
		eventually(t, 60*time.Second, "workflow "+id+" finished", func() bool {
			var op struct {
				Finished bool   `json:"finished"`
				State    string `json:"state"`
			}
			status, err := c.Do(context.Background(), http.MethodGet, "/v1/operations/"+id, nil, &op)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			if op.Finished && op.State != "done" {
				t.Fatalf("workflow %s ended %s", id, op.State)
			}
			return op.Finished
		})
	}
	t.Logf("workflows finished %v after the kill", time.Since(start))
	for i := range 4 {
		rd := fmt.Sprintf("crash%d", i)
		eventually(t, 30*time.Second, rd+" deployed", func() bool { return ready(t, c, rd, 2) })
	}
}
