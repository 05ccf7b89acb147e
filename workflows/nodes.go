package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// NodeDelete deletes a node (or a lost one) with everything on it, then
// brings the peers of its resources up to date: auto-quorum for each
// definition, then every peer node's new state, once per node.
func NodeDelete(ctx workflow.Context, in activities.NodeDeleteInput) (Outcome, error) {
	var a *activities.Activities
	return locked(ctx, "deleting the node", []string{store.NodeLock(in.Node)}, func(o *operation) error {
		s, ok, err := o.step("deleting the node", a.DeleteNode, in)
		if err != nil || !ok {
			return err
		}
		for _, rd := range s.Definitions {
			if err := o.quorum(rd); err != nil {
				return err
			}
		}
		return o.deploy(nil, s.Definitions...)
	})
}
