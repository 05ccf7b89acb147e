package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A toggle changes the resource's flags and moves its volumes between
// the diskless pool and a storage pool.
func TestToggleDisk(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		snapshotCluster(t, s)
		row, err := s.ToggleDisk(ctx, "data", "charlie", true, "")
		require.NoError(t, err)
		require.Empty(t, row.Flags.List())
		r, err := s.GetResource(ctx, "data", "charlie")
		require.NoError(t, err)
		require.Empty(t, r.Flags.List(), "charlie has a disk")
		require.Equal(t, "pool1", r.Volumes[0].StorPoolDspName)

		_, err = s.ToggleDisk(ctx, "data", "charlie", false, "")
		require.NoError(t, err)
		r, err = s.GetResource(ctx, "data", "charlie")
		require.NoError(t, err)
		require.True(t, Diskless(r.Flags))
		require.Equal(t, "DfltDisklessStorPool", r.Volumes[0].StorPoolDspName)

		// Placed in the diskless pool (as tie-breakers and autoplaced
		// diskless resources are), the resource leaves that pool behind.
		_, err = s.ModifyResource(ctx, "data", "charlie", PropsModify{OverrideProps: map[string]string{KeyStorPoolName: DfltDisklessStorPool}})
		require.NoError(t, err)
		_, err = s.ToggleDisk(ctx, "data", "charlie", true, "")
		require.NoError(t, err)
		r, err = s.GetResource(ctx, "data", "charlie")
		require.NoError(t, err)
		require.Empty(t, r.Flags.List(), "charlie has a disk again")
		require.Equal(t, "pool1", r.Volumes[0].StorPoolDspName, "the definition's pool")

		// A toggle that would end diskless is refused, changing nothing.
		_, err = s.ToggleDisk(ctx, "data", "charlie", false, "")
		require.NoError(t, err)
		_, err = s.ToggleDisk(ctx, "data", "charlie", true, DfltDisklessStorPool)
		require.EqualError(t, err, "Resource 'data' on node 'charlie' has no storage pool for a disk.")
		r, err = s.GetResource(ctx, "data", "charlie")
		require.NoError(t, err)
		require.True(t, Diskless(r.Flags))
	})
}
