package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// Every operation that a request started finishes after the controller
// is killed, with the state it would have had without the crash and
// nothing done twice. The controller is killed at two points of each
// operation: right after the request was accepted (the workflow started,
// its intent perhaps not yet recorded), and while it pushes the nodes
// (every agent stopped with SIGSTOP, so that the push hangs after the
// intent, auto-quorum and the start of the deploy). Each operation's end
// state is checked in the database and in the agents' pools.
func TestOperationsFinishAfterControllerCrash(t *testing.T) {
	c, dirs, agents := threeNodeClusterAgents(t, harness.ControllerOptions{})
	signal := func(sig syscall.Signal) {
		for _, a := range agents {
			require.NoError(t, syscall.Kill(a.PID(), sig))
		}
	}
	// crash sends the request, kills the controller at the point named,
	// restarts it on the same data and waits for the operation's end.
	crash := func(point, method, path string, body any) {
		t.Helper()
		if point == "pushing" {
			signal(syscall.SIGSTOP)
		}
		id := start(t, c, method, path, body)
		if point == "pushing" {
			time.Sleep(700 * time.Millisecond) // the workflow reached its push, which hangs
			require.False(t, operation(t, c, id).Finished, "operation %s waits for the stopped agents when the controller is killed", id)
		}
		c.Kill()
		if point == "pushing" {
			signal(syscall.SIGCONT)
		}
		c.Start()
		op := finished(t, c, id)
		require.Equal(t, "done", op.State, "operation %s", id)
		for _, rc := range op.Replies {
			require.False(t, uint64(rc.RetCode)&0xC000000000000000 == 0xC000000000000000, "operation %s answered an error: %s", id, rc.Message)
		}
	}
	// replicas are rd's resources by node: "disk", "diskless" (its
	// volume in the diskless pool), once every agent made what it holds.
	replicas := func(rd string) map[string]string {
		var rscs []struct {
			NodeName string   `json:"node_name"`
			Flags    []string `json:"flags"`
		}
		status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/resources?resources="+rd, nil, &rscs)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		out := map[string]string{}
		for _, r := range rscs {
			out[r.NodeName] = "disk"
			if slices.Contains(r.Flags, "DRBD_DISKLESS") {
				out[r.NodeName] = "diskless"
			}
			if slices.Contains(r.Flags, "DELETE") {
				out[r.NodeName] = "deleting"
			}
		}
		return out
	}
	// files are the nodes whose pool holds a volume file of rd.
	files := func(rd string) []string {
		var out []string
		for n, dir := range dirs {
			if m, _ := filepath.Glob(filepath.Join(dir, rd+"_*")); len(m) > 0 {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	// settled waits until rd's replicas are want and the files on the
	// nodes follow them.
	settled := func(rd string, want map[string]string) {
		t.Helper()
		var disks []string
		for n, kind := range want {
			if kind == "disk" {
				disks = append(disks, n)
			}
		}
		slices.Sort(disks)
		eventually(t, 60*time.Second, fmt.Sprintf("%s is %v on the nodes", rd, want), func() bool {
			got := replicas(rd)
			return fmt.Sprint(got) == fmt.Sprint(want) && slices.Equal(files(rd), disks)
		})
	}

	for _, point := range []string{"accepted", "pushing"} {
		t.Run(point, func(t *testing.T) {
			rd := "crash-" + point
			crash(point, http.MethodPost, "/v1/resource-groups/web/spawn", map[string]any{"resource_definition_name": rd, "volume_sizes": []int64{8192}})
			got := replicas(rd)
			require.Len(t, got, 2, "spawn placed the group's two replicas once: %v", got)
			settled(rd, got)

			crash(point, http.MethodPost, "/v1/resource-definitions/"+rd+"/autoplace", map[string]any{"select_filter": map[string]any{"additional_place_count": 1}})
			all := map[string]string{"alpha": "disk", "bravo": "disk", "charlie": "disk"}
			settled(rd, all)

			crash(point, http.MethodPut, "/v1/resource-definitions/"+rd+"/resources/alpha/toggle-disk/diskless", nil)
			settled(rd, map[string]string{"alpha": "diskless", "bravo": "disk", "charlie": "disk"})

			crash(point, http.MethodPut, "/v1/resource-definitions/"+rd+"/resources/alpha/toggle-disk/diskful", nil)
			settled(rd, all)

			crash(point, http.MethodDelete, "/v1/resource-definitions/"+rd+"/resources/alpha", nil)
			settled(rd, map[string]string{"bravo": "disk", "charlie": "disk"})
		})
	}

	// A lost node takes its replicas with it; the others stay. It is gone
	// first: node lost refuses a node that is still connected.
	agents["charlie"].Kill()
	delete(agents, "charlie")
	eventually(t, 30*time.Second, "charlie is offline", func() bool {
		var n struct {
			ConnectionStatus string `json:"connection_status"`
		}
		_, err := c.Do(context.Background(), http.MethodGet, "/v1/nodes/charlie", nil, &n)
		return err == nil && n.ConnectionStatus == "OFFLINE"
	})
	crash("pushing", http.MethodDelete, "/v1/nodes/charlie/lost", nil)
	for _, rd := range []string{"crash-accepted", "crash-pushing"} {
		eventually(t, 60*time.Second, rd+" without charlie", func() bool {
			return fmt.Sprint(replicas(rd)) == fmt.Sprint(map[string]string{"bravo": "disk"})
		})
	}
	var nodes []struct {
		Name string `json:"name"`
	}
	_, err := c.Do(context.Background(), http.MethodGet, "/v1/nodes", nil, &nodes)
	require.NoError(t, err)
	for _, n := range nodes {
		require.False(t, strings.EqualFold(n.Name, "charlie"), "charlie is gone")
	}
}
