package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// A clone is recorded, a snapshot of the source taken, the clone's volume
// definitions and resources made from it and deployed; the snapshot goes
// and the clone is finished: COMPLETE, or FAILED when the snapshot could
// not be taken.
func TestCloneCopiesThroughASnapshot(t *testing.T) {
	for _, failing := range []bool{false, true} {
		r := newSnapshotRecorder(t)
		var a *activities.Activities
		in := activities.CloneInput{CloneSpec: store.CloneSpec{Source: "data", Target: "copy"}}
		r.env.OnActivity(a.RecordClone, mockCtx, in).Return(func(context.Context, activities.CloneInput) (activities.Step, error) {
			r.add("record clone")
			return activities.Step{}, nil
		})
		r.env.OnActivity(a.CloneByCopy, mockCtx, "data").Return(false, nil)
		restore := activities.SnapshotRestoreInput{RestoreSpec: store.RestoreSpec{Resource: "data", Snapshot: "clone-copy", To: "copy"}}
		r.env.OnActivity(a.CloneVolumeDefinitions, mockCtx, restore).Return(func(context.Context, activities.SnapshotRestoreInput) (activities.Step, error) {
			r.add("volume definitions")
			return activities.Step{}, nil
		})
		r.env.OnActivity(a.RestoreResources, mockCtx, restore).Return(func(context.Context, activities.SnapshotRestoreInput) (activities.Step, error) {
			r.add("resources")
			return activities.Step{Nodes: []string{"alpha", "bravo"}}, nil
		})
		r.env.OnActivity(a.FinishRestore, mockCtx, "copy").Return(nil)
		r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, activities.SnapshotDeleteInput{Resource: "data", Snapshot: "clone-copy"}).Return(func(context.Context, activities.SnapshotDeleteInput) (activities.Step, error) {
			r.add("delete snapshot")
			return activities.Step{}, nil
		})
		r.env.OnActivity(a.FinishClone, mockCtx, activities.FinishCloneInput{Target: "copy", Failed: failing}).Return(func(context.Context, activities.FinishCloneInput) (activities.Step, error) {
			r.add("finish clone")
			return activities.Step{Replies: apicall.RcList{{Message: "Resource definition 'copy' cloned."}}}, nil
		})
		if failing {
			r.stale = apicall.Failure(apicall.FailUnknownError, 0, 0, "Resource 'data' on 'bravo' is not UpToDate.", "", "")
		}
		r.env.ExecuteWorkflow(Clone, in)
		r.outcome(t)
		require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("copy"), "record clone"}, r.order[:2], "under the locks of both definitions")
		require.Equal(t, []string{"delete snapshot", "finish clone", "release"}, r.order[len(r.order)-3:], "the snapshot goes whatever happened")
		if failing {
			require.NotContains(t, r.order, "resources", "no clone without the snapshot")
			continue
		}
		require.Contains(t, r.order, "record clone-copy")
		require.Contains(t, r.order, "volume definitions")
		require.Contains(t, r.order, "resources")
	}
}

// Where a pool cannot take snapshots, the clone's resources are made on
// the source's nodes and deployed empty, then each node's agent copies
// the data in one of the node's copying slots; a copy that fails ends the
// clone FAILED, and no snapshot is taken.
func TestCloneCopiesWhereThereAreNoSnapshots(t *testing.T) {
	for _, failing := range []bool{false, true} {
		r := newRecorder(t)
		var a *activities.Activities
		in := activities.CloneInput{CloneSpec: store.CloneSpec{Source: "data", Target: "copy"}}
		r.env.OnActivity(a.RecordClone, mockCtx, in).Return(activities.Step{}, nil)
		r.env.OnActivity(a.CloneByCopy, mockCtx, "data").Return(true, nil)
		r.env.OnActivity(a.CopyCloneResources, mockCtx, in).Return(func(context.Context, activities.CloneInput) (activities.Step, error) {
			r.add("resources")
			return activities.Step{Nodes: []string{"alpha", "bravo"}}, nil
		})
		r.env.OnActivity(a.TakeSlot, mockCtx, mockCtx).Return(func(_ context.Context, in activities.SlotInput) error {
			require.Equal(t, store.CloneCopying, in.Kind)
			r.add("slot " + in.Node)
			return nil
		})
		r.env.OnActivity(a.CopyCloneData, mockCtx, mockCtx).Return(func(_ context.Context, in activities.CopyCloneInput) error {
			r.add("copy " + in.Node)
			if failing {
				return temporal.NewNonRetryableApplicationError("no space left", "Failed", nil)
			}
			return nil
		})
		r.env.OnActivity(a.FinishClone, mockCtx, activities.FinishCloneInput{Target: "copy", Failed: failing}).Return(func(context.Context, activities.FinishCloneInput) (activities.Step, error) {
			r.add("finish clone")
			return activities.Step{}, nil
		})
		r.env.ExecuteWorkflow(Clone, in)
		msgs := r.outcome(t)
		if failing {
			require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("copy"), "resources", "quorum copy", "push alpha bravo", "report", "slot alpha", "copy alpha", "finish clone", "release"}, r.order)
			require.Contains(t, msgs, "Copying the data of 'data' into 'copy' on node 'alpha' failed.")
			continue
		}
		require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("copy"), "resources", "quorum copy", "push alpha bravo", "report",
			"slot alpha", "copy alpha", "slot bravo", "copy bravo", "finish clone", "release"}, r.order)
	}
}
