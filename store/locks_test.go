package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLocksAreAllOrNothingAndSlotsHaveALimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, st *Store) {
		ctx := context.Background()
		rd, node := ResourceDefinitionLock("data"), NodeLock("alpha")

		require.NoError(t, st.TakeLocks(ctx, "toggle-disk/data/alpha", []string{rd}))
		require.NoError(t, st.TakeLocks(ctx, "toggle-disk/data/alpha", []string{rd}), "a holder takes its own lock again")
		err := st.TakeLocks(ctx, "evacuate/alpha", []string{node, rd})
		locked, ok := AsLocked(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, &LockedError{Object: rd, Holder: "toggle-disk/data/alpha"}, locked)
		holders, err := st.LockHolders(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"toggle-disk/data/alpha"}, holders, "the refused request took no lock, not even the free one")

		require.NoError(t, st.Release(ctx, "toggle-disk/data/alpha"))
		require.NoError(t, st.TakeLocks(ctx, "evacuate/alpha", []string{node, rd}))

		for i, want := range []bool{true, true, false} {
			got, err := st.TakeSlot(ctx, "alpha", "backup", []string{"a", "b", "c"}[i], 2)
			require.NoError(t, err)
			require.Equal(t, want, got, "slot %d of 2", i+1)
		}
		got, err := st.TakeSlot(ctx, "alpha", "backup", "a", 2)
		require.NoError(t, err)
		require.True(t, got, "a holder keeps its slot")
		got, err = st.TakeSlot(ctx, "bravo", "backup", "c", 2)
		require.NoError(t, err)
		require.True(t, got, "slots are per node")
		require.NoError(t, st.Release(ctx, "a"))
		got, err = st.TakeSlot(ctx, "alpha", "backup", "c", 2)
		require.NoError(t, err)
		require.True(t, got, "a released slot is free again")
	})
}

// A kind's slot limit is the node's property, else the controller's,
// else the kind's default; negative is no limit.
func TestSlotLimitIsInherited(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, st *Store) {
		ctx := context.Background()
		port := int32(3366)
		_, err := st.CreateNode(ctx, NodeSpec{Name: "alpha", Type: "SATELLITE", NetInterfaces: []NetInterfaceRow{{NodeNetDspName: "default", InetAddress: "10.0.0.1", StltConnPort: &port}}})
		require.NoError(t, err)
		limit := func() int {
			n, err := st.SlotLimit(ctx, "alpha", BackupShipping)
			require.NoError(t, err)
			return n
		}
		require.Equal(t, 2, limit(), "Strata's default")
		require.NoError(t, st.ModifyControllerProps(ctx, PropsModify{OverrideProps: map[string]string{BackupShipping.Property: "5"}}))
		require.Equal(t, 5, limit(), "the controller's")
		_, err = st.ModifyNode(ctx, "alpha", "", PropsModify{OverrideProps: map[string]string{BackupShipping.Property: "-1"}})
		require.NoError(t, err)
		require.Equal(t, -1, limit(), "the node's: no limit")
	})
}
