package workflows

import (
	"fmt"
	"slices"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// migrationPoll is how often a move asks the nodes whether the new
// replica is ready to take the old one's place.
const migrationPoll = 3 * time.Second

// NodeEvacuate moves every replica off a node, as LINSTOR's node
// evacuate: the node and its resources are flagged EVACUATE (the answer
// of the request), then each resource is moved by its own
// ResourceEvacuate, as many at once as the node has evacuation slots
// (Evacuation/MaxConcurrentMovesPerNode). The node stays EVACUATE until
// it is deleted or restored. Its progress counts the resources.
func NodeEvacuate(ctx workflow.Context, in activities.EvacuateInput) (Outcome, error) {
	o, err := begin(ctx, "recording the evacuation")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	s, ok, err := o.step("recording the evacuation", a.RecordEvacuation, in)
	if err != nil || !ok {
		return o.finish(err)
	}
	o.status.Accepted = o.out
	var window int
	if err := workflow.ExecuteLocalActivity(o.ctx, a.MoveWindow, in.Node).Get(o.ctx, &window); err != nil {
		return o.finish(err)
	}
	pending := s.Definitions
	o.status.ItemsTotal = len(pending)
	running := map[string]bool{}
	sel := workflow.NewSelector(ctx)
	for len(pending) > 0 || len(running) > 0 {
		for len(pending) > 0 && (window < 0 || len(running) < window) {
			rd := pending[0]
			pending = pending[1:]
			running[rd] = true
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ResourceEvacuateID(in.Node, rd),
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL})
			sel.AddFuture(workflow.ExecuteChildWorkflow(cctx, ResourceEvacuate, activities.MoveInput{EvacuateInput: in, Resource: rd}), func(f workflow.Future) {
				var out Outcome
				if err := f.Get(ctx, &out); err != nil {
					rc := apicall.NewRc(apicall.FailUnknownError, apicall.MaskMod, apicall.MaskRsc, fmt.Sprintf("Moving resource '%s' off node '%s' failed.", rd, in.Node))
					rc.Cause, rc.ObjRefs = cause(err), map[string]string{"RscDfn": rd, "Node": in.Node}
					out.Replies = append(out.Replies, rc)
				}
				o.out = append(o.out, out.Replies...)
				delete(running, rd)
				o.status.ItemsDone++
			})
		}
		o.status.Current = slices.Sorted(func(yield func(string) bool) {
			for rd := range running {
				if !yield(rd) {
					return
				}
			}
		})
		o.status.State = fmt.Sprintf("moving %d resources off %s", len(running), in.Node)
		o.status.Percent = 100 * o.status.ItemsDone / max(1, o.status.ItemsTotal)
		sel.Select(ctx)
	}
	o.status.Current = nil
	return o.finish(nil)
}

// ResourceEvacuate moves one resource off an evacuated node, under the
// definition's lock: a resource that is not needed there is deleted at
// once; a DRBD resource gets a new replica (or a diskless one a disk),
// which syncs, and the old one goes once the new one is UpToDate and the
// old one is not in use; the data of a storage-only one is copied by
// Strata. One that cannot move stays, with LINSTOR's warning.
func ResourceEvacuate(ctx workflow.Context, in activities.MoveInput) (Outcome, error) {
	return locked(ctx, "planning the move", []string{store.ResourceDefinitionLock(in.Resource)}, func(o *operation) error {
		var a *activities.Activities
		o.status.State = "planning the move"
		var mv activities.Move
		if err := workflow.ExecuteLocalActivity(o.ctx, a.PlanMove, in).Get(o.ctx, &mv); err != nil {
			return err
		}
		o.out = append(o.out, mv.Replies...)
		switch mv.Kind {
		case activities.MoveDelete:
			if err := o.quorum(in.Resource); err != nil {
				return err
			}
			return o.deploy(mv.Nodes, in.Resource)
		case activities.MoveSync:
			return o.syncOff(in, mv, true)
		case activities.MoveReplace:
			if err := o.quorum(in.Resource); err != nil {
				return err
			}
			if err := o.deploy(mv.Nodes, in.Resource); err != nil {
				return err
			}
			return o.removeOld(activities.MigrationInput{Resource: in.Resource, From: in.Node, To: mv.To})
		case activities.MoveCopy:
			return o.copyOff(in, mv)
		}
		return nil
	})
}

