package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
)

// SOSReportID is the workflow of the SOS report named name.
func SOSReportID(name string) string { return "sos-report:" + name }

// SOSResult is where a report is and which nodes it covers.
type SOSResult struct {
	Path  string   `json:"path"`
	Nodes []string `json:"nodes"`
}

// SOSReport builds an SOS report (linstor sos-report create): the
// controller's part and every selected node's, collected in parallel,
// then packed into one tarball on the controller.
func SOSReport(ctx workflow.Context, in activities.SOSRequest) (SOSResult, error) {
	status := Status{State: "selecting nodes"}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return status, nil }); err != nil {
		return SOSResult{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var a *activities.Activities
	var nodes []string
	if err := workflow.ExecuteActivity(ctx, a.SOSNodes, in).Get(ctx, &nodes); err != nil {
		return SOSResult{}, err
	}
	parts := make([]workflow.Future, 0, len(nodes)+1)
	if in.IncludeController {
		parts = append(parts, workflow.ExecuteActivity(ctx, a.SOSController, in))
	}
	for _, n := range nodes {
		parts = append(parts, workflow.ExecuteActivity(ctx, a.SOSNode, activities.SOSPart{Name: in.Name, Node: n}))
	}
	for i, f := range parts {
		status = Status{State: fmt.Sprintf("collecting (%d of %d parts)", i, len(parts)), Percent: 90 * i / len(parts)}
		if err := f.Get(ctx, nil); err != nil {
			return SOSResult{}, err
		}
	}
	status = Status{State: "packing", Percent: 90}
	var path string
	if err := workflow.ExecuteActivity(ctx, a.SOSPack, in.Name).Get(ctx, &path); err != nil {
		return SOSResult{}, err
	}
	status = Status{State: "done", Percent: 100}
	return SOSResult{Path: path, Nodes: nodes}, nil
}
