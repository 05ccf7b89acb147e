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
	"strata/apicall"
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
	env.OnActivity(a.Holders, mockCtx, "data").Return([]string{"bravo", "charlie"}, nil)
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
	var report activities.DeployReportInput
	env.OnActivity(a.DeployReport, mockCtx, mockCtx).Return(func(_ context.Context, in activities.DeployReportInput) (apicall.RcList, error) {
		report = in
		return apicall.RcList{{Message: "Resource 'data' deployed on 2 nodes."}}, nil
	})

	env.ExecuteWorkflow(Deploy, DeployInput{Resource: "data", Nodes: []string{"alpha"}})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out Outcome
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, "Resource 'data' deployed on 2 nodes.", out.Replies[0].Message)
	require.Equal(t, []string{"alpha", "bravo", "charlie"}, report.Nodes, "the holders and the nodes asked for")
	require.Len(t, report.Failed, 1)
	require.Contains(t, report.Failed["charlie"], "OFFLINE")
	require.Equal(t, 1, calls["alpha"])
	require.Equal(t, 3, calls["bravo"], "retried until it answered")
	require.Equal(t, 6, calls["charlie"], "retried, then reported")
}

// A change signalled while a Deploy pushes gets one more round, with the
// nodes it names.
func TestDeployTakesChangesSignalledWhileItPushes(t *testing.T) {
	r := newRecorder(t, "alpha")
	var once sync.Once
	r.beforePush = func() { once.Do(func() { r.env.SignalWorkflow(DeploySignal, []string{"bravo"}) }) }
	r.env.ExecuteWorkflow(Deploy, DeployInput{Resource: "data"})
	r.outcome(t)
	require.Equal(t, []string{"push alpha", "report", "push alpha bravo", "report"}, r.order, "a second round after the signal, with its node")
}

// A node sync applies auto-quorum to the node's resources first; when that
// fails, the node still gets its state.
func TestNodeSyncReconcilesQuorumThenPushes(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	var order []string
	env.OnActivity(a.ReconcileNodeQuorum, mockCtx, "alpha").Return(func(context.Context, string) error {
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
