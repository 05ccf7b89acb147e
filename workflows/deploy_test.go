package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"strata/activities"
)

// Deploy pushes every node, retries a node that fails for a while, and
// reports the ones that never answered without failing the others.
func TestDeployPushesEveryNodeAndReportsTheUnreachable(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	var mu sync.Mutex
	calls := map[string]int{}
	env.OnActivity(a.ApplyNodeState, mockCtx, mockCtx).Return(func(_ context.Context, node string) error {
		mu.Lock()
		defer mu.Unlock()
		calls[node]++
		switch {
		case node == "charlie":
			return errors.New("node charlie is OFFLINE")
		case node == "bravo" && calls[node] < 3:
			return errors.New("connection refused")
		}
		return nil
	})

	env.ExecuteWorkflow(Deploy, DeployInput{Resource: "data", Nodes: []string{"alpha", "bravo", "charlie"}})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DeployResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, res.Failed, 1)
	require.Contains(t, res.Failed["charlie"], "OFFLINE")
	require.Equal(t, 1, calls["alpha"])
	require.Equal(t, 3, calls["bravo"], "retried until it answered")
	require.Equal(t, 6, calls["charlie"], "retried, then reported")
}

// A node sync applies auto-quorum to the node's resources first; when that
// fails, the node still gets its state.
func TestNodeSyncReconcilesQuorumThenPushes(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	var order []string
	env.OnActivity(a.ReconcileQuorum, mockCtx, "alpha").Return(func(context.Context, string) error {
		order = append(order, "quorum")
		return temporal.NewNonRetryableApplicationError("database gone", "test", nil)
	})
	env.OnActivity(a.ApplyNodeState, mockCtx, "alpha").Return(func(context.Context, string) error {
		order = append(order, "push")
		return nil
	})
	env.ExecuteWorkflow(NodeSync, "alpha")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"quorum", "push"}, order)
}
