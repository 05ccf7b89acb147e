package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
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
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)), lapi.HTTPClient(c.HTTPClient()))
	require.NoError(t, err)
	for rd := range sums {
		snaps, err := cli.Resources.GetSnapshots(context.Background(), rd)
		require.NoError(t, err)
		require.Empty(t, snaps, "the move's snapshots are gone")
	}
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
	n, err := cli.Nodes.Get(context.Background(), "alpha")
	require.NoError(t, err)
	require.False(t, slices.Contains(n.Flags, "EVACUATE"))
}
