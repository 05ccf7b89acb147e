package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"strata/activities"
)

func TestDatabaseBackupRetriesUntilTheCopySucceeds(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	attempts := 0
	env.RegisterActivity(a)
	env.OnActivity(a.BackupDatabase, mockCtx, "nightly").Return(
		func(context.Context, string) (activities.DatabaseBackupResult, error) {
			attempts++
			if attempts < 3 {
				return activities.DatabaseBackupResult{}, errors.New("disk busy")
			}
			return activities.DatabaseBackupResult{Path: "/data/backups/nightly", Bytes: 4096}, nil
		})

	env.ExecuteWorkflow(DatabaseBackup, "nightly")

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out Outcome
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Len(t, out.Replies, 1)
	require.Equal(t, "Database backup 'nightly' created.", out.Replies[0].Message)
	require.Contains(t, out.Replies[0].Details, "/data/backups/nightly (4096 bytes)")
	require.Equal(t, 3, attempts)

	q, err := env.QueryWorkflow(StatusQuery)
	require.NoError(t, err)
	var st Status
	require.NoError(t, q.Get(&st))
	require.Equal(t, Status{State: "done", Percent: 100}, st)
}

func TestDatabaseBackupFailsAfterItsRetries(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.BackupDatabase, mockCtx, "nightly").Return(activities.DatabaseBackupResult{}, errors.New("no space left on device"))

	env.ExecuteWorkflow(DatabaseBackup, "nightly")

	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "no space left on device")
	q, err := env.QueryWorkflow(StatusQuery)
	require.NoError(t, err)
	var st Status
	require.NoError(t, q.Get(&st))
	require.Equal(t, "failed", st.State)
}