// syncOff deploys the new replica, waits (without the definition's lock)
// until it can take the old one's place, copies the old node's snapshots
// to it (copySnaps: an evacuation's), then removes the old one.
func (o *operation) syncOff(in activities.MoveInput, mv activities.Move, copySnaps bool) error {
	if err := o.quorum(in.Resource); err != nil {
		return err
	}
	if err := o.deploy(mv.Nodes, in.Resource); err != nil {
		return err
	}
	if err := o.unlock(); err != nil {
		return err
	}
	mig := activities.MigrationInput{Resource: in.Resource, From: in.Node, To: mv.To}
	if gone, err := o.waitForMigration(mig); err != nil || gone {
		if gone {
			rc := apicall.NewRc(apicall.WarnNotEvacuating, apicall.MaskMod, apicall.MaskRsc,
				fmt.Sprintf("Resource '%s' stays on node '%s': its new replica on node '%s' was deleted.", in.Resource, in.Node, mv.To))
			rc.ObjRefs = map[string]string{"RscDfn": in.Resource, "Node": in.Node}
			o.out = append(o.out, rc)
		}
		return err
	}
	if copySnaps {
		if err := o.copySnapshots(mig, true); err != nil {
			return err
		}
	}
	if err := o.lock(store.ResourceDefinitionLock(in.Resource)); err != nil {
		return err
	}
	return o.removeOld(mig)
}

// waitForMigration waits, without locks, until the new replica of
// mig.To is UpToDate and the one of mig.From (if any) is not in use,
// asking both nodes for their states at each look; gone when the new
// replica was deleted meanwhile.
func (o *operation) waitForMigration(mig activities.MigrationInput) (gone bool, err error) {
	var a *activities.Activities
	nodes := []string{mig.To}
	if mig.From != "" {
		nodes = append(nodes, mig.From)
	}
	for {
		push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), nodes, &Status{})
		var st activities.Migration
		if err := workflow.ExecuteLocalActivity(o.ctx, a.MigrationState, mig).Get(o.ctx, &st); err != nil || st.Gone || st.Done {
			return st.Gone, err
		}
		o.status.State, o.status.Percent = st.State, st.Percent
		if err := workflow.Sleep(o.ctx, migrationPoll); err != nil {
			return false, err
		}
	}
}

// removeOld removes the evacuated replica, applies auto-quorum and
// deploys.
func (o *operation) removeOld(mig activities.MigrationInput) error {
	var a *activities.Activities
	return o.change(mig.Resource, "removing the evacuated replica", a.FinishMove, mig)
}

// copyOff moves a storage-only resource's data, in an evacuation slot of
// both nodes: a snapshot is shipped to the new node; once the resource
// is not in use, a second snapshot's changes follow; the new resource is
// made from it and compared with it, and only then the old one goes.
// Whatever happens, the move's snapshots go at the end; the old resource
// stays when the move failed.
func (o *operation) copyOff(in activities.MoveInput, mv activities.Move) error {
	var a *activities.Activities
	if err := o.takeEvacuationSlots(in.Node, mv.To); err != nil {
		return err
	}
	first := activities.MovedSnapshotInput{Resource: in.Resource, Snapshot: store.EvacuationSnapshot(1), From: in.Node, To: mv.To, Pool: mv.Pool, Volumes: mv.Volumes}
	second := first
	second.Snapshot, second.Base = store.EvacuationSnapshot(2), first.Snapshot
	var taken []string
	defer func() {
		ctx, _ := workflow.NewDisconnectedContext(o.ctx)
		for _, snap := range taken {
			_ = (&operation{ctx: ctx, status: o.status}).deleteSnapshot(activities.SnapshotDeleteInput{Resource: in.Resource, Snapshot: snap})
		}
	}()
	for i, part := range []activities.MovedSnapshotInput{first, second} {
		if i == 1 {
			if err := o.waitUnused(activities.ResourceInput{Resource: in.Resource, Node: in.Node}); err != nil {
				return err
			}
		}
		ok, err := o.moveSnapshot(part, &taken)
		if err != nil || !ok {
			return err
		}
	}
	s, ok, err := o.step("making the moved resource", a.MoveResource, second)
	if err != nil || !ok {
		return err
	}
	if err := o.deploy(s.Nodes, in.Resource); err != nil {
		return err
	}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.FinishRestore, in.Resource).Get(o.ctx, nil); err != nil {
		return err
	}
	o.status.State = "comparing the moved data"
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, copyOptions), a.CompareMoved, second).Get(o.ctx, nil); err != nil {
		o.out = append(o.out, moveFailed(in, mv.To, err))
		if _, _, err := o.step("removing the new resource", a.MarkResourceDeleting, activities.ResourceInput{Resource: in.Resource, Node: mv.To}); err != nil {
			return err
		}
		return o.deploy(nil, in.Resource)
	}
	mig := activities.MigrationInput{Resource: in.Resource, From: in.Node, To: mv.To}
	if err := o.copySnapshots(mig, false); err != nil {
		return err
	}
	return o.removeOld(mig)
}

