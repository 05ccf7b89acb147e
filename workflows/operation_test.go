package workflows

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// recorder mocks the steps every operation shares and records their
// order.
type recorder struct {
	env   *testsuite.TestWorkflowEnvironment
	mu    sync.Mutex
	order []string
	// beforePush, when set, runs before each push; pushErr, when set,
	// fails the pushes it answers an error for.
	beforePush func()
	pushErr    func(node string) error
}

func (r *recorder) add(step string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order = append(r.order, step)
}

// push records a node's push; the parallel pushes of one deployment are
// one entry, "push" and their nodes in order.
func (r *recorder) push(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := len(r.order) - 1; last >= 0 && strings.HasPrefix(r.order[last], "push ") {
		nodes := append(strings.Fields(r.order[last])[1:], node)
		sort.Strings(nodes)
		r.order[last] = "push " + strings.Join(nodes, " ")
		return
	}
	r.order = append(r.order, "push "+node)
}

// newRecorder mocks a definition held by holders (alpha and bravo when
// none are given).
func newRecorder(t *testing.T, holders ...string) *recorder {
	if len(holders) == 0 {
		holders = []string{"alpha", "bravo"}
	}
	var s testsuite.WorkflowTestSuite
	r := &recorder{env: s.NewTestWorkflowEnvironment()}
	var a *activities.Activities
	r.env.RegisterActivity(a)
	r.env.OnActivity(a.TakeLocks, mockCtx, mockCtx).Return(func(_ context.Context, objects []string) error {
		r.add("lock " + objects[0])
		return nil
	})
	r.env.OnActivity(a.Release, mockCtx).Return(func(context.Context) error {
		r.add("release")
		return nil
	})
	r.env.OnActivity(a.ReconcileQuorum, mockCtx, mockCtx).Return(func(_ context.Context, rd string) (apicall.RcList, error) {
		r.add("quorum " + rd)
		return apicall.RcList{{Message: "Tie breaker resource '" + rd + "' created on charlie"}}, nil
	})
	r.env.OnActivity(a.Holders, mockCtx, mockCtx).Return(holders, nil)
	r.env.OnActivity(a.ApplyNodeState, mockCtx, mockCtx).Return(func(_ context.Context, node string) error {
		if r.beforePush != nil {
			r.beforePush()
		}
		if r.pushErr != nil {
			if err := r.pushErr(node); err != nil {
				return err
			}
		}
		r.push(node)
		return nil
	})
	r.env.OnActivity(a.DeployReport, mockCtx, mockCtx).Return(func(context.Context, activities.DeployReportInput) (apicall.RcList, error) {
		r.add("report")
		return apicall.RcList{{Message: "deployed"}}, nil
	})
	return r
}

func (r *recorder) outcome(t *testing.T) []string {
	t.Helper()
	require.True(t, r.env.IsWorkflowCompleted())
	require.NoError(t, r.env.GetWorkflowError())
	var out Outcome
	require.NoError(t, r.env.GetWorkflowResult(&out))
	var msgs []string
	for _, rc := range out.Replies {
		msgs = append(msgs, rc.Message)
	}
	return msgs
}

// A toggle-disk takes the definition's lock, records the toggle, applies
// auto-quorum, pushes every node concerned and gives the lock back; its
// answer is every step's.
func TestToggleDiskRunsItsStepsUnderTheDefinitionsLock(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	in := activities.ToggleDiskInput{Resource: "data", Node: "alpha"}
	r.env.OnActivity(a.ToggleDisk, mockCtx, in).Return(func(context.Context, activities.ToggleDiskInput) (activities.Step, error) {
		r.add("toggle")
		return activities.Step{Replies: apicall.RcList{{Message: "Resource 'data' on node 'alpha' is now diskless."}}}, nil
	})
	r.env.ExecuteWorkflow(ToggleDisk, in)
	require.Equal(t, []string{"Resource 'data' on node 'alpha' is now diskless.", "Tie breaker resource 'data' created on charlie", "deployed"}, r.outcome(t))
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "toggle", "quorum data", "push alpha bravo", "report", "release"}, r.order)
}

