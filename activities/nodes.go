package activities

import (
	"context"
	"fmt"

	"strata/apicall"
	"strata/store"
)

// NodeDeleteInput names a node to delete; Lost is node lost (an
// unrecoverable node), which words the answer differently.
type NodeDeleteInput struct {
	Node string
	Lost bool
}

// DeleteNode records a node's delete, with everything on it: interfaces,
// storage pools, resources and connections. The step's definitions are
// those that had a resource on it; their peers must learn of it.
func (a *Activities) DeleteNode(ctx context.Context, in NodeDeleteInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskDel, apicall.MaskNode
		refs := map[string]string{"Node": in.Node}
		held, err := a.Store.ListResources(ctx, store.ResourceFilter{Nodes: []string{in.Node}})
		if err != nil {
			return Step{}, err
		}
		if n, err := a.Store.GetNode(ctx, in.Node); err == nil && n.Flags.Has(store.FlagEvicted) && !in.Lost {
			return Step{Replies: apicall.Failure(apicall.FailInUse, op, obj, fmt.Sprintf("Node '%s' is evicted and cannot be deleted.", n.NodeDspName),
				"An evicted node's resources were replaced elsewhere.", "Restore it (node restore), or remove it with node lost.")}, nil
		}
		row, err := a.Store.DeleteNode(ctx, in.Node)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		msg := fmt.Sprintf("Node '%s' deleted.", row.NodeDspName)
		if in.Lost {
			msg = fmt.Sprintf("Node '%s' deleted as lost, with its resources and storage pools.", row.NodeDspName)
		}
		s := Step{Replies: apicall.Success(apicall.Deleted, op, obj, msg, row.UUID, refs)}
		for _, r := range held {
			s.Definitions = append(s.Definitions, r.ResourceDspName)
		}
		return s, nil
	})
}