// takeEvacuationSlots takes an evacuation slot on each node, in name
// order (two moves never wait on each other), and follows the progress
// of the copies made in them.
func (o *operation) takeEvacuationSlots(nodes ...string) error {
	var a *activities.Activities
	nodes = slices.Clone(nodes)
	sort.Strings(nodes)
	for _, n := range nodes {
		o.status.State = "waiting for an evacuation slot on " + n
		if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(o.ctx, waitOptions), a.TakeSlot, activities.SlotInput{Node: n, Kind: store.EvacuationMoving}).Get(o.ctx, nil); err != nil {
			return err
		}
	}
	o.followProgress()
	return nil
}

// copySnapshots copies the snapshots the old node holds of a moved
// resource to its new node (CopyAllSnapsOnEvacuate), one after the other,
// and removes the old node's part of each once copied, as LINSTOR does. A
// copy that fails is warned about, its part on the new node goes, and no
// more are copied: the old parts stay where they are. takeSlots: the
// copies take the nodes' evacuation slots (not held yet).
func (o *operation) copySnapshots(mig activities.MigrationInput, takeSlots bool) error {
	var a *activities.Activities
	var copies []activities.MovedSnapshotInput
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SnapshotCopies, mig).Get(o.ctx, &copies); err != nil {
		return err
	}
	if len(copies) > 0 && takeSlots {
		if err := o.takeEvacuationSlots(mig.From, mig.To); err != nil {
			return err
		}
	}
	for _, c := range copies {
		shipped, err := o.shipToNewNode(c, func(err error) {
			rc := apicall.NewRc(apicall.MaskWarn, apicall.MaskCrt, apicall.MaskSnapshot,
				fmt.Sprintf("Snapshot '%s' of resource '%s' was not copied to node '%s'; it stays on node '%s'.", c.Snapshot, c.Resource, c.To, c.From))
			rc.Cause, rc.ObjRefs = cause(err), map[string]string{"RscDfn": c.Resource, "Snapshot": c.Snapshot, "Node": c.To}
			o.out = append(o.out, rc)
		})
		if err != nil {
			return err
		}
		if !shipped {
			return o.deleteSnapshot(activities.SnapshotDeleteInput{Resource: c.Resource, Snapshot: c.Snapshot, Nodes: []string{c.To}})
		}
		s, ok, err := o.step("keeping the copied snapshot", a.FinishSnapshotCopy, c)
		if err != nil || !ok {
			return err
		}
		push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), s.Nodes, &Status{})
		if err := o.deleteSnapshot(activities.SnapshotDeleteInput{Resource: c.Resource, Snapshot: c.Snapshot, Nodes: []string{c.From}}); err != nil {
			return err
		}
	}
	return nil
}

