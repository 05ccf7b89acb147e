package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"strata/agentlink"
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
	// Evict: the node is gone (node evict, auto-evict); its replicas are
	// replaced where too few are left, without waiting for it.
	Evict bool `json:",omitempty"`
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
		record, msg := a.Store.EvacuateNode, "Node '%s' is being evacuated: %d resources to move."
		if in.Evict {
			record, msg = a.Store.EvictNode, "Node '%s' evicted: %d resources to replace."
		}
		row, rds, err := record(ctx, in.Node)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		rc := apicall.NewRc(apicall.Modified, op, obj, fmt.Sprintf(msg, row.NodeDspName, len(rds)))
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
	// MoveReplace: the node is evicted; the new replica syncs from the
	// others, and the evicted one is marked deleted at once.
	MoveReplace = "replace"
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
			kind := MoveSync
			if in.Evict {
				kind = MoveReplace
			}
			return Move{Kind: kind, To: r.NodeDspName}, nil // recorded before
		}
	}
	stack := def.LayerStack.List()
	drbd := slices.Contains(stack, "DRBD") || len(stack) == 0 && node.Serves("DRBD")
	f, err := a.selectFilter(ctx, def, store.SelectFilter{NodeNameList: in.Target})
	if err != nil {
		return Move{}, err
	}
	if in.Evict {
		return a.planReplacement(ctx, def, in, *here, rscs, drbd, f, refs)
	}
	if store.Diskless(here.Flags) || drbd && a.notNeeded(ctx, def, *here, rscs) {
		return a.deleteAtOnce(ctx, in, refs)
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

// planReplacement is what happens to a resource of an evicted node, as
// LINSTOR's auto-evict decides it: with as many diskful replicas left as
// DrbdOptions/AutoEvictMinReplicaCount asks, it is deleted; otherwise a
// replacement is placed, and it is marked deleted once that is recorded.
// A resource without DRBD stays: its data is on the evicted node alone.
func (a *Activities) planReplacement(ctx context.Context, def store.ResourceDefinition, in MoveInput, here store.Resource, rscs []store.Resource, drbd bool, f store.SelectFilter, refs map[string]string) (Move, error) {
	if !drbd {
		return Move{Step: Step{Replies: notEvacuating(def.ResourceDspName, "it is not a DRBD resource", refs)}}, nil
	}
	if store.Diskless(here.Flags) {
		return a.deleteAtOnce(ctx, in, refs)
	}
	_, placeCount := f.Placement()
	want, err := a.Store.MinReplicaCount(ctx, def, placeCount)
	if err != nil {
		return Move{}, err
	}
	left := 0
	for _, r := range rscs {
		if r.NodeName != here.NodeName && !store.Diskless(r.Flags) && !r.Flags.Has(store.FlagDelete) && !r.Flags.Has(store.FlagEvicted) {
			left++
		}
	}
	if left >= want {
		return a.deleteAtOnce(ctx, in, refs)
	}
	m, ok, err := a.toggleDisklessPeer(ctx, def, in, rscs, f)
	if err != nil || ok {
		if m.Kind == MoveSync {
			m.Kind = MoveReplace
		}
		return m, err
	}
	pool, err := a.replacement(ctx, def, in, f)
	if err != nil || pool.Name == "" {
		return Move{Step: Step{Replies: notEvacuating(def.ResourceDspName, "no available storage pool was found", refs)}}, err
	}
	m, err = a.migrate(ctx, store.MigrationSpec{Resource: in.Resource, From: in.Node, To: pool.Node, Pool: pool.Name}, refs)
	if m.Kind == MoveSync {
		m.Kind = MoveReplace
	}
	return m, err
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

// syncDone is how much of a resource's sync is done, as DRBD reports it
// for the volumes it receives a sync on (the least of them); false when
// none does.
func syncDone(r store.Resource) (float64, bool) {
	least, any := 100.0, false
	for _, v := range r.Volumes {
		for _, rs := range v.ReplicationStates {
			if rs.Done != nil && strings.HasPrefix(strings.TrimPrefix(rs.State, "Paused"), "SyncT") {
				least, any = min(least, *rs.Done), true
			}
		}
	}
	return least, any
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
	// Percent is how much of the new replica's sync is done, as DRBD
	// reports it.
	Percent int
}

// pair are a definition's resources on two nodes (nil where it has none;
// the same one when the nodes are the same).
func (a *Activities) pair(ctx context.Context, rd, from, to string) (*store.Resource, *store.Resource, error) {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{rd}, Nodes: []string{from, to}})
	if err != nil {
		return nil, nil, err
	}
	var f, t *store.Resource
	for i, r := range rscs {
		if r.NodeName == store.Key(from) {
			f = &rscs[i]
		}
		if r.NodeName == store.Key(to) {
			t = &rscs[i]
		}
	}
	return f, t, nil
}

