package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"strata/activities"
)

func TestSOSReportCollectsEveryPartThenPacks(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	in := activities.SOSRequest{Name: "20261204_120000", IncludeController: true}
	env.OnActivity(a.SOSNodes, mockCtx, in).Return([]string{"n1", "n2"}, nil)
	env.OnActivity(a.SOSController, mockCtx, in).Return(nil).Once()
	collected := map[string]bool{}
	env.OnActivity(a.SOSNode, mockCtx, mock.Anything).Return(func(_ context.Context, p activities.SOSPart) error {
		collected[p.Node] = true
		return nil
	})
	env.OnActivity(a.SOSPack, mockCtx, in.Name).Return(func(context.Context, string) (string, error) {
		require.Equal(t, map[string]bool{"n1": true, "n2": true}, collected, "packed after every part")
		return "/data/sos-reports/sos_20261204_120000.tar.gz", nil
	})

	env.ExecuteWorkflow(SOSReport, in)

	require.NoError(t, env.GetWorkflowError())
	var out SOSResult
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, SOSResult{Path: "/data/sos-reports/sos_20261204_120000.tar.gz", Nodes: []string{"n1", "n2"}}, out)
	env.AssertExpectations(t)
}

func TestSOSReportFailsWhenAPartCannotBeWritten(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	in := activities.SOSRequest{Name: "x"}
	env.OnActivity(a.SOSNodes, mockCtx, in).Return([]string{"n1"}, nil)
	env.OnActivity(a.SOSNode, mockCtx, mock.Anything).Return(errors.New("no space left on device"))

	env.ExecuteWorkflow(SOSReport, in)

	require.ErrorContains(t, env.GetWorkflowError(), "no space left on device")
}