// moveSnapshot takes a snapshot of the resource on the node it leaves
// (named in taken once recorded) and ships it to the new node. It
// reports false, with why in the answer, when that failed.
func (o *operation) moveSnapshot(part activities.MovedSnapshotInput, taken *[]string) (bool, error) {
	before := len(o.out)
	for {
		took, err := o.takeSnapshots(activities.SnapshotCreateInput{Snapshots: []store.SnapshotSpec{{Resource: part.Resource, Name: part.Snapshot, Nodes: []string{part.From}, Evacuation: true}}})
		if err != nil {
			return false, err
		}
		if took {
			break
		}
		if !notConnected(o.out[before:]) {
			return false, nil
		}
		// The node is not connected (yet: after the controller's restart,
		// until its agent is seen again): the move waits for it.
		o.out = o.out[:before]
		o.status.State = fmt.Sprintf("waiting for node %s to be connected", part.From)
		if err := workflow.Sleep(o.ctx, migrationPoll); err != nil {
			return false, err
		}
	}
	o.out = o.out[:before] // the move's own snapshots are no news
	*taken = append(*taken, part.Snapshot)
	return o.shipToNewNode(part, func(err error) {
		o.out = append(o.out, moveFailed(activities.MoveInput{EvacuateInput: activities.EvacuateInput{Node: part.From}, Resource: part.Resource}, part.To, err))
	})
}

// shipToNewNode records that the new node receives a snapshot, so that
// its agent keeps what arrives, and ships the snapshot there. It reports
// false when the step was refused, or when the copy failed, which failed
// is told.
func (o *operation) shipToNewNode(part activities.MovedSnapshotInput, failed func(error)) (bool, error) {
	var a *activities.Activities
	if _, ok, err := o.step("recording the receiver", a.ReceiveMovedSnapshot, part); err != nil || !ok {
		return false, err
	}
	push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), []string{part.To}, &Status{})
	o.status.State = fmt.Sprintf("copying snapshot %s of %s to %s", part.Snapshot, part.Resource, part.To)
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, copyOptions), a.ShipMovedSnapshot, part).Get(o.ctx, nil); err != nil {
		failed(err)
		return false, nil
	}
	return true, nil
}

// notConnected tells whether a refusal is LINSTOR's for a node that is
// not connected.
func notConnected(replies apicall.RcList) bool {
	return slices.ContainsFunc(replies, func(rc apicall.ApiCallRc) bool {
		return rc.Bare() == apicall.FailNotConnected
	})
}

// waitUnused waits until the resource on the node is not in use, as its
// agent reports it.
func (o *operation) waitUnused(r activities.ResourceInput) error {
	var a *activities.Activities
	for {
		push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), []string{r.Node}, &Status{})
		var used bool
		if err := workflow.ExecuteLocalActivity(o.ctx, a.InUse, r).Get(o.ctx, &used); err != nil || !used {
			return err
		}
		o.status.State = fmt.Sprintf("waiting for %s on %s to be no longer in use", r.Resource, r.Node)
		if err := workflow.Sleep(o.ctx, migrationPoll); err != nil {
			return err
		}
	}
}

// moveFailed answers a move that failed: the resource stays where it was.
func moveFailed(in activities.MoveInput, to string, err error) apicall.ApiCallRc {
	rc := apicall.NewRc(apicall.FailUnknownError, apicall.MaskMod, apicall.MaskRsc,
		fmt.Sprintf("Moving the data of resource '%s' from node '%s' to node '%s' failed; it stays on node '%s'.", in.Resource, in.Node, to, in.Node))
	rc.Cause, rc.ObjRefs = cause(err), map[string]string{"RscDfn": in.Resource, "Node": in.Node}
	return rc
}

// AutoEvictInput is an offline node whose auto-evict timer runs; Minute
// is how long a minute of DrbdOptions/AutoEvictAfterTime lasts (the
// controller's [agents] timer_minute; tests shorten it).
type AutoEvictInput struct {
	Node   string
	Minute time.Duration
}

