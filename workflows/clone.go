package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// Clone makes a new definition with the data of another (LINSTOR's
// resource-definition clone, linstor-csi's volume from volume): the clone
// is recorded (CLONING), a snapshot of the source is taken, the clone's
// volume definitions and resources are made from it on the same nodes
// (reflinks and thin clones where the pools have them), the snapshot
// goes, and the clone ends COMPLETE or FAILED. Where a pool cannot take
// snapshots, the agents copy the data instead.
func Clone(ctx workflow.Context, in activities.CloneInput) (Outcome, error) {
	locks := definitionLocks([]store.SnapshotRef{{Resource: in.Source}, {Resource: in.Target}})
	return locked(ctx, "cloning", locks, func(o *operation) error {
		var a *activities.Activities
		if _, ok, err := o.step("recording the clone", a.RecordClone, in); err != nil || !ok {
			return err
		}
		// (Runs from before copies existed always cloned a snapshot.)
		byCopy := false
		if workflow.GetVersion(ctx, "clone-by-copy", workflow.DefaultVersion, 1) == 1 {
			if err := workflow.ExecuteLocalActivity(o.ctx, a.CloneByCopy, in.Source).Get(o.ctx, &byCopy); err != nil {
				return err
			}
		}
		var copied bool
		var err error
		if byCopy {
			if copied, err = o.copyData(in); err != nil {
				return err
			}
		} else {
			snap := store.CloneSnapshot(in.Target)
			if copied, err = o.cloneData(in, snap); err != nil {
				return err
			}
			// The snapshot goes, whatever happened to the copy.
			if err := o.deleteSnapshot(activities.SnapshotDeleteInput{Resource: in.Source, Snapshot: snap}); err != nil {
				return err
			}
		}
		_, _, err = o.step("finishing the clone", a.FinishClone, activities.FinishCloneInput{Target: in.Target, Failed: !copied})
		return err
	})
}

// copyOptions run the copy of a clone's data on a node: as long as the
// data takes, alive by its heartbeats, retried from the start.
var copyOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 24 * time.Hour,
	HeartbeatTimeout:    5 * activities.HeartbeatInterval,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
}

// copyData makes the clone where a pool cannot take snapshots: its
// resources on the source's nodes, their volumes made empty, then each
// node's agent copies the data, in one of the node's copying slots
// (Clone/MaxConcurrentCopiesPerNode). It reports whether the data was
// copied.
func (o *operation) copyData(in activities.CloneInput) (bool, error) {
	var a *activities.Activities
	s, ok, err := o.cloneResources(in.Target, a.CopyCloneResources, in)
	if err != nil || !ok {
		return false, err
	}
	o.followProgress()
	for _, n := range s.Nodes {
		o.status.State = "waiting for a copying slot on " + n
		if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(o.ctx, waitOptions), a.TakeSlot, activities.SlotInput{Node: n, Kind: store.CloneCopying}).Get(o.ctx, nil); err != nil {
			return false, err
		}
		o.status.State = "copying the data on " + n
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, copyOptions), a.CopyCloneData, activities.CopyCloneInput{Source: in.Source, Target: in.Target, Node: n}).Get(o.ctx, nil)
		if err != nil {
			rc := apicall.NewRc(apicall.FailUnknownError, apicall.MaskCrt, apicall.MaskRscDfn, fmt.Sprintf("Copying the data of '%s' into '%s' on node '%s' failed.", in.Source, in.Target, n))
			rc.Cause = cause(err)
			o.out = append(o.out, rc)
			return false, nil
		}
	}
	return true, nil
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
	if _, ok, err := o.cloneResources(in.Target, a.RestoreResources, restore); err != nil || !ok {
		return false, err
	}
	o.status.State = "ending the restore"
	return true, workflow.ExecuteLocalActivity(o.ctx, a.FinishRestore, in.Target).Get(o.ctx, nil)
}

// cloneResources records the clone's resources by the step given, applies
// auto-quorum to them and deploys them to their nodes.
func (o *operation) cloneResources(target string, activity, input any) (activities.Step, bool, error) {
	s, ok, err := o.step("making the clone's resources", activity, input)
	if err != nil || !ok {
		return s, ok, err
	}
	if err := o.quorum(target); err != nil {
		return s, false, err
	}
	return s, true, o.deploy(s.Nodes, target)
}
