package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"strata/apicall"
	"strata/placement"
	"strata/store"
)

// EvacuateInput is node evacuate: every replica leaves the node, to the
// Target nodes if given, never to DoNotTarget.
type EvacuateInput struct {
	Node        string
	Target      []string `json:",omitempty"`
	DoNotTarget []string `json:",omitempty"`
}

// RecordEvacuation flags the node and its resources EVACUATE; the step's
// definitions are those with a resource to move.
func (a *Activities) RecordEvacuation(ctx context.Context, in EvacuateInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskMod, apicall.MaskNode
		refs := map[string]string{"Node": in.Node}
		for _, n := range slices.Concat(in.Target, in.DoNotTarget) {
			if _, err := a.Store.GetNode(ctx, n); err != nil {
				return refusal(err, op, obj, map[string]string{"Node": n})
			}
		}
		row, rds, err := a.Store.EvacuateNode(ctx, in.Node)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		rc := apicall.NewRc(apicall.Modified, op, obj, fmt.Sprintf("Node '%s' is being evacuated: %d resources to move.", row.NodeDspName, len(rds)))
		rc.ObjRefs = refs
		return Step{Replies: apicall.RcList{rc}, Definitions: rds}, nil
	})
}

// MoveInput is one resource to move off an evacuated node.
type MoveInput struct {
	EvacuateInput
	Resource string
}

// What an evacuation does with one resource.
const (
	// MoveNone: nothing (gone, or it cannot move; the step says why).
	MoveNone = ""
	// MoveDelete: it is not needed there; it was deleted at once.
	MoveDelete = "delete"
	// MoveSync: DRBD replicates it to its new replica, then it goes.
	MoveSync = "sync"
	// MoveCopy: storage only; Strata copies its data to the new node.
	MoveCopy = "copy"
)

// Move is what an evacuation does with one resource: the replica that
// replaces it (node To, pool Pool) and, for a copy, its volumes.
type Move struct {
	Step
	Kind     string
	To, Pool string
	Volumes  []MovedVolume `json:",omitempty"`
}

// MovedVolume is a volume whose data an evacuation copies, from its pool
// on the evacuated node.
type MovedVolume struct {
	VlmNr    int32
	FromPool string
}

// PlanMove decides, as LINSTOR's evacuation does, what happens to a
// resource of an evacuated node, and records the replica that replaces
// it. The decision is kept; run again after a crash that lost it, it
// finds the replacement it recorded (MigrateFrom).
func (a *Activities) PlanMove(ctx context.Context, in MoveInput) (Move, error) {
	return kept(ctx, a.Store, func(ctx context.Context, _, _ string) (Move, error) { return a.planMove(ctx, in) })
}

