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
			supports := p.SupportsSnapshots
			err = st.SetStoragePoolCapacity(ctx, node, p.Name, p.FreeKib, p.TotalKib, &supports)
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
		var repl map[string]store.ReplicationState
		for peer, r := range v.Replication {
			if repl == nil {
				repl = map[string]store.ReplicationState{}
			}
			repl[peer] = store.ReplicationState{State: r.State, Done: r.Done}
		}
		actual[rd][v.VlmNr] = store.VolumeActual{DevicePath: v.DevicePath, BackingDevice: v.BackingPath, TopLayer: v.Layer, AllocatedKib: &allocated, UsableKib: &usable, DiskState: v.DiskState, StateError: v.Error,
			ReplicationStates: repl}
	}
	if err := st.SetVolumeActual(ctx, node, actual); err != nil {
		return err
	}
	made := map[string]map[int32]string{}
	for _, v := range rep.Volumes {
		if v.FileSystem != "" {
			rd := store.Key(v.Resource)
			if made[rd] == nil {
				made[rd] = map[int32]string{}
			}
			made[rd][v.VlmNr] = v.FileSystem
		}
	}
	if err := st.SetFileSystems(ctx, node, made); err != nil {
		return err
	}
	rscs := map[string]store.ResourceActual{}
	for _, r := range rep.Resources {
		rscs[store.Key(r.Name)] = store.ResourceActual{InUse: &r.InUse, DrbdRole: r.Role, PromotionScore: r.PromotionScore, MayPromote: r.MayPromote,
			DrbdConnections: r.Connections}
	}
	if err := st.SetResourceActual(ctx, node, rscs); err != nil {
		return err
	}
	if err := recordSnapshots(ctx, st, node, rep); err != nil {
		return err
	}
	return st.PurgeDeleted(ctx, node, deleting)
}

// recordSnapshots writes why snapshot volumes could not be taken or
// kept, and removes the rows of snapshots marked for deletion that the
// node no longer has (in pools it could read).
func recordSnapshots(ctx context.Context, st *store.Store, node string, rep proto.Report) error {
	var failedPools []string
	for _, p := range rep.Pools {
		if p.Error != "" {
			failedPools = append(failedPools, p.Name)
		}
	}
	var present []store.SnapshotRef
	errs := map[store.SnapshotRef]map[int32]string{}
	for _, s := range rep.Snapshots {
		ref := store.SnapshotRef{Resource: s.Resource, Snapshot: s.Name}
		present = append(present, ref)
		if errs[ref] == nil {
			errs[ref] = map[int32]string{}
		}
		errs[ref][s.VlmNr] = s.Error
	}
	if err := st.SetSnapshotVolumeErrors(ctx, node, errs); err != nil {
		return err
	}
	return st.PurgeDeletedSnapshots(ctx, node, present, failedPools)
}
