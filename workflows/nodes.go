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

// NodeRestore ends a node's evacuation or eviction (LINSTOR's node
// restore): a running evacuation of it stops, its flags go, the resources
// the request deletes are marked, and the peers of its resources are
// brought up to date.
func NodeRestore(ctx workflow.Context, in activities.RestoreNodeInput) (Outcome, error) {
	var a *activities.Activities
	return locked(ctx, "restoring the node", []string{store.NodeLock(in.Node)}, func(o *operation) error {
		if err := workflow.ExecuteLocalActivity(o.ctx, a.StopEvacuation, in.Node, NodeEvacuateID(in.Node)).Get(o.ctx, nil); err != nil {
			return err
		}
		s, ok, err := o.step("restoring the node", a.RestoreNode, in)
		if err != nil || !ok {
			return err
		}
		for _, rd := range s.Definitions {
			if err := o.quorum(rd); err != nil {
				return err
			}
		}
		return o.deploy(s.Nodes, s.Definitions...)
	})
}
