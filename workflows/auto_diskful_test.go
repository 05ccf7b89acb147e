package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// An auto-diskful gives the disk under the definition's lock, waits for
// it to be UpToDate without the lock (asking only its node), and then
// removes an excess replica under the lock again; one with nothing to do
// ends after its first step.
func TestAutoDiskfulSyncsThenRemovesAnExcessReplica(t *testing.T) {
	for _, nothing := range []bool{false, true} {
		r := newRecorder(t, "alpha", "bravo", "charlie")
		var a *activities.Activities
		in := activities.ResourceInput{Resource: "data", Node: "charlie"}
		given := activities.Step{Replies: apicall.RcList{{Message: "Resource 'data' on node 'charlie' is given a disk"}}, Nodes: []string{"alpha", "bravo", "charlie"}}
		if nothing {
			given = activities.Step{Replies: apicall.RcList{{Message: "Resource 'data' on node 'charlie' is not given a disk: it is no longer a diskless Primary."}}}
		}
		r.env.OnActivity(a.StartAutoDiskful, mockCtx, in).Return(func(context.Context, activities.ResourceInput) (activities.Step, error) {
			r.add("give charlie a disk")
			return given, nil
		})
		polls := 0
		r.env.OnActivity(a.MigrationState, mockCtx, activities.MigrationInput{Resource: "data", To: "charlie"}).Return(func(context.Context, activities.MigrationInput) (activities.Migration, error) {
			polls++
			r.add("UpToDate?")
			return activities.Migration{Done: polls == 2}, nil
		})
		r.env.OnActivity(a.CleanupAfterAutoDiskful, mockCtx, in).Return(func(context.Context, activities.ResourceInput) (activities.Step, error) {
			r.add("remove alpha's")
			return activities.Step{Replies: apicall.RcList{{Message: "Deleting excess resource 'data' on node 'alpha' after auto-diskful of resource 'data' on node 'charlie'."}},
				Nodes: []string{"alpha", "bravo", "charlie"}}, nil
		})
		r.env.ExecuteWorkflow(AutoDiskful, in)
		msgs := r.outcome(t)
		var steps []string
		for _, s := range r.order {
			if !slices.Contains([]string{"report", "quorum", "push"}, firstWord(s)) {
				steps = append(steps, s)
			}
		}
		lock := "lock " + store.ResourceDefinitionLock("data")
		if nothing {
			require.Equal(t, []string{lock, "give charlie a disk", "release"}, steps)
			require.Len(t, msgs, 1)
			continue
		}
		require.Equal(t, []string{lock, "give charlie a disk", "release", "UpToDate?", "UpToDate?", lock, "remove alpha's", "release"}, steps,
			"the lock is not held while the disk syncs")
		first, last := slices.Index(r.order, "UpToDate?"), slices.Index(r.order, "remove alpha's")
		require.Equal(t, []string{"push charlie"}, slices.DeleteFunc(slices.Clone(r.order[slices.Index(r.order, "release")+1:first]), func(s string) bool { return firstWord(s) != "push" }),
			"only its node is asked while it syncs")
		require.Less(t, first, last)
		require.Contains(t, msgs, "Deleting excess resource 'data' on node 'alpha' after auto-diskful of resource 'data' on node 'charlie'.")
	}
}

// The watch asks the nodes of the auto-diskful candidates for their
// states every minute, starts one AutoDiskful per resource that is due
// at that look, and continues as new after its looks.
func TestAutoDiskfulWatchStartsOneOperationPerDueResource(t *testing.T) {
	r := newRecorder(t, "alpha", "bravo", "charlie")
	var a *activities.Activities
	r.env.OnActivity(a.AutoDiskfulNodes, mockCtx).Return([]string{"charlie"}, nil)
	looks := 0
	r.env.OnActivity(a.AutoDiskfulDue, mockCtx, time.Minute).Return(func(context.Context, time.Duration) ([]activities.ResourceInput, error) {
		looks++
		r.add("look")
		if looks < 3 {
			return nil, nil
		}
		return []activities.ResourceInput{{Resource: "data", Node: "charlie"}}, nil
	})
	started := 0
	r.env.OnWorkflow(AutoDiskful, mockCtx, activities.ResourceInput{Resource: "data", Node: "charlie"}).Return(func(_ workflow.Context, _ activities.ResourceInput) (Outcome, error) {
		started++
		return Outcome{}, nil
	})
	r.env.ExecuteWorkflow(AutoDiskfulWatch, AutoDiskfulWatchInput{Minute: time.Minute})
	require.True(t, r.env.IsWorkflowCompleted())
	require.True(t, workflow.IsContinueAsNewError(r.env.GetWorkflowError()), "%v", r.env.GetWorkflowError())
	require.Equal(t, autoDiskfulLooks, looks)
	require.Equal(t, autoDiskfulLooks-2, started, "each look that finds it due starts it, one at a time")
	pushes := slices.DeleteFunc(slices.Clone(r.order), func(s string) bool { return s != "push charlie" })
	require.Len(t, pushes, autoDiskfulLooks, "the candidates' node is asked at each look")
}
