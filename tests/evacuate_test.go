package tests

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// storageOnly makes n storage-only definitions of sizeKib, each with one
// resource on node, filled with a pattern of its own; it returns each
// definition's checksum of the pattern.
func storageOnly(t *testing.T, c *harness.Controller, node string, n int, sizeKib int64) map[string][32]byte {
	sums := map[string][32]byte{}
	for i := range n {
		rd := fmt.Sprintf("local%02d", i)
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "resource_group_name": "web",
			"layer_data": []map[string]string{{"type": "STORAGE"}}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": sizeKib}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", []map[string]any{{"resource": map[string]any{"node_name": node,
			"props": map[string]string{"StorPoolName": "pool1"}}}}, http.StatusCreated)
		eventually(t, 30*time.Second, rd+" deployed", func() bool { return ready(t, c, rd, 1) })
		sums[rd] = fill(t, c, rd, byte(0x40+i))
	}
	return sums
}

// node evacuate of storage-only resources on reflink FILE_THIN pools,
// which LINSTOR cannot evacuate: Strata copies each one's data to
// another node (a snapshot, then what changed since), makes the resource
// there from it, compares checksums and removes the old one; the
// snapshots go, the node stays EVACUATE until restored, and node lost
// refuses the node while its agent is connected.
func TestEvacuateMovesStorageOnlyData(t *testing.T) {
	root := harness.ReflinkDir(t, 1024)
	c, dirs, _ := threeNodeClusterIn(t, harness.ControllerOptions{}, root)
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	sums := storageOnly(t, c, "alpha", 3, 64<<10)
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)), lapi.HTTPClient(c.HTTPClient()))
	require.NoError(t, err)
	ctx := context.Background()
	// A snapshot of local00 taken before its data changed: it goes with
	// the resource (CopyAllSnapsOnEvacuate).
	require.NoError(t, cli.Resources.CreateSnapshot(ctx, lapi.Snapshot{Name: "kept", ResourceName: "local00"}))
	kept := sums["local00"]
	sums["local00"] = fill(t, c, "local00", 0x7e)

	// Bad input first: nothing changes.
	out, errOut, code := cliRun(t, env, "node", "lost", "alpha")
	require.NotZero(t, code)
	require.Contains(t, out+errOut, "Node 'alpha' still connected, please use the 'DelNode' api.")
	out, errOut, code = cliRun(t, env, "node", "evacuate", "alpha", "--target", "nobody")
	require.NotZero(t, code)
	require.Contains(t, out+errOut, "nobody")

	out, errOut, code = cliRun(t, env, "node", "evacuate", "alpha", "--do-not-target", "charlie")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, errOut, "workflow node-evacuate:alpha", "the progress display names the workflow")
	for rd := range sums {
		require.Contains(t, out, fmt.Sprintf("Resource '%s' on node 'alpha' deleted: it moved to node 'bravo'.", rd))
	}
	for rd, want := range sums {
		vols := deployed(t, c, rd)
		require.Len(t, vols, 1, rd)
		require.Equal(t, "bravo", vols[0].node, "not alpha, and not charlie (do-not-target)")
		require.Equal(t, map[string][32]byte{"bravo": want}, checksums(t, c, rd), rd)
	}
	require.Contains(t, out, "Snapshot 'kept' of resource 'local00' copied from node 'alpha' to node 'bravo'.")
	for rd := range sums {
		snaps, err := cli.Resources.GetSnapshots(ctx, rd)
		require.NoError(t, err)
		if rd != "local00" {
			require.Empty(t, snaps, "the move's snapshots are gone")
			continue
		}
		require.Len(t, snaps, 1, "only the user's snapshot is left")
		require.Equal(t, "kept", snaps[0].Name)
		require.Equal(t, []string{"bravo"}, snaps[0].Nodes, "copied to the new node, gone from the old one")
	}
	// The copy holds the data of snapshot time.
	require.NoError(t, cli.ResourceDefinitions.Create(ctx, lapi.ResourceDefinitionCreate{ResourceDefinition: lapi.ResourceDefinition{Name: "kept-copy",
		LayerData: []lapi.ResourceDefinitionLayer{{Type: "STORAGE"}}}}))
	require.NoError(t, cli.Resources.RestoreVolumeDefinitionSnapshot(ctx, "local00", "kept", lapi.SnapshotRestore{ToResource: "kept-copy"}))
	require.NoError(t, cli.Resources.RestoreSnapshot(ctx, "local00", "kept", lapi.SnapshotRestore{ToResource: "kept-copy", Nodes: []string{"bravo"}}))
	eventually(t, 30*time.Second, "kept-copy deployed", func() bool { return ready(t, c, "kept-copy", 1) })
	require.Equal(t, map[string][32]byte{"bravo": kept}, checksums(t, c, "kept-copy"))
	must(t, c, http.MethodDelete, "/v1/resource-definitions/kept-copy", nil, http.StatusOK)
	require.NoError(t, cli.Resources.DeleteSnapshot(ctx, "local00", "kept"))
	eventually(t, 30*time.Second, "no file left on alpha, no snapshot file anywhere", func() bool {
		left, _ := filepath.Glob(filepath.Join(dirs["alpha"], "*"))
		return len(left) == 0 && len(snapshotFiles(t, dirs)) == 0
	})
	out, _, code = cliRun(t, env, "node", "list")
	require.Zero(t, code)
	require.Regexp(t, `alpha\s.*EVACUATE`, out)

	// Evacuating again finds nothing to move.
	out, errOut, code = cliRun(t, env, "node", "evacuate", "alpha")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "Node 'alpha' is being evacuated: 0 resources to move.")

	out, errOut, code = cliRun(t, env, "node", "restore", "alpha")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "Successfully restored node alpha")
	n, err := cli.Nodes.Get(ctx, "alpha")
	require.NoError(t, err)
	require.False(t, slices.Contains(n.Flags, "EVACUATE"))
}

