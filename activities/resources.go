package activities

import (
	"context"
	"fmt"

	"strata/apicall"
	"strata/store"
)

// ToggleDiskInput names the resource whose disk is given or taken, and
// the pool to toggle into ("" for the guide's lookup).
type ToggleDiskInput struct {
	Resource, Node string
	Diskful        bool
	Pool           string
}

// ToggleDisk records a toggle-disk: the resource gets a disk, or loses it.
func (a *Activities) ToggleDisk(ctx context.Context, in ToggleDiskInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskMod, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
		row, err := a.Store.ToggleDisk(ctx, in.Resource, in.Node, in.Diskful, in.Pool)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		word := map[bool]string{true: "diskful", false: "diskless"}[in.Diskful]
		return Step{Replies: apicall.Success(apicall.Modified, op, obj, fmt.Sprintf("Resource '%s' on node '%s' is now %s.", in.Resource, in.Node, word), row.UUID, refs)}, nil
	})
}

// ActivateInput names the resource to activate or deactivate.
type ActivateInput struct {
	Resource, Node string
	Active         bool
}

// SetResourceActive records an activate or deactivate.
func (a *Activities) SetResourceActive(ctx context.Context, in ActivateInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskMod, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
		row, err := a.Store.SetResourceActive(ctx, in.Resource, in.Node, in.Active)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		word := map[bool]string{true: "activated", false: "deactivated"}[in.Active]
		return Step{Replies: apicall.Success(apicall.Modified, op, obj, fmt.Sprintf("Resource '%s' on node '%s' %s.", in.Resource, in.Node, word), row.UUID, refs)}, nil
	})
}

// CreateResourcesInput names resources to create on given nodes.
type CreateResourcesInput struct {
	Resource string
	Specs    []store.ResourceSpec
}

// CreateResources records resources of one definition on nodes, all or
// none.
func (a *Activities) CreateResources(ctx context.Context, in CreateResourcesInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) { return a.createResources(ctx, in) })
}

// createResources is CreateResources' step.
func (a *Activities) createResources(ctx context.Context, in CreateResourcesInput) (Step, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRsc
	rows, err := a.Store.CreateResources(ctx, in.Resource, in.Specs)
	if err != nil {
		return refusal(err, op, obj, map[string]string{"RscDfn": in.Resource})
	}
	var s Step
	for i, row := range rows {
		node := in.Specs[i].Node
		s.Replies = append(s.Replies, apicall.Success(apicall.Created, op, obj, fmt.Sprintf("New resource '%s' on node '%s' registered.", in.Resource, node), row.UUID,
			map[string]string{"RscDfn": in.Resource, "Node": node})...)
		s.Nodes = append(s.Nodes, node)
	}
	return s, nil
}

// ResourceInput names one resource.
type ResourceInput struct{ Resource, Node string }

// MarkResourceDeleting records a resource delete: the resource is flagged,
// and its rows go once its node no longer has it (at once, if it never
// reached it). The step's nodes are those that held the definition
// before, so that the node being left gets its state too.
func (a *Activities) MarkResourceDeleting(ctx context.Context, in ResourceInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) { return a.markResourceDeleting(ctx, in) })
}

// markResourceDeleting is MarkResourceDeleting's step.
func (a *Activities) markResourceDeleting(ctx context.Context, in ResourceInput) (Step, error) {
	const op, obj = apicall.MaskDel, apicall.MaskRsc
	refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
	nodes, err := a.Holders(ctx, in.Resource)
	if err != nil {
		return Step{}, err
	}
	row, _, err := a.Store.MarkResourceDeleting(ctx, in.Resource, in.Node)
	if err != nil {
		return refusal(err, op, obj, refs)
	}
	return Step{Replies: apicall.Success(apicall.Deleted, op, obj, fmt.Sprintf("Resource '%s' on node '%s' deleted.", in.Resource, in.Node), row.UUID, refs), Nodes: nodes}, nil
}

// MarkResourceDefinitionDeleting records a resource definition delete:
// its resources are flagged, their nodes must remove them, and the rows
// go once they did (at once for resources that never reached a node).
func (a *Activities) MarkResourceDefinitionDeleting(ctx context.Context, rd string) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskDel, apicall.MaskRscDfn
		refs := map[string]string{"RscDfn": rd}
		row, nodes, err := a.Store.MarkResourceDefinitionDeleting(ctx, rd)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		return Step{Replies: apicall.Success(apicall.Deleted, op, obj, fmt.Sprintf("Resource definition '%s' deleted.", row.ResourceDspName), row.UUID, refs), Nodes: nodes}, nil
	})
}

// Holders are the display names of the nodes holding rd.
func (a *Activities) Holders(ctx context.Context, rd string) ([]string, error) {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{rd}})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rscs))
	for i, r := range rscs {
		out[i] = r.NodeDspName
	}
	return out, nil
}