// MigrationState reads, from what the agents last reported, whether the
// replica that replaces another is ready to take its place.
func (a *Activities) MigrationState(ctx context.Context, in MigrationInput) (Migration, error) {
	from, to, err := a.pair(ctx, in.Resource, in.From, in.To)
	if err != nil {
		return Migration{}, err
	}
	switch {
	case to == nil || to.Flags.Has(store.FlagDelete):
		return Migration{Gone: true, State: "the new replica is gone"}, nil
	case diskState(*to) != "UpToDate":
		m := Migration{State: fmt.Sprintf("waiting for the replica on %s to be UpToDate (%s)", in.To, cmpOr(diskState(*to), "not reported yet"))}
		if done, ok := syncDone(*to); ok {
			m.Percent = int(done)
			m.State = fmt.Sprintf("waiting for the replica on %s to be UpToDate (%s, %.1f %% synced)", in.To, diskState(*to), done)
		}
		return m, nil
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

// StopEvacuation cancels the node's running evacuation (workflow id), if
// one runs: the moves under way stop (their new replicas stay, the old
// ones too). A node that does not exist has none.
func (a *Activities) StopEvacuation(ctx context.Context, node, id string) error {
	if _, err := a.Store.GetNode(ctx, node); err != nil {
		if _, ok := store.AsError(err); ok {
			return nil
		}
		return err
	}
	running, err := a.running(ctx, id)
	if err != nil || !running {
		return err
	}
	return a.Temporal.CancelWorkflow(ctx, id, "")
}

// AutoEvictState is what an offline node's auto-evict timer goes by:
// Gone when there is nothing to wait for (the node is deleted, evicted
// or back online), else its settings.
type AutoEvictState struct {
	Gone bool
	store.AutoEvictSettings
}

// AutoEvictSettings reads an offline node's auto-evict settings.
func (a *Activities) AutoEvictSettings(ctx context.Context, node string) (AutoEvictState, error) {
	n, err := a.Store.GetNode(ctx, node)
	if _, ok := store.AsError(err); ok {
		return AutoEvictState{Gone: true}, nil
	} else if err != nil {
		return AutoEvictState{}, err
	}
	if n.Flags.Has(store.FlagEvicted) || a.Agents.Status(n.NodeName).Connection == agentlink.Online {
		return AutoEvictState{Gone: true}, nil
	}
	s, err := a.Store.AutoEvictSettingsOf(ctx, node)
	return AutoEvictState{AutoEvictSettings: s}, err
}

// SetEvictionTimestamp records when the node is to be evicted (0: no
// more).
func (a *Activities) SetEvictionTimestamp(ctx context.Context, node string, atMs int64) error {
	var at *int64
	if atMs > 0 {
		at = &atMs
	}
	err := a.Store.SetEvictionTimestamp(ctx, node, at)
	if _, ok := store.AsError(err); ok {
		return nil // deleted meanwhile
	}
	return err
}

// EvictionCheck is the check of an offline node whose auto-evict timer
// ran out, as LINSTOR makes it: Evict when the node is still offline,
// eviction is allowed for it, no DRBD peer still sees it connected, and
// not more nodes are disconnected than DrbdOptions/AutoEvictMaxDisconnectedNodes
// allows (a partition must not evict half the cluster); otherwise why
// not, and Gone when there is no more to wait for.
type EvictionCheck struct {
	Evict, Gone bool
	Why         string
}

// CheckEviction makes an offline node's eviction check.
func (a *Activities) CheckEviction(ctx context.Context, node string) (EvictionCheck, error) {
	st, err := a.AutoEvictSettings(ctx, node)
	if err != nil || st.Gone {
		return EvictionCheck{Gone: st.Gone, Why: "the node is back, evicted or deleted"}, err
	}
	if !st.Allowed {
		return EvictionCheck{Gone: true, Why: "DrbdOptions/AutoEvictAllowEviction is false for the node"}, nil
	}
	if st.MaxDisconnectedPercent == 0 {
		return EvictionCheck{Why: "auto-eviction is off (DrbdOptions/AutoEvictMaxDisconnectedNodes is 0)"}, nil
	}
	nodes, err := a.Store.ListNodes(ctx, nil)
	if err != nil {
		return EvictionCheck{}, err
	}
	total, offline := 0, 0
	for _, n := range nodes {
		if n.Flags.Has(store.FlagEvicted) {
			continue
		}
		total++
		if a.Agents.Status(n.NodeName).Connection != agentlink.Online {
			offline++
		}
	}
	if int64(offline)*100 > st.MaxDisconnectedPercent*int64(total) {
		return EvictionCheck{Why: fmt.Sprintf("%d of %d nodes are disconnected, more than DrbdOptions/AutoEvictMaxDisconnectedNodes (%d %%) allows", offline, total, st.MaxDisconnectedPercent)}, nil
	}
	n, err := a.Store.GetNode(ctx, node)
	if err != nil {
		return EvictionCheck{}, err
	}
	peers, err := a.Store.ListResources(ctx, store.ResourceFilter{})
	if err != nil {
		return EvictionCheck{}, err
	}
	for _, r := range peers {
		for peer, state := range r.DrbdConnections {
			if r.NodeName != n.NodeName && strings.EqualFold(peer, n.NodeDspName) && strings.EqualFold(state, "Connected") {
				return EvictionCheck{Why: fmt.Sprintf("the DRBD peer %s of %s still sees the node connected", r.NodeDspName, r.ResourceDspName)}, nil
			}
		}
	}
	return EvictionCheck{Evict: true}, nil
}

// PeersOf are the other nodes holding a definition that the node holds:
// those whose DRBD reports tell whether they still see it.
func (a *Activities) PeersOf(ctx context.Context, node string) ([]string, error) {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Nodes: []string{node}})
	if err != nil || len(rscs) == 0 {
		return nil, err
	}
	var rds []string
	for _, r := range rscs {
		rds = append(rds, r.ResourceDspName)
	}
	all, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: rds})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range all {
		if r.NodeName != store.Key(node) && !slices.Contains(out, r.NodeDspName) {
			out = append(out, r.NodeDspName)
		}
	}
	slices.Sort(out)
	return out, nil
}