// AutoEvict is an offline node's auto-evict timer: a durable timer of
// DrbdOptions/AutoEvictAfterTime from when the node went offline, shown
// as the node's eviction time; a node that comes back ends it (it is
// looked at every minute). When it
// runs out, the node is evicted if LINSTOR's checks allow it (checked
// again every minute until they do): its DRBD resources are replaced by
// the node's eviction (NodeEvacuate with Evict).
func AutoEvict(ctx workflow.Context, in AutoEvictInput) (Outcome, error) {
	o, err := begin(ctx, "waiting for the node to come back")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	var st activities.AutoEvictState
	if err := workflow.ExecuteLocalActivity(o.ctx, a.AutoEvictSettings, in.Node).Get(o.ctx, &st); err != nil || st.Gone {
		return o.finish(err)
	}
	if !st.Allowed {
		o.out = append(o.out, apicall.NewRc(apicall.MaskInfo, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Node '%s' is not auto-evicted: DrbdOptions/AutoEvictAllowEviction is false.", in.Node)))
		return o.finish(nil)
	}
	deadline := workflow.GetInfo(ctx).WorkflowStartTime.Add(time.Duration(st.AfterMinutes) * in.Minute)
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SetEvictionTimestamp, in.Node, deadline.UnixMilli()).Get(o.ctx, nil); err != nil {
		return o.finish(err)
	}
	defer func() { // the node is evicted, back, or the timer stopped: no more eviction time
		dctx, _ := workflow.NewDisconnectedContext(o.ctx)
		_ = workflow.ExecuteLocalActivity(dctx, a.SetEvictionTimestamp, in.Node, int64(0)).Get(dctx, nil)
	}()
	o.status.State = "evicting the node at " + deadline.UTC().Format(time.RFC3339)
	// Waited for a minute at a time: a node that is back ends the timer.
	for left := deadline.Sub(workflow.Now(ctx)); left > 0; left = deadline.Sub(workflow.Now(ctx)) {
		if err := workflow.Sleep(o.ctx, min(left, in.Minute)); err != nil {
			return o.finish(err)
		}
		if err := workflow.ExecuteLocalActivity(o.ctx, a.AutoEvictSettings, in.Node).Get(o.ctx, &st); err != nil || st.Gone {
			return o.finish(err)
		}
	}
	for {
		// The peers' DRBD states are read fresh: whether they still see the node.
		var peers []string
		if err := workflow.ExecuteLocalActivity(o.ctx, a.PeersOf, in.Node).Get(o.ctx, &peers); err != nil {
			return o.finish(err)
		}
		push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), peers, &Status{})
		var check activities.EvictionCheck
		if err := workflow.ExecuteLocalActivity(o.ctx, a.CheckEviction, in.Node).Get(o.ctx, &check); err != nil {
			return o.finish(err)
		}
		if check.Gone {
			o.out = append(o.out, apicall.NewRc(apicall.MaskInfo, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Node '%s' is not evicted: %s.", in.Node, check.Why)))
			return o.finish(nil)
		}
		if check.Evict {
			break
		}
		o.status.State = "not evicting the node: " + check.Why
		if err := workflow.Sleep(o.ctx, in.Minute); err != nil {
			return o.finish(err)
		}
	}
	o.status.State = "evicting the node"
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: NodeEvictID(in.Node), ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE})
	var out Outcome
	err = workflow.ExecuteChildWorkflow(cctx, NodeEvacuate, activities.EvacuateInput{Node: in.Node, Evict: true}).Get(ctx, &out)
	o.out = append(o.out, out.Replies...)
	return o.finish(err)
}

// MigrateDisk is LINSTOR's migrate-disk (toggle-disk --migrate-from):
// the diskless resource gets a disk and syncs, and once it is UpToDate
// and the old one is not in use, the old one goes — one operation.
func MigrateDisk(ctx workflow.Context, in activities.MigrateDiskInput) (Outcome, error) {
	return locked(ctx, "giving the resource its disk", []string{store.ResourceDefinitionLock(in.Resource)}, func(o *operation) error {
		var a *activities.Activities
		var mv activities.Move
		if err := workflow.ExecuteLocalActivity(o.ctx, a.StartDiskMigration, in).Get(o.ctx, &mv); err != nil {
			return err
		}
		o.out = append(o.out, mv.Replies...)
		if mv.Kind != activities.MoveSync {
			return nil
		}
		return o.syncOff(activities.MoveInput{EvacuateInput: activities.EvacuateInput{Node: in.From}, Resource: in.Resource}, mv, false)
	})
}
