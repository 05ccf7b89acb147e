package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"strata/activities"
	"strata/agent"
	"strata/agent/execrun"
	"strata/agentlink"
	"strata/api"
	"strata/apicall"
	"strata/masterkey"
	"strata/store"
	"strata/tests/harness"
	"strata/worker"
	"strata/worker/embedded"
	"strata/workflows"
)

// historiesDir holds a recorded history of every workflow. Replaying them
// with today's code fails when a change breaks determinism: a running
// workflow of the old code would then fail after an upgrade.
const historiesDir = "testdata/histories"

// recordEnv asks TestRecordHistories to record the histories anew
// (STRATA_RECORD_HISTORIES=1 go test -run TestRecordHistories ./worker),
// after a deliberate change of a workflow's steps.
const recordEnv = "STRATA_RECORD_HISTORIES"

func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	recorded := map[string]bool{}
	for _, f := range files {
		recorded[strings.SplitN(filepath.Base(f), ".", 2)[0]] = true
	}
	for _, wf := range worker.Workflows {
		name := workflowName(wf)
		require.True(t, recorded[name], "no recorded history of workflow %s: record them (%s=1)", name, recordEnv)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := sdkworker.NewWorkflowReplayer()
			for _, wf := range worker.Workflows {
				r.RegisterWorkflow(wf)
			}
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), f))
		})
	}
}

