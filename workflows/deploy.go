package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
)

// DeployInput names the nodes whose agents must get their new state
// after a change to a resource.
type DeployInput struct {
	Resource string
	Nodes    []string
}

// DeployResult says which nodes could not be brought to their state, and
// why; they get it when their agent comes back (NodeSync).
type DeployResult struct {
	Failed map[string]string `json:"failed,omitempty"`
}

// DeployWorkflowID names one deployment of a change to a resource.
func DeployWorkflowID(resource, change string) string { return "deploy-" + resource + "-" + change }

// Deploy sends every affected node its whole desired state, all at once,
// and waits for them. Each agent reports what it made, and the activity
// records it; resources marked for deletion are forgotten once their
// node no longer has them. A node whose agent does not answer is retried
// for a while and then reported.
func Deploy(ctx workflow.Context, in DeployInput) (DeployResult, error) {
	status := Status{State: fmt.Sprintf("deploying %s on %d nodes", in.Resource, len(in.Nodes))}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return status, nil }); err != nil {
		return DeployResult{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    5 * activities.HeartbeatInterval,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 6},
	})
	var a *activities.Activities
	futures := make(map[string]workflow.Future, len(in.Nodes))
	for _, n := range in.Nodes {
		futures[n] = workflow.ExecuteActivity(ctx, a.ApplyNodeState, n)
	}
	nodes := append([]string(nil), in.Nodes...)
	sort.Strings(nodes) // map order must not reach workflow history
	res := DeployResult{}
	for i, n := range nodes {
		if err := futures[n].Get(ctx, nil); err != nil {
			if res.Failed == nil {
				res.Failed = map[string]string{}
			}
			res.Failed[n] = cause(err)
		}
		status.Percent = 100 * (i + 1) / len(nodes)
	}
	status.State = "done"
	return res, nil
}

// cause is an activity's own error message, without the activity
// wrapping.
func cause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}
