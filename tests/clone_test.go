package tests

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/LINBIT/golinstor/clonestatus"
	"github.com/stretchr/testify/require"
)

// resource-definition clone as linstor-csi's volume-from-volume uses it
// (golinstor's Clone and CloneStatus): the clone has the source's
// volumes on the same nodes with the source's bytes, copied by reflink
// through a snapshot that goes afterwards; a pool that cannot take
// snapshots ends the clone FAILED; bad requests change nothing.
func TestCloneCopiesTheData(t *testing.T) {
	c, _, _, cli := snapshotCluster(t) // db on three nodes, 4 MiB pattern, reflink pools
	ctx := context.Background()
	want := fill(t, c, "db", 0x3C)
	must(t, c, http.MethodPut, "/v1/resource-definitions/db", map[string]any{"override_props": map[string]string{"Aux/app": "db"}}, http.StatusOK)

	started, err := cli.ResourceDefinitions.Clone(ctx, "db", lapi.ResourceDefinitionCloneRequest{Name: "db-copy",
		GenericPropsModify: lapi.GenericPropsModify{OverrideProps: map[string]string{"Aux/clone": "yes"}}})
	require.NoError(t, err)
	require.Equal(t, "/v1/resource-definitions/db/clone/db-copy", started.Location)
	require.Equal(t, "db-copy", started.CloneName)
	status := func(rd, clone string) clonestatus.CloneStatus {
		s, err := cli.ResourceDefinitions.CloneStatus(ctx, rd, clone)
		require.NoError(t, err, "the status is there as soon as the clone is answered")
		return s.Status
	}
	eventually(t, 60*time.Second, "the clone completes", func() bool { return status("db", "db-copy") == clonestatus.Complete })
	require.True(t, ready(t, c, "db-copy", 3), "the clone is on the source's three nodes")
	for node, sum := range checksums(t, c, "db-copy") {
		require.Equal(t, want, sum, "the clone on %s holds the source's bytes", node)
	}
	rd, err := cli.ResourceDefinitions.Get(ctx, "db-copy")
	require.NoError(t, err)
	require.Equal(t, "db", rd.Props["Aux/app"], "the clone takes the source's properties")
	require.Equal(t, "yes", rd.Props["Aux/clone"])
	snaps, err := cli.Resources.GetSnapshots(ctx, "db")
	require.NoError(t, err)
	require.Empty(t, snaps, "the snapshot the clone was made from is gone")
	// The clone is independent: writing the source changes it not.
	fill(t, c, "db", 0x11)
	for _, sum := range checksums(t, c, "db-copy") {
		require.Equal(t, want, sum)
	}

	// The CLI waits for the clone.
	out, errOut, code := cliRun(t, []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}, "resource-definition", "clone", "db-copy", "db-copy2")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "Resource definition 'db-copy2' cloned from 'db-copy'.")
	require.True(t, ready(t, c, "db-copy2", 3))

	// Bad requests change nothing.
	_, err = cli.ResourceDefinitions.Clone(ctx, "db", lapi.ResourceDefinitionCloneRequest{Name: "db-copy"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailExistsRscDfn), "%v", err)
	_, err = cli.ResourceDefinitions.Clone(ctx, "nope", lapi.ResourceDefinitionCloneRequest{Name: "other"})
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	_, err = cli.ResourceDefinitions.Clone(ctx, "db", lapi.ResourceDefinitionCloneRequest{Name: "-bad"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailInvldRscName), "%v", err)
	_, err = cli.ResourceDefinitions.Get(ctx, "other")
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	_, err = cli.ResourceDefinitions.CloneStatus(ctx, "db", "other")
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)

	// A pool without reflinks takes no snapshot: the agent copies the
	// data instead, and the copy stays thin.
	plain := t.TempDir()
	must(t, c, http.MethodPost, "/v1/nodes/alpha/storage-pools", map[string]any{"storage_pool_name": "plain", "provider_kind": "FILE_THIN",
		"props": map[string]string{"StorDriver/StorPoolName": plain}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "flat", "props": map[string]string{"StorPoolName": "plain"}}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/flat/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 64 << 10}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/flat/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
	eventually(t, 30*time.Second, "flat deployed", func() bool { return ready(t, c, "flat", 1) })
	flat := fill(t, c, "flat", 0x5A)
	_, err = cli.ResourceDefinitions.Clone(ctx, "flat", lapi.ResourceDefinitionCloneRequest{Name: "flat-copy"})
	require.NoError(t, err)
	eventually(t, 60*time.Second, "the copy completes", func() bool { return status("flat", "flat-copy") == clonestatus.Complete })
	require.Equal(t, map[string][32]byte{"alpha": flat}, checksums(t, c, "flat-copy"))
	snaps, err = cli.Resources.GetSnapshots(ctx, "flat")
	require.NoError(t, err)
	require.Empty(t, snaps, "no snapshot is taken")
	var vols []struct {
		AllocatedSizeKib int64 `json:"allocated_size_kib"`
	}
	code, err = c.Do(ctx, http.MethodGet, "/v1/resource-definitions/flat-copy/resources/alpha/volumes", nil, &vols)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, vols, 1)
	require.Less(t, vols[0].AllocatedSizeKib, int64(16<<10), "4 MiB written of 64 MiB: the zeros are not")
}