func (a *Activities) planMove(ctx context.Context, in MoveInput) (Move, error) {
	const op, obj = apicall.MaskMod, apicall.MaskRsc
	refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
	def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
	if _, ok := store.AsError(err); ok {
		return Move{}, nil // deleted meanwhile
	} else if err != nil {
		return Move{}, err
	}
	node, err := a.Store.GetNode(ctx, in.Node)
	if err != nil {
		return Move{}, err
	}
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{in.Resource}})
	if err != nil {
		return Move{}, err
	}
	var here *store.Resource
	for i, r := range rscs {
		if r.NodeName == node.NodeName {
			here = &rscs[i]
		}
	}
	if here == nil || here.Flags.Has(store.FlagDelete) {
		return Move{}, nil
	}
	for _, r := range rscs {
		if strings.EqualFold(r.Props[store.KeyMigrateFrom], node.NodeDspName) && !r.Flags.Has(store.FlagDelete) {
			return Move{Kind: MoveSync, To: r.NodeDspName}, nil // recorded before
		}
	}
	stack := def.LayerStack.List()
	drbd := slices.Contains(stack, "DRBD") || len(stack) == 0 && node.Serves("DRBD")
	if store.Diskless(here.Flags) || drbd && a.notNeeded(ctx, def, *here, rscs) {
		return a.deleteAtOnce(ctx, in, refs)
	}
	f, err := a.selectFilter(ctx, def, store.SelectFilter{NodeNameList: in.Target})
	if err != nil {
		return Move{}, err
	}
	if drbd {
		if m, ok, err := a.toggleDisklessPeer(ctx, def, in, rscs, f); err != nil || ok {
			return m, err
		}
	} else if !a.canSnapshot(ctx, *here) {
		return Move{Step: Step{Replies: notEvacuating(def.ResourceDspName, "it is not a DRBD resource", refs)}}, nil
	}
	pool, err := a.replacement(ctx, def, in, f)
	if err != nil || pool.Name == "" {
		return Move{Step: Step{Replies: notEvacuating(def.ResourceDspName, "no available storage pool was found", refs)}}, err
	}
	if !drbd {
		m := Move{Kind: MoveCopy, To: pool.Node, Pool: pool.Name}
		for _, v := range here.Volumes {
			m.Volumes = append(m.Volumes, MovedVolume{VlmNr: v.VlmNr, FromPool: v.StorPoolDspName})
		}
		rc := apicall.NewRc(apicall.Modified, op, obj, fmt.Sprintf("The data of resource '%s' is copied from node '%s' to node '%s'.", def.ResourceDspName, node.NodeDspName, pool.Node))
		rc.ObjRefs = refs
		m.Replies = apicall.RcList{rc}
		return m, nil
	}
	return a.migrate(ctx, store.MigrationSpec{Resource: in.Resource, From: in.Node, To: pool.Node, Pool: pool.Name}, refs)
}

// notNeeded tells whether a DRBD resource adds nothing the definition
// lacks: its data is not UpToDate (as its node last said), or enough
// UpToDate replicas are elsewhere (the group's place count). A resource
// whose state was never reported is needed.
func (a *Activities) notNeeded(ctx context.Context, def store.ResourceDefinition, here store.Resource, rscs []store.Resource) bool {
	if state := diskState(here); state != "" && state != "UpToDate" {
		return true
	}
	f, err := a.selectFilter(ctx, def, store.SelectFilter{})
	if err != nil {
		return false
	}
	_, want := f.Placement()
	upToDate := 0
	for _, r := range rscs {
		if r.NodeName == here.NodeName || store.Diskless(r.Flags) || slices.ContainsFunc([]string{store.FlagDelete, store.FlagEvacuate, store.FlagInactive}, r.Flags.Has) {
			continue
		}
		if diskState(r) == "UpToDate" {
			upToDate++
		}
	}
	return upToDate >= want
}

// diskState is a resource's disk state: UpToDate when all its volumes
// are, else the first other state reported, "" when none was.
func diskState(r store.Resource) string {
	state := ""
	for _, v := range r.Volumes {
		switch {
		case v.DiskState == "":
			return ""
		case v.DiskState != "UpToDate":
			return v.DiskState
		}
		state = v.DiskState
	}
	return state
}

// deleteAtOnce removes a resource the definition does not need on the
// evacuated node.
func (a *Activities) deleteAtOnce(ctx context.Context, in MoveInput, refs map[string]string) (Move, error) {
	s, err := a.markResourceDeleting(ctx, ResourceInput{Resource: in.Resource, Node: in.Node})
	return Move{Step: s, Kind: MoveDelete}, err
}

// toggleDisklessPeer gives a diskless replica of the definition a disk,
// where the filter allows its node and a pool there fits.
func (a *Activities) toggleDisklessPeer(ctx context.Context, def store.ResourceDefinition, in MoveInput, rscs []store.Resource, f store.SelectFilter) (Move, bool, error) {
	refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
	for _, r := range rscs {
		if r.NodeName == store.Key(in.Node) || !store.Diskless(r.Flags) || r.Flags.Has(store.FlagDelete) || r.Flags.Has(store.FlagEvacuate) ||
			len(f.NodeNameList) > 0 && !containsFold(f.NodeNameList, r.NodeDspName) || containsFold(in.DoNotTarget, r.NodeDspName) {
			continue
		}
		pool, refused, err := a.diskfulPool(ctx, def, MakeAvailableInput{Resource: in.Resource, Node: r.NodeDspName}, refs)
		if err != nil {
			return Move{}, false, err
		}
		if refused != nil {
			continue
		}
		m, err := a.migrate(ctx, store.MigrationSpec{Resource: in.Resource, From: in.Node, To: r.NodeDspName, Pool: pool, Toggle: true}, refs)
		return m, true, err
	}
	return Move{}, false, nil
}