// TestRecordHistories runs every workflow through the API, over a real
// database and Temporal, and writes their histories.
func TestRecordHistories(t *testing.T) {
	if os.Getenv(recordEnv) == "" {
		t.Skipf("set %s=1 to record the workflow histories anew", recordEnv)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Config{DBPath: filepath.Join(dir, "temporal.db"), FrontendAddress: "127.0.0.1:0", Namespace: "default", Logger: log})
	require.NoError(t, err)
	defer srv.Stop()
	c, err := worker.Dial(ctx, srv.FrontendAddress(), "default", 10*time.Second, log)
	require.NoError(t, err)
	defer c.Close()
	srv.Ready()
	st, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(dir, "strata.db")}, log)
	require.NoError(t, err)
	defer st.Close()
	agents := agentlink.New(st, log, 200*time.Millisecond, nil)
	keyring := &masterkey.Keyring{}
	acts := &activities.Activities{Store: st, Agents: agents, Temporal: c, BackupDir: filepath.Join(dir, "backups"), Keyring: keyring,
		SOS: activities.SOSSources{Dir: filepath.Join(dir, "sos-reports"), Version: "strata-controller (recording)"}}
	s3 := harness.StartMinIO(t, "backups")
	// Each node's agent runs in this process, its pool on a file system
	// with reflinks, so that snapshots go all the way.
	pools := harness.ReflinkDir(t, 300)
	agentPorts := map[string]string{}
	agentServers := map[string]*httptest.Server{}
	for _, n := range []string{"alpha", "bravo", "charlie", "delta"} {
		ag := &agent.Agent{Version: "record", Run: execrun.Exec{}, Machine: agent.RealMachine(), Log: log, DrbdDir: filepath.Join(dir, "drbd-"+n)}
		srv := httptest.NewServer(ag.Handler())
		defer srv.Close()
		agentServers[n] = srv
		agentPorts[n] = srv.URL[strings.LastIndex(srv.URL, ":")+1:]
		require.NoError(t, os.MkdirAll(filepath.Join(pools, n), 0o755))
	}
	defer func() { // detach the pools' loop devices before the file system goes
		out, _ := exec.Command("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE").Output()
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[1], pools) {
				_ = exec.Command("losetup", "-d", f[0]).Run()
			}
		}
	}()
	agentsCtx, stopAgents := context.WithCancel(ctx)
	defer stopAgents()
	go agents.Run(agentsCtx)
	w, err := worker.Start(c, "record", acts)
	require.NoError(t, err)
	defer w.Stop()
	h := httptest.NewServer(api.New(api.Deps{Store: st, Temporal: c, TaskQueue: "record", Agents: agents, OperationWait: time.Minute, BackupDir: acts.BackupDir, Keyring: keyring}))
	defer h.Close()

	var ids []string
	call := func(method, path, body string) { tryCall(t, h.URL, &ids, method, path, body, true) }
	refused := func(method, path, body string) { tryCall(t, h.URL, &ids, method, path, body, false) }
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		call(http.MethodPost, "/v1/nodes", fmt.Sprintf(`{"name": %q, "type": "satellite", "net_interfaces": [{"name": "default", "address": "127.0.0.1", "satellite_port": %s}]}`, n, agentPorts[n]))
		call(http.MethodPost, "/v1/nodes/"+n+"/storage-pools", fmt.Sprintf(`{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN", "props": {"StorDriver/FileDir": %q}}`, filepath.Join(pools, n)))
	}
	require.Eventually(t, func() bool {
		for _, n := range []string{"alpha", "bravo", "charlie"} {
			if agents.Status(n).Connection != agentlink.Online {
				return false
			}
		}
		return true
	}, time.Minute, 100*time.Millisecond, "the agents come online")
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		call(http.MethodPut, "/v1/nodes/"+n+"/reconnect", ``) // the pools' capacity and reflinks get known
	}
	require.Eventually(t, func() bool {
		pools, err := st.ListStoragePools(ctx, store.StoragePoolFilter{Pools: []string{"pool1"}})
		require.NoError(t, err)
		for _, p := range pools {
			if p.TotalCapacity == nil || !store.CanSnapshot(p.StoragePoolRow) {
				return false
			}
		}
		return len(pools) == 3
	}, time.Minute, 100*time.Millisecond, "the agents report their pools")
	call(http.MethodPost, "/v1/resource-groups", `{"name": "rg", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
	call(http.MethodPost, "/v1/resource-groups/rg/volume-groups", `{}`)
	call(http.MethodPost, "/v1/resource-groups/rg/spawn", `{"resource_definition_name": "data", "volume_sizes": [10240]}`)
	call(http.MethodPost, "/v1/resource-definitions/data/autoplace", `{"select_filter": {"additional_place_count": 1}}`)
	call(http.MethodPut, "/v1/resource-definitions/data/resources/charlie/toggle-disk/diskless", ``)
	call(http.MethodPost, "/v1/resource-definitions/data/resources/charlie/deactivate", ``)
	call(http.MethodPost, "/v1/resource-definitions/data/resources/charlie/make-available", `{}`)
	call(http.MethodPut, "/v1/resource-definitions/data", `{"override_props": {"DrbdOptions/Net/protocol": "C"}}`)
	call(http.MethodPost, "/v1/resource-definitions/data/snapshots", `{"name": "snap1"}`)
	call(http.MethodPost, "/v1/resource-definitions/data/snapshot-rollback/snap1", `{}`)
	call(http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "copy"}}`)
	call(http.MethodPost, "/v1/resource-definitions/data/snapshot-restore-volume-definition/snap1", `{"to_resource": "copy"}`)
	call(http.MethodPost, "/v1/resource-definitions/data/snapshot-restore-resource/snap1", `{"to_resource": "copy", "nodes": ["alpha"]}`)
	call(http.MethodDelete, "/v1/resource-definitions/data/snapshots/snap1", ``)
	resp, err := http.Post(h.URL+"/v1/resource-definitions/data/clone", "application/json", strings.NewReader(`{"name": "data-clone"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	ids = append(ids, workflows.CloneID("data-clone"))
	require.NoError(t, c.GetWorkflow(ctx, workflows.CloneID("data-clone"), "").Get(ctx, nil))
	// A clone in a pool without reflinks copies the data.
	call(http.MethodPost, "/v1/nodes/alpha/storage-pools", fmt.Sprintf(`{"storage_pool_name": "plain", "provider_kind": "FILE_THIN", "props": {"StorDriver/FileDir": %q}}`, t.TempDir()))
	call(http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "flat", "props": {"StorPoolName": "plain"}}}`)
	call(http.MethodPost, "/v1/resource-definitions/flat/volume-definitions", `{"volume_definition": {"size_kib": 10240}}`)
	call(http.MethodPost, "/v1/resource-definitions/flat/resources", `[{"resource": {"node_name": "alpha"}}]`)
	resp, err = http.Post(h.URL+"/v1/resource-definitions/flat/clone", "application/json", strings.NewReader(`{"name": "flat-clone"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	ids = append(ids, workflows.CloneID("flat-clone"))
	require.NoError(t, c.GetWorkflow(ctx, workflows.CloneID("flat-clone"), "").Get(ctx, nil))
	call(http.MethodPut, "/v1/resource-definitions/data", `{"override_props": {"AutoSnapshot/RunEvery": "60"}}`)
	ids = append(ids, workflows.AutoSnapshotSchedulesID)
	// firstRun waits for the first run a schedule starts to end.
	firstRun := func(h client.ScheduleHandle, what string) string {
		var run string
		require.Eventually(t, func() bool {
			desc, err := h.Describe(ctx)
			if err != nil || len(desc.Info.RecentActions) == 0 {
				return false
			}
			run = desc.Info.RecentActions[0].StartWorkflowResult.WorkflowID
			return true
		}, time.Minute, 100*time.Millisecond, what)
		require.NoError(t, c.GetWorkflow(ctx, run, "").Get(ctx, nil))
		return run
	}
	ids = append(ids, firstRun(c.ScheduleClient().GetHandle(ctx, workflows.AutoSnapshotScheduleID("data")), "setting RunEvery takes a snapshot at once"))
	call(http.MethodPut, "/v1/resource-definitions/data", `{"delete_props": ["AutoSnapshot/RunEvery"]}`)
	call(http.MethodPost, "/v1/encryption/passphrase", `{"new_passphrase": "record-passphrase"}`)
	call(http.MethodPost, "/v1/remotes/s3", fmt.Sprintf(`{"remote_name": "s3r", "endpoint": %q, "bucket": "backups", "region": "us-east-1", "access_key": %q, "secret_key": %q, "use_path_style": true}`,
		s3.Endpoint, s3.AccessKey, s3.SecretKey))
	finished := func() { require.NoError(t, c.GetWorkflow(ctx, ids[len(ids)-1], "").Get(ctx, nil)) }
	call(http.MethodPost, "/v1/remotes/s3r/backups", `{"rsc_name": "data", "snap_name": "b1"}`)
	finished()
	call(http.MethodPost, "/v1/remotes/s3r/backups", `{"rsc_name": "data", "snap_name": "b2", "incremental": true}`)
	finished()
	call(http.MethodPost, "/v1/remotes/s3r/backups/restore", `{"src_rsc_name": "data", "target_rsc_name": "restored", "node_name": "alpha"}`)
	finished()
	call(http.MethodPost, "/v1/remotes/s3r/backups/restore", `{"src_rsc_name": "data", "src_snap_name": "b1", "target_rsc_name": "copy", "node_name": "alpha", "force_restore": true}`)
	finished()
	// A shipment to this cluster itself (a LINSTOR remote whose URL is
	// this controller): full into a new definition, then incremental into
	// the deployed one, which gets the snapshot only.
	call(http.MethodPost, "/v1/remotes/linstor", fmt.Sprintf(`{"remote_name": "self", "url": %q}`, h.URL))
	cluster, err := st.EnsureClusterID(ctx)
	require.NoError(t, err)
	for _, snap := range []string{"l1", "l2"} {
		call(http.MethodPost, "/v1/remotes/self/backups/ship", fmt.Sprintf(`{"src_rsc_name": "data", "src_snap_name": %q, "dst_rsc_name": "shipped"}`, snap))
		finished()
		ids = append(ids, workflows.BackupReceiveID(cluster, "shipped", snap))
		finished()
	}
	// A schedule on data: the reconcile makes its Temporal Schedule, and
	// a tick ships a full backup and prunes past keep-local.
	call(http.MethodPost, "/v1/schedules", `{"schedule_name": "nightly", "full_cron": "0 0 1 1 *", "keep_local": 1}`)
	call(http.MethodPut, "/v1/remotes/s3r/backups/schedule/nightly/enable", `{"rsc_name": "data"}`)
	ids = append(ids, workflows.BackupSchedulesID)
	sched := c.ScheduleClient().GetHandle(ctx, workflows.BackupScheduleID("data", "s3r", "nightly"))
	require.Eventually(t, func() bool { _, err := sched.Describe(ctx); return err == nil }, time.Minute, 100*time.Millisecond, "the schedule is made")
	require.NoError(t, sched.Trigger(ctx, client.ScheduleTriggerOptions{}))
	ids = append(ids, firstRun(sched, "a tick starts a run"))
	call(http.MethodDelete, "/v1/remotes/s3r/backups?all=true", ``)
	call(http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "logs", "props": {"StorPoolName": "pool1"}}}`)
	call(http.MethodPost, "/v1/resource-definitions/logs/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
	call(http.MethodPost, "/v1/resource-definitions/logs/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo"}}]`)
	call(http.MethodDelete, "/v1/resource-definitions/logs/resources/bravo", ``)
	call(http.MethodDelete, "/v1/resource-definitions/logs", ``)
	call(http.MethodPut, "/v1/nodes/alpha/reconnect", ``)
	// An evacuation of delta, which holds a storage-only resource alone:
	// its data is copied to alpha; then delta is restored.
	call(http.MethodPost, "/v1/nodes", fmt.Sprintf(`{"name": "delta", "type": "satellite", "net_interfaces": [{"name": "default", "address": "127.0.0.1", "satellite_port": %s}]}`, agentPorts["delta"]))
	call(http.MethodPost, "/v1/nodes/delta/storage-pools", fmt.Sprintf(`{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN", "props": {"StorDriver/FileDir": %q}}`, filepath.Join(pools, "delta")))
	require.Eventually(t, func() bool { return agents.Status("delta").Connection == agentlink.Online }, time.Minute, 100*time.Millisecond, "delta's agent comes online")
	call(http.MethodPut, "/v1/nodes/delta/reconnect", ``)
	call(http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "moving", "layer_data": [{"type": "STORAGE"}], "props": {"StorPoolName": "pool1"}}}`)
	call(http.MethodPost, "/v1/resource-definitions/moving/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
	call(http.MethodPost, "/v1/resource-definitions/moving/resources", `[{"resource": {"node_name": "delta"}}]`)
	call(http.MethodPut, "/v1/nodes/delta/evacuate", `{"target": ["alpha"]}`)
	finished()
	ids = append(ids, workflows.ResourceEvacuateID("delta", "moving"))
	refused(http.MethodPut, "/v1/resource-definitions/moving/resources/alpha/migrate-disk/delta", ``) // storage only: no DRBD to migrate with
	call(http.MethodPut, "/v1/nodes/delta/restore", `{}`)
	// The watch of the diskless Primaries looks a few times (a minute of
	// 50 ms here) with auto-diskful set on data, and is stopped; an
	// auto-diskful of a resource that is no diskless Primary does nothing.
	call(http.MethodPut, "/v1/resource-definitions/data", `{"override_props": {"DrbdOptions/auto-diskful": "1"}}`)
	require.NoError(t, api.StartAutoDiskfulWatch(ctx, c, "record", 50*time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, c.TerminateWorkflow(ctx, workflows.AutoDiskfulWatchID, "", "recorded"))
	ids = append(ids, workflows.AutoDiskfulWatchID)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.AutoDiskfulID("data", "alpha"), TaskQueue: "record"}, workflows.AutoDiskful,
		activities.ResourceInput{Resource: "data", Node: "alpha"})
	require.NoError(t, err)
	ids = append(ids, workflows.AutoDiskfulID("data", "alpha"))
	finished()
	// delta's agent goes: its auto-evict timer (a minute of 50 ms here)
	// runs out, and delta is evicted.
	agentServers["delta"].Close()
	require.Eventually(t, func() bool { return agents.Status("delta").Connection != agentlink.Online }, time.Minute, 100*time.Millisecond, "delta is offline")
	call(http.MethodPost, "/v1/controller/properties", `{"override_props": {"DrbdOptions/AutoEvictAfterTime": "2"}}`)
	require.NoError(t, api.StartAutoEvict(ctx, c, "record", "delta", 50*time.Millisecond, false))
	ids = append(ids, workflows.AutoEvictID("delta"))
	finished()
	ids = append(ids, workflows.NodeEvictID("delta"))
	// node lost is for a node that is gone: charlie's agent goes first.
	agentServers["charlie"].Close()
	require.Eventually(t, func() bool { return agents.Status("charlie").Connection != agentlink.Online }, time.Minute, 100*time.Millisecond, "charlie is offline")
	call(http.MethodDelete, "/v1/nodes/charlie/lost", ``)
	call(http.MethodPost, "/v1/controller/backup/db", `{"backup_name": "first"}`)
	call(http.MethodGet, "/v1/sos-report", ``)
	// The agents find no unused disks here, and refuse the device pool.
	status, err := http.Get(h.URL + "/v1/physical-storage")
	require.NoError(t, err)
	status.Body.Close()
	ids = append(ids, workflows.PhysicalStorageID([]string{"alpha", "bravo", "delta"}))
	refused(http.MethodPost, "/v1/physical-storage/alpha", `{"provider_kind": "LVM", "device_paths": ["/dev/vdb"], "pool_name": "vg1"}`)

	require.NoError(t, os.RemoveAll(historiesDir))
	require.NoError(t, os.MkdirAll(historiesDir, 0o755))
	for _, id := range ids {
		run := c.GetWorkflow(ctx, id, "")
		_ = run.Get(ctx, nil) // finished, successfully or not
		var hist historypb.History
		it := c.GetWorkflowHistory(ctx, id, "", false, 0)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err)
			hist.Events = append(hist.Events, e)
		}
		name := hist.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(&hist)
		require.NoError(t, err)
		for _, run := range []string{workflows.AutoSnapshotRunID("data"), workflows.ScheduledBackupRunPrefix + "data:s3r:nightly"} {
			if strings.HasPrefix(id, run) {
				id = run // without the time the schedule appends: one file name
			}
		}
		file := filepath.Join(historiesDir, name+"."+strings.NewReplacer(":", "_", "/", "_").Replace(id)+".json")
		require.NoError(t, os.WriteFile(file, b, 0o644))
	}
}

// tryCall sends a request and adds the workflows its answer names to
// ids; ok says whether it must succeed or be refused.
func tryCall(t *testing.T, base string, ids *[]string, method, path, body string, ok bool) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, ok, resp.StatusCode < 300, "%s %s: %d %s", method, path, resp.StatusCode, out)
	var rcs apicall.RcList
	require.NoError(t, json.Unmarshal(out, &rcs))
	for _, rc := range rcs {
		if id := rc.ObjRefs["WorkflowId"]; id != "" && (len(*ids) == 0 || (*ids)[len(*ids)-1] != id) {
			*ids = append(*ids, id)
		}
	}
}

// workflowName is a workflow's type name, as Temporal registers it: its
// function's name.
func workflowName(wf any) string {
	full := runtime.FuncForPC(reflect.ValueOf(wf).Pointer()).Name()
	return full[strings.LastIndex(full, ".")+1:]
}
