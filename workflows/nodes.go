package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// NodeDelete deletes a node (or a lost one) with everything on it, then
// brings the peers of its resources up to date: auto-quorum for each
// definition, and every peer node's new state.
func NodeDelete(ctx workflow.Context, in activities.NodeDeleteInput) (Outcome, error) {
	o, err := begin(ctx, "deleting the node")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	return o.finish(func() error {
		if err := o.lock(store.NodeLock(in.Node)); err != nil {
			return err
		}
		s, ok, err := o.step("deleting the node", a.DeleteNode, in)
		if err != nil || !ok {
			return err
		}
		for _, rd := range s.Definitions {
			if err := o.quorum(rd); err != nil {
				return err
			}
			if err := o.deploy(rd, nil); err != nil {
				return err
			}
		}
		return nil
	}())
}