// MigrateDiskInput is LINSTOR's migrate-disk (toggle-disk
// --migrate-from): the diskless resource of Node gets a disk (in Pool,
// else as the guide's lookup chooses) to replace the one of From.
type MigrateDiskInput struct {
	Resource, Node, From, Pool string
}

// StartDiskMigration checks a migrate-disk as LINSTOR does and records the
// disk of the new replica; run again after a crash that lost its answer,
// it finds the replica it gave the disk (MigrateFrom).
func (a *Activities) StartDiskMigration(ctx context.Context, in MigrateDiskInput) (Move, error) {
	return kept(ctx, a.Store, func(ctx context.Context, _, _ string) (Move, error) {
		const op, obj = apicall.MaskMod, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
		refuse := func(msg string) (Move, error) {
			return Move{Step: Step{Replies: apicall.Failure(apicall.FailInvldRequest, op, obj, msg, "", "")}}, nil
		}
		if _, err := a.Store.GetResourceDefinition(ctx, in.Resource); err != nil {
			s, err := refusal(err, op, obj, refs)
			return Move{Step: s}, err
		}
		if drbd, err := a.Store.ServesLayer(ctx, in.Resource, "DRBD"); err != nil {
			return Move{}, err
		} else if !drbd {
			return refuse("Toggle disk is only supported in combination with DRBD")
		}
		from, to, err := a.pair(ctx, in.Resource, in.From, in.Node)
		if err != nil {
			return Move{}, err
		}
		switch {
		case to == nil:
			return Move{Step: Step{Replies: apicall.Failure(apicall.FailNotFound+3, op, obj, fmt.Sprintf("Resource '%s' on node '%s' not found.", in.Resource, in.Node), "", "")}}, nil
		case from == nil || store.Diskless(from.Flags) || from.Flags.Has(store.FlagDelete):
			return refuse(fmt.Sprintf("Resource '%s' on node '%s' has no disk to migrate from.", in.Resource, in.From))
		case !store.Diskless(to.Flags) && strings.EqualFold(to.Props[store.KeyMigrateFrom], in.From):
			return Move{Kind: MoveSync, To: to.NodeDspName}, nil // recorded before
		case !store.Diskless(to.Flags):
			return refuse(fmt.Sprintf("Resource '%s' on node '%s' already has a disk.", in.Resource, in.Node))
		}
		return a.migrate(ctx, store.MigrationSpec{Resource: in.Resource, From: in.From, To: in.Node, Pool: in.Pool, Toggle: true, By: store.DiskfulByUser}, refs)
	})
}
