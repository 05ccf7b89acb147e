package tests

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

type operationView struct {
	Finished bool    `json:"finished"`
	State    string  `json:"state"`
	Percent  int     `json:"percent"`
	Replies  []reply `json:"replies"`
}

// reply is an answer's ApiCallRc; an error's ret_code is negative.
type reply struct {
	RetCode int64  `json:"ret_code"`
	Message string `json:"message"`
}

// snapshotFailed tells an operation that ended with an error answer: a kill
// that falls into a snapshot's suspend phase fails the snapshot, as
// LINSTOR's does, and so the request that needed it.
func (op operationView) snapshotFailed() bool {
	return op.State == "done" && slices.ContainsFunc(op.Replies, func(rc reply) bool { return rc.RetCode < 0 })
}

// start sends a request that starts an operation without waiting for it
// and returns the operation's workflow id.
func start(t testing.TB, c *harness.Controller, method, path string, body any) string {
	t.Helper()
	var rcs []struct {
		ObjRefs map[string]string `json:"obj_refs"`
		Message string            `json:"message"`
	}
	status, err := c.Do(context.Background(), method, path+"?wait=false", body, &rcs)
	require.NoError(t, err)
	require.Less(t, status, 300, "%s %s: %v", method, path, rcs)
	require.NotEmpty(t, rcs)
	id := rcs[0].ObjRefs["WorkflowId"]
	require.NotEmpty(t, id)
	return id
}

func operation(t testing.TB, c *harness.Controller, id string) operationView {
	t.Helper()
	var op operationView
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/operations/"+id, nil, &op)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	return op
}

func finished(t testing.TB, c *harness.Controller, id string) operationView {
	t.Helper()
	var op operationView
	eventually(t, 3*time.Minute, "operation "+id+" finished", func() bool {
		op = operation(t, c, id)
		return op.Finished
	})
	return op
}

// freeze holds every write to the pools' file system (fsfreeze), so that
// an operation stops at its first write: a snapshot's take, a clone.
func freeze(t *testing.T, root string, on bool) {
	t.Helper()
	flag := map[bool]string{true: "--freeze", false: "--unfreeze"}[on]
	out, err := exec.Command("fsfreeze", flag, root).CombinedOutput()
	require.NoError(t, err, "fsfreeze %s: %s", flag, out)
	if on {
		t.Cleanup(func() { _ = exec.Command("fsfreeze", "--unfreeze", root).Run() })
	}
}

// snapshotsSettled waits until every snapshot is SUCCESSFUL or cleanly
// failed and the nodes' pools hold exactly the files of the successful
// ones: no orphan, none missing.
func snapshotsSettled(t *testing.T, c *harness.Controller, dirs map[string]string) map[string][]string {
	t.Helper()
	flags := map[string][]string{}
	eventually(t, 90*time.Second, "snapshots settled and their files with them", func() bool {
		var view []struct {
			Name         string   `json:"name"`
			ResourceName string   `json:"resource_name"`
			Flags        []string `json:"flags"`
			Nodes        []string `json:"nodes"`
		}
		_, err := c.Do(context.Background(), http.MethodGet, "/v1/view/snapshots", nil, &view)
		require.NoError(t, err)
		var want []string
		clear(flags)
		for _, s := range view {
			flags[s.Name] = s.Flags
			switch {
			case slices.Contains(s.Flags, "SUCCESSFUL"):
				for _, n := range s.Nodes {
					want = append(want, fmt.Sprintf("%s:%s_00000@%s.snap", n, s.ResourceName, s.Name))
				}
			case slices.Contains(s.Flags, "FAILED_DEPLOYMENT"), slices.Contains(s.Flags, "FAILED_DISCONNECT"):
			default:
				return false // still being taken
			}
		}
		got := snapshotFiles(t, dirs)
		slices.Sort(got)
		slices.Sort(want)
		return slices.Equal(got, want)
	})
	return flags
}

// resumedEverywhere checks that a snapshot's answer says I/O resumed on
// every node.
func resumedEverywhere(t *testing.T, op operationView, rd string) {
	t.Helper()
	var msgs []string
	for _, rc := range op.Replies {
		msgs = append(msgs, rc.Message)
	}
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		require.Contains(t, msgs, fmt.Sprintf("Resumed IO of '%s' on '%s' after snapshot", rd, n))
	}
}

