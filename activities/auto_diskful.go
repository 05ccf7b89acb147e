package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"strata/apicall"
	"strata/store"
)

// AutoDiskfulNodes are the nodes holding a diskless DRBD resource whose
// DrbdOptions/auto-diskful is set: asked for their resources' states, so
// that a Primary shows.
func (a *Activities) AutoDiskfulNodes(ctx context.Context) ([]string, error) {
	cands, err := a.Store.AutoDiskfulCandidates(ctx)
	if err != nil {
		return nil, err
	}
	var nodes []string
	for _, c := range cands {
		if !slices.Contains(nodes, c.Node) {
			nodes = append(nodes, c.Node)
		}
	}
	slices.Sort(nodes)
	return nodes, nil
}

// AutoDiskfulDue are the diskless DRBD resources that have been in use
// (Primary) for their DrbdOptions/auto-diskful minutes, a minute lasting
// minute.
func (a *Activities) AutoDiskfulDue(ctx context.Context, minute time.Duration) ([]ResourceInput, error) {
	cands, err := a.Store.AutoDiskfulCandidates(ctx)
	if err != nil {
		return nil, err
	}
	var due []ResourceInput
	for _, c := range cands {
		if c.InUseSince != nil && time.Since(time.UnixMilli(*c.InUseSince)) >= time.Duration(c.Minutes)*minute {
			due = append(due, ResourceInput{Resource: c.Resource, Node: c.Node})
		}
	}
	return due, nil
}

// StartAutoDiskful gives a diskless resource that is still Primary its
// disk, in the pool the autoplacer picks on its node by the group's
// filter, with DiskfulBy auto-diskful. The step's nodes are empty when
// nothing was to be done.
func (a *Activities) StartAutoDiskful(ctx context.Context, in ResourceInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskMod, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
		def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		_, r, err := a.pair(ctx, in.Resource, in.Node, in.Node)
		if err != nil {
			return Step{}, err
		}
		if r == nil || !r.Flags.Has("DRBD_DISKLESS") || r.Flags.Has(store.FlagDelete) || !r.Used() {
			rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("Resource '%s' on node '%s' is not given a disk: it is no longer a diskless Primary.", in.Resource, in.Node))
			rc.ObjRefs = refs
			return Step{Replies: apicall.RcList{rc}}, nil
		}
		pool, refused, err := a.diskfulPool(ctx, def, MakeAvailableInput{Resource: in.Resource, Node: in.Node}, refs)
		if err != nil || refused != nil {
			return Step{Replies: refused}, err
		}
		row, err := a.Store.GiveDisk(ctx, in.Resource, in.Node, pool, store.DiskfulByAutoDiskful)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		holders, err := a.Holders(ctx, in.Resource)
		msg := fmt.Sprintf("Resource '%s' on node '%s' is given a disk in storage pool '%s': it has been Primary for %s minutes.", in.Resource, in.Node, pool, store.KeyAutoDiskful)
		return Step{Replies: apicall.Success(apicall.Modified, op, obj, msg, row.UUID, refs), Nodes: holders}, err
	})
}

// CleanupAfterAutoDiskful deletes one replica beyond the group's place
// count once the auto-diskful resource of a node is UpToDate, as
// store.ExcessReplica chooses it. The step's nodes are empty when none
// went.
func (a *Activities) CleanupAfterAutoDiskful(ctx context.Context, in ResourceInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskDel, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
		def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		f, err := a.selectFilter(ctx, def, store.SelectFilter{})
		if err != nil {
			return Step{}, err
		}
		_, placeCount := f.Placement()
		victim, excess, err := a.Store.ExcessReplica(ctx, in.Resource, in.Node, placeCount)
		switch {
		case err != nil || !excess:
			return Step{}, err
		case victim == "":
			rc := apicall.NewRc(apicall.MaskInfo, op, obj, "Could not find resource to automatically cleanup after auto-diskful.")
			rc.ObjRefs = refs
			return Step{Replies: apicall.RcList{rc}}, nil
		}
		holders, err := a.Holders(ctx, in.Resource)
		if err != nil {
			return Step{}, err
		}
		row, _, err := a.Store.MarkResourceDeleting(ctx, in.Resource, victim)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		msg := fmt.Sprintf("Deleting excess resource '%s' on node '%s' after auto-diskful of resource '%s' on node '%s'.", in.Resource, victim, in.Resource, in.Node)
		return Step{Replies: apicall.Success(apicall.Deleted, op, obj, msg, row.UUID, map[string]string{"RscDfn": in.Resource, "Node": victim}), Nodes: holders}, nil
	})
}
