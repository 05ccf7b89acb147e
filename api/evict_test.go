package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/activities"
	"strata/agent/proto"
	"strata/agentlink"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/worker"
	"strata/workflows"
)

// drbdNodeDoubles stand in for nodes' agents and their DRBD kernels,
// which the API tests do not run: each answers as a node serving DRBD on
// FILE_THIN, reports every pushed volume UpToDate, and every DRBD peer
// Connected while that peer's double is up; a double that is down is an
// offline node. A resource made Primary on a node is reported in use.
type drbdNodeDoubles struct {
	mu      sync.Mutex
	up      map[string]bool
	primary map[string]bool // node/resource
	srv     map[string]*httptest.Server
}

func newDrbdNodeDoubles(t *testing.T, nodes ...string) *drbdNodeDoubles {
	d := &drbdNodeDoubles{up: map[string]bool{}, primary: map[string]bool{}, srv: map[string]*httptest.Server{}}
	for _, n := range nodes {
		d.up[n] = true
		d.srv[n] = httptest.NewServer(d.handler(n))
		t.Cleanup(d.srv[n].Close)
	}
	return d
}

func (d *drbdNodeDoubles) set(node string, up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.up[node] = up
}

// promote makes a resource Primary on a node (a consumer opened it).
func (d *drbdNodeDoubles) promote(node, rd string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.primary[node+"/"+store.Key(rd)] = true
}

func (d *drbdNodeDoubles) isPrimary(node, rd string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.primary[node+"/"+store.Key(rd)]
}

func (d *drbdNodeDoubles) isUp(node string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up[node]
}

func (d *drbdNodeDoubles) port(node string) int {
	p, _ := strconv.Atoi(d.srv[node].URL[strings.LastIndex(d.srv[node].URL, ":")+1:])
	return p
}

