package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A deployed resource is only marked; its rows go when its node's agent
// was sent a state without it. One never deployed goes at once. The
// definition goes with its last resource.
func TestDeletingWaitsForTheNodes(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		for _, n := range []string{"alpha", "bravo", "charlie"} {
			_, err := s.CreateNode(ctx, NodeSpec{Name: n, Type: "SATELLITE"})
			require.NoError(t, err)
			_, err = s.CreateStoragePool(ctx, n, StoragePoolSpec{Name: "pool1", Provider: ProviderFileThin, Props: map[string]string{"StorDriver/FileDir": "/srv"}})
			require.NoError(t, err)
		}
		_, err := s.CreateResourceDefinition(ctx, ResourceDefinitionSpec{Name: "data", Props: map[string]string{KeyStorPoolName: "pool1"}})
		require.NoError(t, err)
		_, err = s.CreateVolumeDefinition(ctx, "data", VolumeDefinitionSpec{SizeKib: 1024})
		require.NoError(t, err)
		_, err = s.CreateResources(ctx, "data", []ResourceSpec{{Node: "alpha"}, {Node: "bravo"}, {Node: "charlie"}})
		require.NoError(t, err)
		for _, n := range []string{"alpha", "bravo"} { // charlie's agent never reported
			require.NoError(t, s.SetVolumeActual(ctx, n, map[string]map[int32]VolumeActual{"DATA": {0: {DevicePath: "/dev/loop1", DiskState: "UpToDate"}}}))
		}
		held := func() []string {
			rscs, err := s.ListResources(ctx, ResourceFilter{Resources: []string{"data"}})
			require.NoError(t, err)
			var out []string
			for _, r := range rscs {
				out = append(out, r.NodeDspName+map[bool]string{true: "(deleting)"}[r.Flags.Has(FlagDelete)])
			}
			return out
		}

		_, gone, err := s.MarkResourceDeleting(ctx, "data", "charlie")
		require.NoError(t, err)
		require.True(t, gone, "never deployed: deleted at once")
		_, gone, err = s.MarkResourceDeleting(ctx, "data", "bravo")
		require.NoError(t, err)
		require.False(t, gone)
		require.Equal(t, []string{"alpha", "bravo(deleting)"}, held())
		require.NoError(t, s.PurgeDeleted(ctx, "alpha", []string{"DATA"}), "alpha's resource is not flagged: kept")
		require.NoError(t, s.PurgeDeleted(ctx, "bravo", []string{"DATA"}))
		require.Equal(t, []string{"alpha"}, held())

		_, nodes, err := s.MarkResourceDefinitionDeleting(ctx, "data")
		require.NoError(t, err)
		require.Equal(t, []string{"alpha"}, nodes)
		rd, err := s.GetResourceDefinition(ctx, "data")
		require.NoError(t, err)
		require.True(t, rd.Flags.Has(FlagDelete))
		require.NoError(t, s.PurgeDeleted(ctx, "alpha", []string{"DATA"}))
		_, err = s.GetResourceDefinition(ctx, "data")
		require.Error(t, err, "the definition went with its last resource")

		// A definition none of whose resources reached a node goes at once.
		_, err = s.CreateResourceDefinition(ctx, ResourceDefinitionSpec{Name: "fresh", Props: map[string]string{KeyStorPoolName: "pool1"}})
		require.NoError(t, err)
		_, err = s.CreateVolumeDefinition(ctx, "fresh", VolumeDefinitionSpec{SizeKib: 1024})
		require.NoError(t, err)
		_, err = s.CreateResources(ctx, "fresh", []ResourceSpec{{Node: "alpha"}})
		require.NoError(t, err)
		_, nodes, err = s.MarkResourceDefinitionDeleting(ctx, "fresh")
		require.NoError(t, err)
		require.Empty(t, nodes)
		_, err = s.GetResourceDefinition(ctx, "fresh")
		require.Error(t, err)
	})
}
