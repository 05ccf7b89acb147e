package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/agent/proto/bucket"
	"strata/apicall"
	"strata/store"
)

// backupRecorder mocks a backup's steps up to the upload, which
// shipErr, when set, fails.
type backupRecorder struct {
	*recorder
	shipErr   error
	slotsFull int // TakeBackupSlot's answers that every slot is taken
}

func newBackupRecorder(t *testing.T) *backupRecorder {
	r := &backupRecorder{recorder: newRecorder(t, "alpha")}
	var a *activities.Activities
	r.env.OnActivity(a.PlanBackup, mockCtx, mockCtx).Return(activities.BackupPlan{Name: bucket.Name{Resource: "data", BackupID: "back_20260101_000000", Snapshot: "s1"}}, nil)
	r.env.OnActivity(a.SetShippingStatus, mockCtx, mockCtx, mockCtx).Return(func(_ context.Context, _ activities.ShipInput, status string) error {
		r.add("status " + status)
		return nil
	})
	r.env.OnActivity(a.BackupNodes, mockCtx, mockCtx).Return([]string{"alpha"}, nil)
	r.env.OnActivity(a.TakeBackupSlot, mockCtx, mockCtx).Return(func(context.Context, []string) (string, error) {
		if r.slotsFull > 0 {
			r.slotsFull--
			r.add("slots full")
			return "", temporal.NewApplicationError("all 2 backup-shipping slots of node alpha are taken", activities.SlotsFullErrorType)
		}
		return "alpha", nil
	})
	r.env.OnActivity(a.WakeQueuedShipments, mockCtx, mockCtx).Return(func(_ context.Context, in activities.WakeInput) error {
		r.add("wake " + in.Node)
		return nil
	})
	r.env.OnActivity(a.ShipBackup, mockCtx, mockCtx).Return(func(context.Context, activities.ShipInput) ([]activities.ShippedVolume, error) {
		r.add("ship")
		return []activities.ShippedVolume{{Key: "data_00000_back_20260101_000000^s1"}}, r.shipErr
	})
	r.env.OnActivity(a.CommitBackup, mockCtx, mockCtx).Return(func(context.Context, activities.CommitInput) error {
		r.add("commit")
		return nil
	})
	r.env.OnActivity(a.FailBackup, mockCtx, mockCtx, mockCtx).Return(func(_ context.Context, _ activities.ShipInput, status string) error {
		r.add("fail " + status)
		return nil
	})
	return r
}

var backupInput = activities.BackupCreateInput{Remote: "s3r", Resource: "data", Snapshot: "s1"}

// A backup waits for a slot, ships, commits and gives the slot back; the
// snapshot says Prepare Shipping, then Shipping.
func TestBackupCreateShipsInASlotAndCommits(t *testing.T) {
	r := newBackupRecorder(t)
	r.env.ExecuteWorkflow(BackupCreate, backupInput)
	msgs := r.outcome(t)
	require.Equal(t, []string{"status " + store.ShippingPrepare, "status " + store.ShippingRunning, "ship", "commit", "release", "wake alpha"}, r.order,
		"the slot given back wakes the shipments waiting for alpha")
	require.Contains(t, msgs, "Shipping of resource data to remote s3r in progress.")
}

// A backup without a free slot waits until a shipment that gives one
// back wakes it, not a minute.
func TestBackupCreateWaitsForASlotUntilWoken(t *testing.T) {
	r := newBackupRecorder(t)
	r.slotsFull = 1
	start := r.env.Now()
	var tookAfter time.Duration
	r.env.RegisterDelayedCallback(func() { r.env.SignalWorkflow(activities.SlotFreedSignal, nil) }, 3*time.Second)
	r.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		if info.ActivityType.Name == "SetShippingStatus" && tookAfter == 0 && r.env.Now().Sub(start) > 0 {
			tookAfter = r.env.Now().Sub(start)
		}
	})
	r.env.ExecuteWorkflow(BackupCreate, backupInput)
	r.outcome(t)
	require.Equal(t, []string{"status " + store.ShippingPrepare, "slots full", "status " + store.ShippingRunning, "ship", "commit", "release", "wake alpha"}, r.order)
	require.Positive(t, tookAfter, "it waited")
	require.Less(t, tookAfter, slotRecheck, "woken, it did not wait for its recheck")
}

