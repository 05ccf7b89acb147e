package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// Clone makes a new definition with the data of another (LINSTOR's
// resource-definition clone, linstor-csi's volume from volume): the clone
// is recorded (CLONING), a snapshot of the source is taken, the clone's
// volume definitions and resources are made from it on the same nodes
// (reflinks and thin clones where the pools have them), the snapshot
// goes, and the clone ends COMPLETE or FAILED.
func Clone(ctx workflow.Context, in activities.CloneInput) (Outcome, error) {
	locks := definitionLocks([]store.SnapshotRef{{Resource: in.Source}, {Resource: in.Target}})
	return locked(ctx, "cloning", locks, func(o *operation) error {
		var a *activities.Activities
		if _, ok, err := o.step("recording the clone", a.RecordClone, in); err != nil || !ok {
			return err
		}
		snap := store.CloneSnapshot(in.Target)
		copied, err := o.cloneData(in, snap)
		if err != nil {
			return err
		}
		// The snapshot goes, whatever happened to the copy.
		if err := o.deleteSnapshot(activities.SnapshotDeleteInput{Resource: in.Source, Snapshot: snap}); err != nil {
			return err
		}
		_, _, err = o.step("finishing the clone", a.FinishClone, activities.FinishCloneInput{Target: in.Target, Failed: !copied})
		return err
	})
}

// cloneData makes the clone's volumes from a snapshot of the source; it
// reports whether they were made.
func (o *operation) cloneData(in activities.CloneInput, snap string) (bool, error) {
	var a *activities.Activities
	took, err := o.takeSnapshots(activities.SnapshotCreateInput{Snapshots: []store.SnapshotSpec{{Resource: in.Source, Name: snap}}})
	if err != nil || !took {
		return false, err
	}
	restore := activities.SnapshotRestoreInput{RestoreSpec: store.RestoreSpec{Resource: in.Source, Snapshot: snap, To: in.Target}}
	if _, ok, err := o.step("making the clone's volume definitions", a.CloneVolumeDefinitions, restore); err != nil || !ok {
		return false, err
	}
	s, ok, err := o.step("making the clone's resources", a.RestoreResources, restore)
	if err != nil || !ok {
		return false, err
	}
	if err := o.quorum(in.Target); err != nil {
		return false, err
	}
	if err := o.deploy(s.Nodes, in.Target); err != nil {
		return false, err
	}
	o.status.State = "ending the restore"
	return true, workflow.ExecuteLocalActivity(o.ctx, a.FinishRestore, in.Target).Get(o.ctx, nil)
}
