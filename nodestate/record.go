package nodestate

import (
	"context"

	"strata/agent/proto"
	"strata/store"
)

// Record writes what a node's agent reported of the state it was sent:
// its pools' capacities or errors, its volumes' devices, sizes and
// states, its DRBD roles and connections. deleting are the definitions
// whose resource on the node was left out of the state as being deleted:
// the agent removed them, so their rows go.
func Record(ctx context.Context, st *store.Store, node string, deleting []string, rep proto.Report) error {
	if rep.Stale {
		return nil // a newer state got there first and was recorded by its own push
	}
	for _, p := range rep.Pools {
		var err error
		switch {
		case p.Error != "":
			err = st.SetStoragePoolError(ctx, node, p.Name, p.Error)
		case p.TotalKib > 0:
			err = st.SetStoragePoolCapacity(ctx, node, p.Name, p.FreeKib, p.TotalKib)
		}
		if err != nil {
			return err
		}
	}
	actual := map[string]map[int32]store.VolumeActual{}
	for _, v := range rep.Volumes {
		rd := store.Key(v.Resource)
		if actual[rd] == nil {
			actual[rd] = map[int32]store.VolumeActual{}
		}
		allocated, usable := v.AllocatedKib, v.UsableKib
		actual[rd][v.VlmNr] = store.VolumeActual{DevicePath: v.DevicePath, BackingDevice: v.BackingPath, TopLayer: v.Layer, AllocatedKib: &allocated, UsableKib: &usable, DiskState: v.DiskState, StateError: v.Error}
	}
	if err := st.SetVolumeActual(ctx, node, actual); err != nil {
		return err
	}
	drbd := map[string]store.ResourceActual{}
	for _, r := range rep.Resources {
		drbd[store.Key(r.Name)] = store.ResourceActual{DrbdRole: r.Role, DrbdConnections: r.Connections}
	}
	if err := st.SetResourceActual(ctx, node, drbd); err != nil {
		return err
	}
	return st.PurgeDeleted(ctx, node, deleting)
}