func (d *drbdNodeDoubles) handler(node string) http.Handler {
	mux := http.NewServeMux()
	down := func(w http.ResponseWriter) bool {
		if !d.isUp(node) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	mux.HandleFunc("GET "+proto.PathInfo, func(w http.ResponseWriter, r *http.Request) {
		if down(w) {
			return
		}
		_ = json.NewEncoder(w).Encode(proto.Info{Version: "double", ProtocolVersion: proto.ProtocolVersion, Uname: node, BootID: "double-" + node,
			Providers: []string{store.ProviderFileThin}, Layers: []string{"DRBD", "STORAGE"}})
	})
	mux.HandleFunc("PUT "+proto.PathNodeState, func(w http.ResponseWriter, r *http.Request) {
		if down(w) {
			return
		}
		var want proto.NodeState
		if err := json.NewDecoder(r.Body).Decode(&want); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rep := proto.Report{}
		for _, p := range want.Pools {
			rep.Pools = append(rep.Pools, proto.PoolReport{Name: p.Name, FreeKib: 50 << 20, TotalKib: 100 << 20, SupportsSnapshots: true})
		}
		for i, v := range want.Volumes {
			rep.Volumes = append(rep.Volumes, proto.VolumeReport{Resource: v.Resource, VlmNr: v.VlmNr, Pool: v.Pool, DevicePath: fmt.Sprintf("/dev/drbd%d", 1000+i),
				Layer: "DRBD", AllocatedKib: v.SizeKib, UsableKib: v.SizeKib, DiskState: proto.DiskUpToDate})
		}
		for _, res := range want.Resources {
			rr := proto.ResourceReport{Name: res.Name, Role: "Secondary", Connections: map[string]string{}}
			if d.isPrimary(node, res.Name) {
				rr.Role, rr.InUse = "Primary", true
			}
			if res.Drbd != nil {
				for _, peer := range res.Drbd.Nodes {
					if peer.Name != node {
						rr.Connections[peer.Name] = map[bool]string{true: "Connected", false: "Connecting"}[d.isUp(peer.Name)]
					}
				}
			}
			rep.Resources = append(rep.Resources, rr)
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
	return mux
}

// agentsClient is an API over SQLite whose agent link watches the
// doubles and starts auto-evict timers and the auto-diskful watch as the
// controller does, a minute of DrbdOptions/AutoEvictAfterTime and
// DrbdOptions/auto-diskful lasting minute.
func agentsClient(t *testing.T, minute time.Duration) *apiClient {
	return newClientWith(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")}, func(st *store.Store) Deps {
		queue := fmt.Sprintf("api-test-%d", taskQueues.Add(1))
		agents := agentlink.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 100*time.Millisecond, nil)
		agents.OnConnect = func(node string) {
			_, _ = StartNodeSync(context.Background(), temporalClient, queue, node)
		}
		agents.OnDisconnect = func(node string, first bool) {
			if err := StartAutoEvict(context.Background(), temporalClient, queue, node, minute, first); err != nil {
				t.Logf("start the auto-evict timer of %s: %v", node, err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go agents.Run(ctx)
		w, err := worker.Start(temporalClient, queue, &activities.Activities{Store: st, Agents: agents, Temporal: temporalClient})
		require.NoError(t, err)
		t.Cleanup(w.Stop)
		require.NoError(t, StartAutoDiskfulWatch(ctx, temporalClient, queue, minute))
		return Deps{Store: st, Temporal: temporalClient, TaskQueue: queue, Agents: agents, OperationWait: time.Minute}
	})
}

// Auto-evict on five nodes: while two are disconnected (more than
// AutoEvictMaxDisconnectedNodes' 34 % allows) nothing is evicted, and
// their timers end when they come back; one disconnected is evicted once
// its (shortened) AutoEvictAfterTime is over, and each of its DRBD
// replicas is replaced, the replica count restored. node evict refuses
// an online node; an evicted one cannot be deleted or reconnected, only
// restored (or lost).
func TestAutoEvictReplacesTheReplicasOfAnOfflineNode(t *testing.T) {
	c, doubles, nodes := doubledCluster(t, 5, 200*time.Millisecond)
	cli := c.golinstor()
	ctx := t.Context()
	online := func(n string) bool {
		node, err := cli.Nodes.Get(ctx, n)
		return err == nil && node.ConnectionStatus == "ONLINE"
	}
	c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"DrbdOptions/AutoEvictAfterTime": "3", "DrbdOptions/auto-add-quorum-tiebreaker": "false"}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "rg", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg/volume-groups", `{}`)
	for i := range 4 {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg/spawn", fmt.Sprintf(`{"resource_definition_name": "pvc-%d", "volume_sizes": [10240]}`, i))
	}
	holders := func() map[string][]string {
		out := map[string][]string{}
		for i := range 4 {
			rd := fmt.Sprintf("pvc-%d", i)
			var rscs []restapi.ResourceWithVolumes
			c.get("/v1/resource-definitions/"+rd+"/resources", &rscs)
			for _, r := range rscs {
				if !slices.Contains(r.Flags, store.FlagDelete) && !slices.Contains(r.Flags, "DRBD_DISKLESS") {
					out[rd] = append(out[rd], r.NodeName)
				}
			}
		}
		return out
	}
	// The node holding most replicas is the one that goes.
	count := map[string]int{}
	for _, hs := range holders() {
		for _, h := range hs {
			count[h]++
		}
	}
	gone := slices.MaxFunc(nodes, func(a, b string) int { return count[a] - count[b] })
	require.Positive(t, count[gone])
	other := slices.IndexFunc(nodes, func(n string) bool { return n != gone })

	// An online node is not evicted on request.
	rc := c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodPut, "/v1/nodes/"+gone+"/evict", nil)
	require.Equal(t, "Eviction of an online node is not possible.", rc.Message)

	// Two of five disconnected: nothing is evicted, however long.
	doubles.set(gone, false)
	doubles.set(nodes[other], false)
	require.Eventually(t, func() bool {
		n, err := cli.Nodes.Get(ctx, gone)
		return err == nil && n.EvictionTimestamp != nil
	}, 10*time.Second, 50*time.Millisecond, "the node shows its eviction time")
	require.Eventually(t, func() bool {
		var op restapi.Operation
		status, body := c.do(http.MethodGet, "/v1/operations/"+workflows.AutoEvictID(gone), nil)
		return status == http.StatusOK && json.Unmarshal(body, &op) == nil && strings.Contains(op.State, "2 of 5 nodes are disconnected, more than DrbdOptions/AutoEvictMaxDisconnectedNodes (34 %) allows")
	}, 10*time.Second, 100*time.Millisecond, "the timer ran out and the eviction is held back")
	time.Sleep(time.Second)
	for _, n := range nodes {
		node, err := cli.Nodes.Get(ctx, n)
		require.NoError(t, err)
		require.NotContains(t, node.Flags, store.FlagEvicted, n)
	}
	// They come back: their timers end.
	doubles.set(gone, true)
	doubles.set(nodes[other], true)
	require.Eventually(t, func() bool {
		n, err := cli.Nodes.Get(ctx, gone)
		return err == nil && n.EvictionTimestamp == nil && online(gone)
	}, 10*time.Second, 50*time.Millisecond, "no more eviction time once the node is back")
	before := holders()

	// One disconnected: evicted after the timer, its replicas replaced.
	doubles.set(gone, false)
	require.Eventually(t, func() bool {
		n, err := cli.Nodes.Get(ctx, gone)
		return err == nil && slices.Contains(n.Flags, store.FlagEvicted)
	}, 20*time.Second, 100*time.Millisecond, "the node is evicted")
	require.Eventually(t, func() bool {
		now := holders()
		for rd, hs := range now {
			if len(hs) != 2 || slices.Contains(hs, gone) {
				return false
			}
			if !slices.Contains(before[rd], gone) && !slices.Equal(hs, before[rd]) {
				return false // resources the node did not hold keep their replicas
			}
		}
		return len(now) == 4
	}, 20*time.Second, 100*time.Millisecond, "each replica of the evicted node is replaced: %v", holders())
	for rd, hs := range before {
		if !slices.Contains(hs, gone) {
			continue
		}
		var r restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/"+rd+"/resources/"+gone, &r)
		require.Contains(t, r.Flags, store.FlagDelete, "the evicted replica is marked deleted")
		require.Contains(t, r.Flags, store.FlagEvicted)
	}
	n, err := cli.Nodes.Get(ctx, gone)
	require.NoError(t, err)
	require.Nil(t, n.EvictionTimestamp)

	// An evicted node is only restored or lost.
	_, body := c.do(http.MethodDelete, "/v1/nodes/"+gone, nil)
	require.Contains(t, string(body), fmt.Sprintf("Node '%s' is evicted and cannot be deleted.", gone))
	rc = c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodPut, "/v1/nodes/"+gone+"/reconnect", nil)
	require.Equal(t, fmt.Sprintf("Node '%s' is evicted and cannot reconnect.", gone), rc.Message)
	require.NoError(t, cli.Nodes.Restore(ctx, gone, lapi.NodeRestore{}))
	n, err = cli.Nodes.Get(ctx, gone)
	require.NoError(t, err)
	require.NotContains(t, n.Flags, store.FlagEvicted)
}

// doubledCluster is an agentsClient with count nodes of drbdNodeDoubles,
// each with a FILE_THIN pool1, online and their pools' capacity known.
// The nodes' names are this run's alone: the package's tests share one
// Temporal, where a timer of an earlier run would be joined.
func doubledCluster(t *testing.T, count int, minute time.Duration) (*apiClient, *drbdNodeDoubles, []string) {
	run := taskQueues.Add(1)
	var nodes []string
	for i := range count {
		nodes = append(nodes, fmt.Sprintf("r%d-n%d", run, i+1))
	}
	doubles := newDrbdNodeDoubles(t, nodes...)
	c := agentsClient(t, minute)
	ctx := t.Context()
	cli := c.golinstor()
	online := func(n string) bool {
		node, err := cli.Nodes.Get(ctx, n)
		return err == nil && node.ConnectionStatus == "ONLINE"
	}
	for i, n := range nodes {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", fmt.Sprintf(`{"name": %q, "type": "satellite", "net_interfaces": [{"name": "default", "address": "127.0.0.1", "satellite_port": %d}]}`, n, doubles.port(n)))
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/"+n+"/storage-pools", fmt.Sprintf(`{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN", "props": {"StorDriver/StorPoolName": "/pool%d"}}`, i))
	}
	for _, n := range nodes {
		require.Eventually(t, func() bool { return online(n) }, 10*time.Second, 50*time.Millisecond, n)
	}
	for _, n := range nodes {
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/"+n+"/reconnect", nil) // the pools' capacity gets known
	}
	require.Eventually(t, func() bool {
		pools, err := c.store.ListStoragePools(ctx, store.StoragePoolFilter{Pools: []string{"pool1"}})
		return err == nil && len(pools) == len(nodes) && !slices.ContainsFunc(pools, func(p store.StoragePool) bool { return p.FreeCapacity == nil })
	}, 10*time.Second, 50*time.Millisecond, "the pools' capacity is known")
	return c, doubles, nodes
}

// A node whose agent is offline at the link's first look (the
// controller started while it was down) gets its auto-evict timer; a
// second start at a first look joins the timer instead of starting it
// again, as after a controller restart.
func TestAutoEvictTimerOfANodeOfflineAtStart(t *testing.T) {
	c, _, nodes := doubledCluster(t, 1, time.Minute)
	cli := c.golinstor()
	ctx := t.Context()
	down := nodes[0] + "-down" // no agent listens on its port
	c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", fmt.Sprintf(`{"name": %q, "type": "satellite", "net_interfaces": [{"name": "default", "address": "127.0.0.1", "satellite_port": 1}]}`, down))
	require.Eventually(t, func() bool {
		n, err := cli.Nodes.Get(ctx, down)
		return err == nil && n.EvictionTimestamp != nil
	}, 10*time.Second, 50*time.Millisecond, "the offline node shows its eviction time")
	id := operationID(workflows.AutoEvictID(down))
	first, err := temporalClient.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.NoError(t, StartAutoEvict(ctx, temporalClient, first.WorkflowExecutionInfo.TaskQueue, down, time.Minute, true))
	again, err := temporalClient.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.Equal(t, first.WorkflowExecutionInfo.Execution.RunId, again.WorkflowExecutionInfo.Execution.RunId, "joined, not started again")
}
