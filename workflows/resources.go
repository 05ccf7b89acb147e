package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// ToggleDisk gives a resource a disk or takes it away, then applies
// auto-quorum and deploys the change.
func ToggleDisk(ctx workflow.Context, in activities.ToggleDiskInput) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, in.Resource, "toggling the disk", a.ToggleDisk, in)
}

// Activate activates or deactivates a resource and deploys the change.
func Activate(ctx workflow.Context, in activities.ActivateInput) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, in.Resource, "activating", a.SetResourceActive, in)
}

// MakeAvailable makes a definition usable on a node (LINSTOR's
// make-available, how linstor-csi attaches a volume), then applies
// auto-quorum and deploys.
func MakeAvailable(ctx workflow.Context, in activities.MakeAvailableInput) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, in.Resource, "making the resource available", a.MakeAvailable, in)
}

// ResourceCreate creates resources of a definition on the nodes named,
// then applies auto-quorum and deploys them.
func ResourceCreate(ctx workflow.Context, in activities.CreateResourcesInput) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, in.Resource, "creating resources", a.CreateResources, in)
}

// ResourceDelete removes a resource from its node: it is marked,
// auto-quorum is applied, and its node and peers get their new state;
// its rows go once its node no longer has it.
func ResourceDelete(ctx workflow.Context, in activities.ResourceInput) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, in.Resource, "deleting the resource", a.MarkResourceDeleting, in)
}

// ResourceDefinitionDelete removes a definition from every node and then
// from the database.
func ResourceDefinitionDelete(ctx workflow.Context, rd string) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, rd, "deleting the resource definition", a.MarkResourceDefinitionDeleting, rd)
}

// changeResources is the shape of every operation on one definition's
// resources: under the definition's lock, the step records the request,
// auto-quorum follows, and every node concerned gets its new state.
func changeResources(ctx workflow.Context, rd, state string, step, input any) (Outcome, error) {
	return locked(ctx, state, []string{store.ResourceDefinitionLock(rd)}, func(o *operation) error {
		return o.change(rd, state, step, input)
	})
}

// change runs a step that records a change of rd's resources (nothing
// more when it refuses), applies auto-quorum and deploys the change.
func (o *operation) change(rd, state string, step, input any) error {
	s, ok, err := o.step(state, step, input)
	if err != nil || !ok {
		return err
	}
	if err := o.quorum(rd); err != nil {
		return err
	}
	return o.deploy(s.Nodes, rd)
}
