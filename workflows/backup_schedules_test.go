package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/backups"
	"strata/store"
)

// scheduledRecorder mocks a scheduled run's steps: its plan, and the
// shipments (BackupCreate children) that fail while failures last.
type scheduledRecorder struct {
	*recorder
	plan     activities.ScheduledPlan
	failures int
	shipped  []time.Time // when each shipment started
}

var tripleInput = activities.ScheduledBackupInput{Resource: "data", Remote: "s3r", Schedule: "nightly"}

func newScheduledRecorder(t *testing.T, plan activities.ScheduledPlan) *scheduledRecorder {
	r := &scheduledRecorder{recorder: newRecorder(t), plan: plan}
	var a *activities.Activities
	r.env.RegisterWorkflow(BackupCreate)
	r.env.RegisterWorkflow(SnapshotDelete)
	r.env.RegisterWorkflow(BackupDelete)
	r.env.OnActivity(a.PlanScheduledBackup, mockCtx, tripleInput, mockCtx).Return(func(context.Context, activities.ScheduledBackupInput, time.Time) (activities.ScheduledPlan, error) {
		return r.plan, nil
	})
	r.env.OnActivity(a.StartScheduledShipment, mockCtx, tripleInput, mockCtx).Return(func(_ context.Context, in activities.ScheduledBackupInput, p activities.ScheduledPlan) (activities.BackupCreateInput, error) {
		return activities.BackupCreateInput{Remote: in.Remote, Resource: in.Resource, Snapshot: "back_1", BackupID: "back_1", Incremental: p.Incremental, Schedule: in.Schedule}, nil
	})
	r.env.OnWorkflow(BackupCreate, mockCtx, mockCtx).Return(func(ctx workflow.Context, in activities.BackupCreateInput) (Outcome, error) {
		r.shipped = append(r.shipped, workflow.Now(ctx))
		r.add(map[bool]string{true: "ship incremental", false: "ship full"}[in.Incremental])
		if r.failures > 0 {
			r.failures--
			return Outcome{}, temporal.NewNonRetryableApplicationError("S3 is down", "test", nil)
		}
		return Outcome{Replies: apicall.RcList{{Message: "shipped"}}}, nil
	})
	r.env.OnActivity(a.ScheduledSnapshotsBeyondKeep, mockCtx, tripleInput, mockCtx).Return([]string{"old-inc", "old-full"}, nil)
	r.env.OnActivity(a.ScheduledBackupsBeyondKeep, mockCtx, tripleInput, mockCtx).Return([]string{"data_back_old"}, nil)
	r.env.OnWorkflow(SnapshotDelete, mockCtx, mockCtx).Return(func(_ workflow.Context, in activities.SnapshotDeleteInput) (Outcome, error) {
		r.add("delete snapshot " + in.Snapshot)
		return Outcome{}, nil
	})
	r.env.OnWorkflow(BackupDelete, mockCtx, mockCtx).Return(func(_ workflow.Context, in activities.BackupDeleteInput) (Outcome, error) {
		require.Equal(t, backups.DeleteQuery{ID: "data_back_old", Cascading: true, KeepSnaps: true}, in.Query, "a full backup goes with its chain")
		r.add("delete backup " + in.Query.ID)
		return Outcome{}, nil
	})
	return r
}

func keep(n int32) *int32 { return &n }

// A full shipment is followed by keep-local (the snapshots past it,
// incremental ones first) and, on S3, keep-remote.
func TestScheduledFullBackupPrunesPastKeep(t *testing.T) {
	r := newScheduledRecorder(t, activities.ScheduledPlan{OnFailure: store.OnFailureSkip, KeepLocal: keep(1), KeepRemote: keep(2), S3: true})
	r.env.ExecuteWorkflow(ScheduledBackup, tripleInput)
	msgs := r.outcome(t)
	require.Equal(t, []string{"ship full", "delete snapshot old-inc", "delete snapshot old-full", "delete backup data_back_old"}, r.order)
	require.Contains(t, msgs, "Snapshot old-full of data deleted due to schedule nightly (keep-local 1).")
}

// An incremental shipment prunes nothing; neither does a LINSTOR remote
// keep remote backups.
func TestScheduledIncrementalBackupPrunesNothing(t *testing.T) {
	r := newScheduledRecorder(t, activities.ScheduledPlan{Incremental: true, OnFailure: store.OnFailureSkip, KeepLocal: keep(1), KeepRemote: keep(2), S3: true})
	r.env.ExecuteWorkflow(ScheduledBackup, tripleInput)
	r.outcome(t)
	require.Equal(t, []string{"ship incremental"}, r.order)
}

// A run whose pair is no longer enabled (or whose definition is gone)
// ships nothing and says why.
func TestScheduledBackupSkipsWhatNoLongerShips(t *testing.T) {
	r := newScheduledRecorder(t, activities.ScheduledPlan{Skip: "Shipping data to s3r on schedule nightly is disabled."})
	r.env.ExecuteWorkflow(ScheduledBackup, tripleInput)
	require.Equal(t, []string{"Scheduled backup skipped: Shipping data to s3r on schedule nightly is disabled."}, r.outcome(t))
	require.Empty(t, r.order)
}

// RETRY tries again a minute after a failure, as often as max_retries
// says, keeping whether it is incremental; SKIP gives up at once.
func TestScheduledBackupRetriesAMinuteLater(t *testing.T) {
	r := newScheduledRecorder(t, activities.ScheduledPlan{Incremental: true, OnFailure: store.OnFailureRetry, MaxRetries: keep(2)})
	r.failures = 2
	r.env.ExecuteWorkflow(ScheduledBackup, tripleInput)
	msgs := r.outcome(t)
	require.Equal(t, []string{"ship incremental", "ship incremental", "ship incremental"}, r.order)
	require.GreaterOrEqual(t, r.shipped[1].Sub(r.shipped[0]), time.Minute)
	require.Contains(t, msgs, "Shipping of resource data to remote s3r will be retried for the 2. time. Max retries: 2")

	r = newScheduledRecorder(t, activities.ScheduledPlan{OnFailure: store.OnFailureRetry, MaxRetries: keep(1)})
	r.failures = 5
	r.env.ExecuteWorkflow(ScheduledBackup, tripleInput)
	require.Error(t, r.env.GetWorkflowError(), "given up after one retry")
	require.Equal(t, []string{"ship full", "ship full"}, r.order)

	r = newScheduledRecorder(t, activities.ScheduledPlan{OnFailure: store.OnFailureSkip})
	r.failures = 1
	r.env.ExecuteWorkflow(ScheduledBackup, tripleInput)
	var app *temporal.ApplicationError
	require.True(t, errors.As(r.env.GetWorkflowError(), &app))
	require.Equal(t, []string{"ship full"}, r.order, "SKIP waits for the next tick")
}

// The reconcile runs again while changes come in, then ends.
func TestBackupSchedulesReconcilesUntilNoChangeIsLeft(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	runs := 0
	env.OnActivity(a.ReconcileBackupSchedules, mockCtx, mockCtx).Return(func(_ context.Context, in activities.BackupSchedulesInput) ([3]int, error) {
		require.Equal(t, "ScheduledBackup", in.Workflow)
		require.Equal(t, BackupSchedulePrefix, in.SchedulePrefix)
		if runs++; runs == 1 {
			env.SignalWorkflow(BackupSchedulesSignal, nil) // a change while it reconciles
		}
		return [3]int{1, 0, 0}, nil
	})
	env.ExecuteWorkflow(BackupSchedules)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 2, runs)
}
