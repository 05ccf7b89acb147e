package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// Autoplace places the replicas a definition still needs, applies
// auto-quorum and deploys them.
func Autoplace(ctx workflow.Context, in activities.AutoplaceInput) (Outcome, error) {
	var a *activities.Activities
	return changeResources(ctx, in.Resource, "placing", a.Autoplace, in)
}

// SpawnInput is a resource-group spawn: the definitions, and the
// placement of their resources unless DefinitionsOnly.
type SpawnInput struct {
	Definitions     activities.SpawnInput
	Placement       activities.AutoplaceInput
	DefinitionsOnly bool
}

// Spawn creates a definition from a resource group, places it as the
// group's filter says (overridden by the request's), applies auto-quorum
// and deploys. When placement refuses, or on a dry run, the definition is
// taken back, so that a failed spawn changes nothing.
func Spawn(ctx workflow.Context, in SpawnInput) (Outcome, error) {
	rd := in.Definitions.Resource
	var a *activities.Activities
	return locked(ctx, "creating the definitions", []string{store.ResourceDefinitionLock(rd)}, func(o *operation) error {
		if _, ok, err := o.step("creating the definitions", a.SpawnDefinitions, in.Definitions); err != nil || !ok || in.DefinitionsOnly {
			return err
		}
		s, ok, err := o.step("placing", a.Autoplace, in.Placement)
		if err != nil {
			return err
		}
		if !ok || in.Placement.DryRun {
			// The definitions go again: the answer is the placement's.
			o.out = s.Replies
			_, _, err := o.step("taking the definition back", a.TakeBackSpawn, rd)
			return err
		}
		if err := o.quorum(rd); err != nil {
			return err
		}
		return o.deploy(s.Nodes, rd)
	})
}