// replacement is the pool the autoplacer picks for the replica that
// replaces the evacuated node's, by the group's filter and the
// request's targets; a zero pool when none fits.
func (a *Activities) replacement(ctx context.Context, def store.ResourceDefinition, in MoveInput, f store.SelectFilter) (placement.Pool, error) {
	view, err := a.Store.PlacementView(ctx)
	if err != nil {
		return placement.Pool{}, err
	}
	for i, n := range view.Cluster.Nodes {
		if containsFold(in.DoNotTarget, n.Name) {
			view.Cluster.Nodes[i].AutoplaceTarget = false
		}
	}
	for i, p := range view.Cluster.Pools {
		if containsFold(in.DoNotTarget, p.Node) {
			view.Cluster.Pools[i].AutoplaceTarget = false
		}
	}
	req := view.PlacementRequest(def, f)
	req.Existing = slices.DeleteFunc(req.Existing, func(n string) bool { return strings.EqualFold(n, in.Node) })
	req.Held = append(req.Held, in.Node)
	req.Additional = 1
	d, err := placement.Place(view.Cluster, req)
	var perr *placement.Error
	if errors.As(err, &perr) || err == nil && len(d.Pools) == 0 {
		return placement.Pool{}, nil
	}
	if err != nil {
		return placement.Pool{}, err
	}
	return d.Pools[0], nil
}

// canSnapshot tells whether every volume of a resource is in a pool that
// takes snapshots, which copying its data while it runs needs.
func (a *Activities) canSnapshot(ctx context.Context, r store.Resource) bool {
	for _, v := range r.Volumes {
		pools, err := a.Store.ListStoragePools(ctx, store.StoragePoolFilter{Nodes: []string{r.NodeDspName}, Pools: []string{v.StorPoolDspName}})
		if err != nil || len(pools) == 0 || !store.CanSnapshot(pools[0].StoragePoolRow) {
			return false
		}
	}
	return true
}

// migrate records the replica that replaces the evacuated one.
func (a *Activities) migrate(ctx context.Context, sp store.MigrationSpec, refs map[string]string) (Move, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRsc
	_, err := a.Store.StartMigration(ctx, sp)
	if err != nil {
		s, err := refusal(err, op, obj, refs)
		return Move{Step: s}, err
	}
	how := "New resource"
	if sp.Toggle {
		how = "Diskless resource given a disk:"
	}
	rc := apicall.NewRc(apicall.Created, op, obj, fmt.Sprintf("%s '%s' on node '%s' replaces the one on node '%s'.", how, sp.Resource, sp.To, sp.From))
	rc.ObjRefs = map[string]string{"RscDfn": sp.Resource, "Node": sp.To}
	holders, err := a.Holders(ctx, sp.Resource)
	return Move{Step: Step{Replies: apicall.RcList{rc}, Nodes: holders}, Kind: MoveSync, To: sp.To, Pool: sp.Pool}, err
}

