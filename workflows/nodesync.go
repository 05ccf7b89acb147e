package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
)

// NodeSync sends a node's agent the node's whole desired state and
// records what it reports; it runs when the agent connects and when the
// node is reconnected. A node that does not answer is retried.
func NodeSync(ctx workflow.Context, node string) (Outcome, error) {
	status := Status{State: "sending the node its state"}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return status, nil }); err != nil {
		return Outcome{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    5 * activities.HeartbeatInterval,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 20},
	})
	var a *activities.Activities
	if err := workflow.ExecuteActivity(ctx, a.ReconcileNodeQuorum, node).Get(ctx, nil); err != nil {
		// The push matters more; quorum catches up at the next change.
		workflow.GetLogger(ctx).Warn("auto-quorum of the node's resources failed", "node", node, "error", err)
	}
	if err := workflow.ExecuteActivity(ctx, a.ApplyNodeState, node).Get(ctx, nil); err != nil {
		status.State = "failed"
		return Outcome{}, err
	}
	status = Status{State: "done", Percent: 100}
	rc := apicall.NewRc(apicall.Modified, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Node '%s' was sent its whole state.", node))
	rc.ObjRefs = map[string]string{"Node": node}
	return Outcome{Replies: apicall.RcList{rc}.At(workflow.Now(ctx))}, nil
}
