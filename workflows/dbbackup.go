package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
)

// DatabaseBackup copies the controller's embedded database to a named backup
// file (linstor controller backup-db).
func DatabaseBackup(ctx workflow.Context, name string) (Outcome, error) {
	status := Status{State: "copying"}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return status, nil }); err != nil {
		return Outcome{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    5 * activities.HeartbeatInterval,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	var a *activities.Activities
	var res activities.DatabaseBackupResult
	if err := workflow.ExecuteActivity(ctx, a.BackupDatabase, name).Get(ctx, &res); err != nil {
		status.State = "failed"
		return Outcome{}, err
	}
	status = Status{State: "done", Percent: 100}
	return Outcome{Replies: res.Replies(workflow.GetInfo(ctx).WorkflowExecution.ID, name).At(workflow.Now(ctx))}, nil
}
