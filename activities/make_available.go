package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"strata/apicall"
	"strata/placement"
	"strata/store"
)

// MakeAvailableInput is LINSTOR's make-available: the definition is to be
// usable on the node, diskful if asked.
type MakeAvailableInput struct {
	Resource, Node string
	Diskful        bool
	LayerList      []string
}

// MakeAvailable records what makes a definition usable on a node, as
// LINSTOR decides it: an existing resource is activated, given a disk if
// asked, or kept as a wanted diskless one (no longer a tie-breaker that
// auto-quorum may take away); a new one is DRBD diskless where the
// definition has DRBD and a diskful peer and no disk is asked for, and
// otherwise diskful in the pool the autoplacer picks on that node.
func (a *Activities) MakeAvailable(ctx context.Context, in MakeAvailableInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
		def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		node, err := a.Store.GetNode(ctx, in.Node)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		stack := def.LayerStack.List()
		if len(in.LayerList) > 0 {
			if len(stack) > 0 && !slices.Equal(in.LayerList, stack) {
				return Step{Replies: apicall.Failure(apicall.FailInvldLayerStack, op, obj, "Layerstack of deployed resource does not match", "", "")}, nil
			}
			stack = in.LayerList
		}
		drbd := slices.Contains(stack, "DRBD") || len(stack) == 0 && node.Serves("DRBD")
		rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{in.Resource}})
		if err != nil {
			return Step{}, err
		}
		var here *store.Resource
		diskfulPeer := false
		for i, r := range rscs {
			switch {
			case r.NodeName == store.Key(in.Node):
				here = &rscs[i]
			case !store.Diskless(r.Flags) && !r.Flags.Has(store.FlagDelete):
				diskfulPeer = true
			}
		}
		if here != nil {
			return a.available(ctx, def, *here, in, refs)
		}
		if drbd && !in.Diskful && diskfulPeer {
			in := CreateResourcesInput{Resource: in.Resource, Specs: []store.ResourceSpec{{Node: in.Node, Flags: store.NewFlags("DRBD_DISKLESS")}}}
			return a.createResources(ctx, in)
		}
		s, err := a.place(ctx, AutoplaceInput{Resource: in.Resource, Filter: onNode(in)})
		if err == nil && len(s.Replies) > 0 && uint64(s.Replies[0].RetCode)&(apicall.MaskError|apicall.MaskCode) == apicall.FailNotEnoughNodes {
			s.Replies = noPoolOnNode(node.NodeDspName, s.Replies[0].Cause, s.Replies[0].Details, refs)
		}
		return s, err
	})
}

// onNode is the auto-select filter of one more replica on the node.
func onNode(in MakeAvailableInput) store.SelectFilter {
	return store.SelectFilter{NodeNameList: []string{in.Node}, AdditionalPlaceCount: 1, LayerStack: in.LayerList}
}

// noPoolOnNode is LINSTOR's answer when the node has no pool for a disk:
// a not-found, on which linstor-csi falls back to a diskless resource.
func noPoolOnNode(node, cause, details string, refs map[string]string) apicall.RcList {
	l := apicall.Failure(apicall.FailNotFound+10, apicall.MaskCrt, apicall.MaskRsc,
		fmt.Sprintf("Autoplacer could not find diskful stor pool on node %s matching resource-groups autoplace-settings", node), cause, "")
	l[0].Details, l[0].ObjRefs = details, refs
	return l
}

// diskfulPool is the pool the autoplacer picks for a disk on the node
// that holds a diskless resource of def; "" with the refusal when there
// is none.
func (a *Activities) diskfulPool(ctx context.Context, def store.ResourceDefinition, in MakeAvailableInput, refs map[string]string) (string, apicall.RcList, error) {
	f, err := a.selectFilter(ctx, def, onNode(in))
	if err != nil {
		return "", nil, err
	}
	view, err := a.Store.PlacementView(ctx)
	if err != nil {
		return "", nil, err
	}
	req := view.PlacementRequest(def, f)
	req.Held = slices.DeleteFunc(req.Held, func(n string) bool { return store.Key(n) == store.Key(in.Node) }) // its own diskless replica
	d, err := placement.Place(view.Cluster, req)
	var perr *placement.Error
	switch {
	case errors.As(err, &perr):
		l := NotEnoughNodes(perr, def.ResourceDspName, apicall.MaskCrt, apicall.MaskRsc)
		return "", noPoolOnNode(in.Node, l[0].Cause, l[0].Details, refs), nil
	case err != nil:
		return "", nil, err
	case len(d.Pools) == 0:
		return "", noPoolOnNode(in.Node, "", "", refs), nil
	}
	return d.Pools[0].Name, nil, nil
}

// available makes an existing resource what make-available asks.
func (a *Activities) available(ctx context.Context, def store.ResourceDefinition, r store.Resource, in MakeAvailableInput, refs map[string]string) (Step, error) {
	const op, obj = apicall.MaskMod, apicall.MaskRsc
	var (
		row   store.ResourceRow
		err   error
		reply string
	)
	switch {
	case r.Flags.Has(store.FlagDelete):
		return Step{Replies: apicall.Failure(apicall.FailInvldRequest, op, obj, fmt.Sprintf("Resource '%s' on node '%s' is being deleted.", r.ResourceDspName, r.NodeDspName),
			"", "Make it available again once the delete is done.")}, nil
	case r.Flags.Has(store.FlagInactive):
		row, err = a.Store.SetResourceActive(ctx, in.Resource, in.Node, true)
		reply = fmt.Sprintf("Resource '%s' on node '%s' activated.", r.ResourceDspName, r.NodeDspName)
	case in.Diskful && store.Diskless(r.Flags):
		pool, refused, perr := a.diskfulPool(ctx, def, in, refs)
		if perr != nil || refused != nil {
			return Step{Replies: refused}, perr
		}
		row, err = a.Store.GiveDisk(ctx, in.Resource, in.Node, pool, store.DiskfulByMakeAvailable)
		reply = fmt.Sprintf("Resource '%s' on node '%s' is now diskful.", r.ResourceDspName, r.NodeDspName)
	case r.Flags.Has(store.FlagTieBreaker):
		row, err = a.Store.KeepDiskless(ctx, in.Resource, in.Node)
		reply = fmt.Sprintf("Resource '%s' on node '%s' is no longer a tie-breaker: it stays as a diskless resource.", r.ResourceDspName, r.NodeDspName)
	default:
		rc := apicall.NewRc(0, op, obj, "Resource already deployed as requested")
		rc.ObjRefs = refs
		return Step{Replies: apicall.RcList{rc}}, nil
	}
	if err != nil {
		return refusal(err, op, obj, refs)
	}
	return Step{Replies: apicall.Success(apicall.Modified, op, obj, reply, row.UUID, refs), Nodes: []string{r.NodeDspName}}, nil
}