// A make-available records the new or changed resource under the
// definition's lock, then quorum and the push follow, as for any change.
func TestMakeAvailableRunsItsStepsUnderTheDefinitionsLock(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	in := activities.MakeAvailableInput{Resource: "data", Node: "alpha"}
	r.env.OnActivity(a.MakeAvailable, mockCtx, in).Return(func(context.Context, activities.MakeAvailableInput) (activities.Step, error) {
		r.add("make available")
		return activities.Step{Replies: apicall.RcList{{Message: "New resource 'data' on node 'alpha' registered."}}, Nodes: []string{"alpha"}}, nil
	})
	r.env.ExecuteWorkflow(MakeAvailable, in)
	require.Equal(t, []string{"New resource 'data' on node 'alpha' registered.", "Tie breaker resource 'data' created on charlie", "deployed"}, r.outcome(t))
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "make available", "quorum data", "push alpha bravo", "report", "release"}, r.order)
}

// A refused step ends the operation: nothing follows it but the lock's
// release, and the refusal is the answer.
func TestARefusedStepEndsTheOperation(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	in := activities.ToggleDiskInput{Resource: "data", Node: "alpha"}
	refusal := apicall.Failure(apicall.FailInUse, apicall.MaskMod, apicall.MaskRsc, "Resource 'data' on node 'alpha' is its last diskful replica.", "", "")
	r.env.OnActivity(a.ToggleDisk, mockCtx, in).Return(activities.Step{Replies: refusal}, nil)
	r.env.ExecuteWorkflow(ToggleDisk, in)
	require.Equal(t, []string{"Resource 'data' on node 'alpha' is its last diskful replica."}, r.outcome(t))
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "release"}, r.order)
}

// An operation waits while another holds its lock.
func TestAnOperationWaitsForItsLock(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	attempts := 0
	env.OnActivity(a.TakeLocks, mockCtx, mockCtx).Return(func(context.Context, []string) error {
		if attempts++; attempts < 4 {
			return temporal.NewApplicationError("rd/DATA is locked by operation spawn/data", activities.LockedErrorType)
		}
		return nil
	})
	env.OnActivity(a.Release, mockCtx).Return(nil)
	env.OnActivity(a.MarkResourceDefinitionDeleting, mockCtx, "data").Return(activities.Step{Replies: apicall.RcList{{Message: "Resource definition 'data' deleted."}}}, nil)
	env.OnActivity(a.ReconcileQuorum, mockCtx, "data").Return(apicall.RcList{}, nil)
	env.OnActivity(a.Holders, mockCtx, "data").Return([]string{}, nil)
	env.ExecuteWorkflow(ResourceDefinitionDelete, "data")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 4, attempts)
}

// A spawn whose placement is refused takes its definition back, and
// answers with the refusal.
func TestSpawnTakesBackWhatPlacementRefused(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	in := SpawnInput{Definitions: activities.SpawnInput{Group: "rg", Resource: "data", SizesKib: []int64{1024}}, Placement: activities.AutoplaceInput{Resource: "data"}}
	r.env.OnActivity(a.SpawnDefinitions, mockCtx, in.Definitions).Return(activities.Step{Replies: apicall.RcList{{Message: "Resource definition 'data' created from resource group 'rg'."}}}, nil)
	refusal := apicall.Failure(apicall.FailNotEnoughNodes, apicall.MaskCrt, apicall.MaskRsc, "Not enough available nodes to place resource 'data'.", "", "")
	r.env.OnActivity(a.Autoplace, mockCtx, in.Placement).Return(activities.Step{Replies: refusal}, nil)
	r.env.OnActivity(a.TakeBackSpawn, mockCtx, "data").Return(func(context.Context, string) (activities.Step, error) {
		r.add("take back")
		return activities.Step{}, nil
	})
	r.env.ExecuteWorkflow(Spawn, in)
	require.Equal(t, []string{"Not enough available nodes to place resource 'data'."}, r.outcome(t), "the definition went again")
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "take back", "release"}, r.order)
}

// A node's delete brings the peers of each of its definitions up to
// date, pushing each peer once.
func TestNodeDeleteUpdatesThePeersOfItsResources(t *testing.T) {
	r := newRecorder(t)
	var a *activities.Activities
	in := activities.NodeDeleteInput{Node: "charlie", Lost: true}
	r.env.OnActivity(a.DeleteNode, mockCtx, in).Return(activities.Step{Replies: apicall.RcList{{Message: "Node 'charlie' deleted as lost, with its resources and storage pools."}}, Definitions: []string{"data", "logs"}}, nil)
	r.env.ExecuteWorkflow(NodeDelete, in)
	r.outcome(t)
	require.Equal(t, []string{"lock " + store.NodeLock("charlie"), "quorum data", "quorum logs", "push alpha bravo", "report", "report", "release"}, r.order,
		"each peer is pushed once, and each definition reported")
}