// notEvacuating is LINSTOR's warning for a resource that stays.
func notEvacuating(rd, why string, refs map[string]string) apicall.RcList {
	rc := apicall.NewRc(apicall.WarnNotEvacuating, apicall.MaskMod, apicall.MaskRsc, fmt.Sprintf("Resource '%s' cannot be evacuated as %s", rd, why))
	rc.ObjRefs = refs
	return apicall.RcList{rc}
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// MigrationInput names a replica (of From) and the one replacing it
// (on To).
type MigrationInput struct {
	Resource, From, To string
}

// Migration is how a replacement goes: Done once the new replica is
// UpToDate and the old one is not in use; Gone when the new one is not
// there any more (deleted by the user), which ends the wait.
type Migration struct {
	Done, Gone bool
	State      string
}

// MigrationState reads, from what the agents last reported, whether the
// replica that replaces another is ready to take its place.
func (a *Activities) MigrationState(ctx context.Context, in MigrationInput) (Migration, error) {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{in.Resource}, Nodes: []string{in.From, in.To}})
	if err != nil {
		return Migration{}, err
	}
	var from, to *store.Resource
	for i, r := range rscs {
		switch r.NodeName {
		case store.Key(in.From):
			from = &rscs[i]
		case store.Key(in.To):
			to = &rscs[i]
		}
	}
	switch {
	case to == nil || to.Flags.Has(store.FlagDelete):
		return Migration{Gone: true, State: "the new replica is gone"}, nil
	case diskState(*to) != "UpToDate":
		return Migration{State: fmt.Sprintf("waiting for the replica on %s to be UpToDate (%s)", in.To, cmpOr(diskState(*to), "not reported yet"))}, nil
	case from != nil && from.Used():
		return Migration{State: fmt.Sprintf("waiting for the replica on %s to be no longer in use", in.From)}, nil
	}
	return Migration{Done: true}, nil
}

func cmpOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// InUse tells whether the resource of a node is in use, as its agent
// last reported.
func (a *Activities) InUse(ctx context.Context, in ResourceInput) (bool, error) {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{in.Resource}, Nodes: []string{in.Node}})
	if err != nil || len(rscs) == 0 {
		return false, err
	}
	return rscs[0].Used(), nil
}

// FinishMove removes the evacuated replica once its replacement took
// its place.
func (a *Activities) FinishMove(ctx context.Context, in MigrationInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskDel, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.From}
		nodes, err := a.Holders(ctx, in.Resource)
		if err != nil {
			return Step{}, err
		}
		if _, err := a.Store.FinishMigration(ctx, in.Resource, in.From, in.To); err != nil {
			return refusal(err, op, obj, refs)
		}
		rc := apicall.NewRc(apicall.Deleted, op, obj, fmt.Sprintf("Resource '%s' on node '%s' deleted: it moved to node '%s'.", in.Resource, in.From, in.To))
		rc.ObjRefs = refs
		return Step{Replies: apicall.RcList{rc}, Nodes: nodes}, nil
	})
}

// MoveWindow is how many resources an evacuation of the node moves at
// once: its evacuation slots (negative: no limit).
func (a *Activities) MoveWindow(ctx context.Context, node string) (int, error) {
	return a.Store.SlotLimit(ctx, node, store.EvacuationMoving)
}

// RestoreNodeInput is node restore.
type RestoreNodeInput struct {
	Node                             string
	DeleteResources, DeleteSnapshots bool
}

// RestoreNode records a node restore (store.RestoreNode); the step's
// definitions are those with a resource on the node.
func (a *Activities) RestoreNode(ctx context.Context, in RestoreNodeInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskMod, apicall.MaskNode
		refs := map[string]string{"Node": in.Node}
		res, err := a.Store.RestoreNode(ctx, in.Node, in.DeleteResources, in.DeleteSnapshots)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		var s Step
		for _, rd := range res.Kept {
			rc := apicall.NewRc(apicall.WarnStltNotUpdated, apicall.MaskDel, apicall.MaskRsc,
				fmt.Sprintf("Not deleting resource %s since it is the last non-deleting diskful resource of this resource-definition", rd))
			rc.ObjRefs = map[string]string{"RscDfn": rd, "Node": res.Node.NodeDspName}
			s.Replies = append(s.Replies, rc)
		}
		s.Replies = append(s.Replies, apicall.Success(apicall.Modified, op, obj, "Successfully restored node "+res.Node.NodeDspName, res.Node.UUID, refs)...)
		s.Definitions, s.Nodes = res.Definitions, []string{res.Node.NodeDspName}
		return s, nil
	})
}

// StopEvacuation cancels the node's running evacuation, if one runs:
// the moves under way stop (their new replicas stay, the old ones too).
func (a *Activities) StopEvacuation(ctx context.Context, id string) error {
	running, err := a.running(ctx, id)
	if err != nil || !running {
		return err
	}
	return a.Temporal.CancelWorkflow(ctx, id, "")
}