// evacuated checks the end of alpha's evacuation: every definition has
// exactly one replica, on another node, holding its data; no snapshot
// is left, in the database or the pools.
func evacuated(t *testing.T, c *harness.Controller, dirs map[string]string, sums map[string][32]byte, why string) {
	t.Helper()
	for rd, want := range sums {
		vols := deployed(t, c, rd)
		require.Len(t, vols, 1, "%s: %s has one replica: %+v", why, rd, vols)
		require.NotEqual(t, "alpha", vols[0].node, "%s: %s left alpha", why, rd)
		require.Equal(t, map[string][32]byte{vols[0].node: want}, checksums(t, c, rd), "%s: %s holds its data", why, rd)
	}
	var snaps []json.RawMessage
	_, err := c.Do(context.Background(), http.MethodGet, "/v1/view/snapshots", nil, &snaps)
	require.NoError(t, err)
	require.Empty(t, snaps, why)
	eventually(t, 30*time.Second, why+": no file left on alpha, no snapshot file anywhere", func() bool {
		left, _ := filepath.Glob(filepath.Join(dirs["alpha"], "*"))
		return len(left) == 0 && len(snapshotFiles(t, dirs)) == 0
	})
}

// The controller SIGKILLed at random points of the evacuation of 20
// storage-only resources, five times, and restarted: the evacuation goes
// on where it was; every resource ends with one replica off the node,
// with its data, nothing half-moved and no snapshot left. Then the
// agent receiving a copy is killed in the middle of it: the copy starts
// again once it is back.
func TestEvacuationSurvivesCrashes(t *testing.T) {
	root := harness.ReflinkDir(t, 2048)
	c, dirs, agents := threeNodeClusterIn(t, harness.ControllerOptions{}, root)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	// Run 0 is not killed: it measures how long an evacuation takes, and
	// the kills of the other runs fall at random times within that.
	var took time.Duration
	midway := 0
	for run := range 6 {
		sums := storageOnly(t, c, "alpha", 20, 8<<10)
		// Within the first four fifths of run 0's time: an evacuation
		// that runs faster than run 0 is still under way.
		delay := time.Duration(rng.Int64N(int64(max(took*4/5, time.Millisecond))))
		why := fmt.Sprintf("run %d, killed after %v", run, delay)
		began := time.Now()
		id := start(t, c, http.MethodPut, "/v1/nodes/alpha/evacuate", map[string]any{})
		if run > 0 {
			time.Sleep(delay)
			if !operation(t, c, id).Finished {
				midway++
			}
			c.Kill()
			c.Start()
		}
		op := finished(t, c, id)
		if run == 0 {
			took = time.Since(began)
			why = fmt.Sprintf("run 0, not killed, took %v", took)
		}
		t.Log(why)
		require.Equal(t, "done", op.State, "%s: %+v", why, op.Replies)
		evacuated(t, c, dirs, sums, fmt.Sprintf("%s (answer: %+v)", why, op.Replies))
		for rd := range sums {
			must(t, c, http.MethodDelete, "/v1/resource-definitions/"+rd, nil, http.StatusOK)
		}
		must(t, c, http.MethodPut, "/v1/nodes/alpha/restore", map[string]any{}, http.StatusOK)
	}
	require.GreaterOrEqual(t, midway, 4, "the kills fell into the evacuations")

	t.Run("receiving agent killed mid-copy", func(t *testing.T) {
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "big", "resource_group_name": "web",
			"layer_data": []map[string]string{{"type": "STORAGE"}}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/big/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 512 << 10}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/big/resources", []map[string]any{{"resource": map[string]any{"node_name": "alpha",
			"props": map[string]string{"StorPoolName": "pool1"}}}}, http.StatusCreated)
		eventually(t, 30*time.Second, "big deployed", func() bool { return ready(t, c, "big", 1) })
		want := fillRandom(t, c, "big", 400<<20)
		id := start(t, c, http.MethodPut, "/v1/nodes/alpha/evacuate", map[string]any{"target": []string{"bravo"}})
		// The copy takes a few seconds here: as soon as bravo receives,
		// alpha (the sender) is stopped, so that the copy is surely halfway
		// when bravo is killed; alpha goes on once bravo is back.
		receiving := `snapshot receive listening" volume=big_00000 snapshot=strata-evacuation-1 `
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(agents["bravo"].Log(), receiving) {
			require.True(t, time.Now().Before(deadline), "the copy to bravo starts")
			time.Sleep(10 * time.Millisecond)
		}
		require.NoError(t, syscall.Kill(agents["alpha"].PID(), syscall.SIGSTOP))
		require.NotContains(t, agents["bravo"].Log(), `snapshot receive done" volume=big_00000 snapshot=strata-evacuation-1 `, "killed mid-copy")
		agents["bravo"].Kill()
		agents["bravo"].Start()
		require.NoError(t, syscall.Kill(agents["alpha"].PID(), syscall.SIGCONT))
		op := finished(t, c, id)
		require.Equal(t, "done", op.State, "%+v", op.Replies)
		evacuated(t, c, dirs, map[string][32]byte{"big": want}, "agent killed")
	})
}

// fillRandom writes n random bytes at the start of rd's only replica and
// returns the checksum of its first 4 MiB, as checksums reads them.
func fillRandom(t *testing.T, c *harness.Controller, rd string, n int) [32]byte {
	vols := deployed(t, c, rd)
	require.Len(t, vols, 1)
	data := make([]byte, n)
	_, _ = crand.Read(data)
	f, err := os.OpenFile(vols[0].device, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, 0)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	return sha256.Sum256(data[:4<<20])
}