// An upload that fails for good marks the backup Failed (which removes
// what it shipped) and gives the slot back; it is never committed.
func TestBackupCreateThatFailsIsNeverCommitted(t *testing.T) {
	r := newBackupRecorder(t)
	r.shipErr = temporal.NewNonRetryableApplicationError("bucket gone", "test", nil)
	r.env.ExecuteWorkflow(BackupCreate, backupInput)
	require.True(t, r.env.IsWorkflowCompleted())
	require.ErrorContains(t, r.env.GetWorkflowError(), "bucket gone")
	require.Equal(t, []string{"status " + store.ShippingPrepare, "status " + store.ShippingRunning, "ship", "fail " + store.ShippingFailed, "release", "wake alpha"}, r.order)
}

// A refused plan (a remote that is not there) ends the backup with its
// answer: nothing is taken, marked or shipped.
func TestBackupCreateRefusedChangesNothing(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	r.env.OnActivity(a.PlanBackup, mockCtx, mockCtx).Return(activities.BackupPlan{Step: activities.Step{Replies: apicall.RcList{apicall.NewRc(apicall.FailNotFoundRemote, apicall.MaskCrt, apicall.MaskBackup, "Remote 'nowhere' not found.")}}}, nil)
	r.env.ExecuteWorkflow(BackupCreate, backupInput)
	require.Equal(t, []string{"Remote 'nowhere' not found."}, r.outcome(t))
	require.Empty(t, r.order)
}

// Deleting backups deletes the local snapshots they were shipped from,
// each under its definition's lock.
func TestBackupDeleteTakesTheShippedSnapshots(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	r.env.OnActivity(a.DeleteBackups, mockCtx, mockCtx).Return(activities.BackupDeletion{Step: activities.Step{Replies: apicall.RcList{{Message: "Backup data_back_20260101_000000^s1 deleted from remote s3r."}}},
		Snapshots: []store.SnapshotRef{{Resource: "data", Snapshot: "s1"}}}, nil)
	r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, activities.SnapshotDeleteInput{Resource: "data", Snapshot: "s1"}).Return(func(context.Context, activities.SnapshotDeleteInput) (activities.Step, error) {
		r.add("delete s1")
		return activities.Step{Nodes: []string{"alpha"}}, nil
	})
	r.env.OnActivity(a.SnapshotDeleteReport, mockCtx, mockCtx).Return(apicall.RcList{{Message: "Snapshot 's1' of resource 'data' deleted."}}, nil)
	r.env.ExecuteWorkflow(BackupDelete, activities.BackupDeleteInput{Remote: "s3r"})
	msgs := r.outcome(t)
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "delete s1", "push alpha", "release"}, r.order)
	require.Equal(t, []string{"Backup data_back_20260101_000000^s1 deleted from remote s3r.", "Snapshot 's1' of resource 'data' deleted."}, msgs)
}

// A forced restore downloads, then rolls the target's resource back to
// the downloaded snapshot, with the rollback's safety snapshot.
func TestBackupRestoreForcedRollsBack(t *testing.T) {
	r := newSnapshotRecorder(t)
	var a *activities.Activities
	in := activities.BackupRestoreInput{Remote: "s3r", Target: "data", Node: "alpha", ForceRestore: true}
	r.env.OnActivity(a.RecordBackupRestore, mockCtx, in).Return(activities.RestorePlan{Snapshot: "s1", ForceRestore: true}, nil)
	r.env.OnActivity(a.DownloadBackup, mockCtx, in, mockCtx).Return(func(context.Context, activities.BackupRestoreInput, activities.RestorePlan) error {
		r.add("download")
		return nil
	})
	r.env.OnActivity(a.CheckRollback, mockCtx, activities.RollbackInput{Resource: "data", Snapshot: "s1"}).Return(activities.Step{Nodes: []string{"alpha"}}, nil)
	r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, mockCtx).Return(activities.Step{}, nil)
	r.env.ExecuteWorkflow(BackupRestore, in)
	msgs := r.outcome(t)
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "download", "finish SUCCESSFUL"}, r.order[:3])
	require.Contains(t, r.order, "phase rollback-restore s1")
	require.Contains(t, msgs, "Resource 'data' rolled back to snapshot 's1'.")
}