// The controller killed in each phase of a snapshot's create, of a
// restore and of a rollback, and an agent killed while it takes: every
// operation ends, I/O is resumed, each snapshot is SUCCESSFUL or cleanly
// failed, no snapshot file is left over, and restored and rolled-back
// volumes hold the data of snapshot time.
func TestSnapshotOperationsSurviveCrashes(t *testing.T) {
	c, dirs, agents, _ := snapshotCluster(t)
	root := filepath.Dir(dirs["alpha"])
	then := fill(t, c, "db", 0x11)
	signal := func(sig syscall.Signal) {
		for _, a := range agents {
			require.NoError(t, syscall.Kill(a.PID(), sig))
		}
	}
	hangs := func(id string) {
		t.Helper()
		time.Sleep(700 * time.Millisecond)
		require.False(t, operation(t, c, id).Finished, "operation %s is held when the controller is killed", id)
	}

	t.Run("controller killed right after the request", func(t *testing.T) {
		id := start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "accepted"})
		c.Kill()
		c.Start()
		resumedEverywhere(t, finished(t, c, id), "db")
		require.Contains(t, snapshotsSettled(t, c, dirs)["accepted"], "SUCCESSFUL")
	})
	t.Run("controller killed while I/O is being suspended", func(t *testing.T) {
		signal(syscall.SIGSTOP)
		id := start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "suspending"})
		hangs(id)
		c.Kill()
		signal(syscall.SIGCONT)
		c.Start()
		resumedEverywhere(t, finished(t, c, id), "db")
		require.Contains(t, snapshotsSettled(t, c, dirs)["suspending"], "SUCCESSFUL")
	})
	t.Run("controller killed while the nodes take it", func(t *testing.T) {
		freeze(t, root, true)
		id := start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "taking"})
		hangs(id)
		c.Kill()
		freeze(t, root, false)
		c.Start()
		resumedEverywhere(t, finished(t, c, id), "db")
		require.Contains(t, snapshotsSettled(t, c, dirs)["taking"], "SUCCESSFUL")
	})
	t.Run("agent killed while it takes", func(t *testing.T) {
		freeze(t, root, true)
		id := start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "agentdied"})
		hangs(id)
		// SIGKILL lands once the frozen write returns: the agent dies in the
		// middle of its apply.
		require.NoError(t, syscall.Kill(agents["alpha"].PID(), syscall.SIGKILL))
		freeze(t, root, false)
		agents["alpha"].Kill() // reaped
		agents["alpha"].Start()
		resumedEverywhere(t, finished(t, c, id), "db")
		flags := snapshotsSettled(t, c, dirs)["agentdied"]
		require.True(t, slices.Contains(flags, "SUCCESSFUL") || slices.Contains(flags, "FAILED_DEPLOYMENT"), "taken after the agent came back, or cleanly failed: %v", flags)
	})

	must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "db-copy"}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshot-restore-volume-definition/accepted", map[string]any{"to_resource": "db-copy"}, http.StatusOK)
	t.Run("controller killed while the restore clones", func(t *testing.T) {
		freeze(t, root, true)
		id := start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshot-restore-resource/accepted", map[string]any{"to_resource": "db-copy"})
		hangs(id)
		c.Kill()
		freeze(t, root, false)
		c.Start()
		finished(t, c, id)
		eventually(t, 60*time.Second, "db-copy deployed", func() bool { return ready(t, c, "db-copy", 3) })
		for node, sum := range checksums(t, c, "db-copy") {
			require.Equal(t, then, sum, "restored replica on %s", node)
		}
	})

	// A rollback is killed while it takes its safety snapshot, then at
	// times that fall into its later phases.
	t.Run("controller killed during a rollback", func(t *testing.T) {
		for i, delay := range []time.Duration{-1, 50 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
			fill(t, c, "db", byte(0x20+i))
			if delay < 0 {
				freeze(t, root, true)
			}
			id := start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshot-rollback/accepted", map[string]any{})
			if delay < 0 {
				hangs(id)
			} else {
				time.Sleep(delay)
			}
			c.Kill()
			if delay < 0 {
				freeze(t, root, false)
			}
			c.Start()
			op := finished(t, c, id)
			require.Equal(t, "done", op.State, "rollback killed after %v: %+v", delay, op.Replies)
			eventually(t, 60*time.Second, "db deployed", func() bool { return ready(t, c, "db", 3) })
			for node, sum := range checksums(t, c, "db") {
				require.Equal(t, then, sum, "replica on %s rolled back (killed after %v)", node, delay)
			}
			for name := range snapshotsSettled(t, c, dirs) {
				require.NotContains(t, name, "safety-snap", "the safety snapshot went")
			}
		}
	})
}
