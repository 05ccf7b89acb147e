package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
)

// DatabaseBackupWorkflowID names the one workflow that writes a backup of
// that name, so that a repeated request cannot start a second copy.
func DatabaseBackupWorkflowID(name string) string { return databaseBackupPrefix + name }

const databaseBackupPrefix = "controller-backup-db-"

// DatabaseBackup copies the controller's embedded database to a named backup
// file (linstor controller backup-db).
func DatabaseBackup(ctx workflow.Context, name string) (activities.DatabaseBackupResult, error) {
	status := Status{State: "copying"}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return status, nil }); err != nil {
		return activities.DatabaseBackupResult{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	var a *activities.Activities
	var res activities.DatabaseBackupResult
	if err := workflow.ExecuteActivity(ctx, a.BackupDatabase, name).Get(ctx, &res); err != nil {
		status.State = "failed"
		return res, err
	}
	status = Status{State: "done", Percent: 100}
	return res, nil
}

// DatabaseBackupName is the backup name of a DatabaseBackup workflow id.
func DatabaseBackupName(id string) string { return strings.TrimPrefix(id, databaseBackupPrefix) }
