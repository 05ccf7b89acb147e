package activities

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"strata/agentlink"
	"strata/apicall"
	"strata/store"
)

// SnapshotCreateInput is snapshot create: one snapshot, or several that
// are taken together (create-multiple, LINSTOR's /v1/actions/snapshot/multi).
type SnapshotCreateInput struct {
	Snapshots []store.SnapshotSpec
}

// Refs names the snapshots of the request.
func (in SnapshotCreateInput) Refs() []store.SnapshotRef {
	out := make([]store.SnapshotRef, len(in.Snapshots))
	for i, s := range in.Snapshots {
		out[i] = store.SnapshotRef{Resource: s.Resource, Snapshot: s.Name}
	}
	return out
}

// SnapshotStep is the recording of snapshots: the step, and for each
// snapshot the nodes that take it; the step's nodes are every node of
// the definitions, whose I/O is suspended meanwhile.
type SnapshotStep struct {
	Step
	Taking map[string][]string `json:"taking,omitempty"` // by definition
}

// availability is which nodes' agents are online now.
func (a *Activities) availability(ctx context.Context) (store.NodeAvailability, error) {
	nodes, err := a.Store.ListNodes(ctx, nil)
	if err != nil {
		return store.NodeAvailability{}, err
	}
	out := store.NodeAvailability{Offline: map[string]bool{}}
	for _, n := range nodes {
		if a.Agents == nil || a.Agents.Status(n.NodeName).Connection != agentlink.Online {
			out.Offline[n.NodeName] = true
		}
	}
	return out, nil
}

// RecordSnapshots records snapshots in phase suspend, with LINSTOR's
// checks, all or none.
func (a *Activities) RecordSnapshots(ctx context.Context, in SnapshotCreateInput) (SnapshotStep, error) {
	var taking map[string][]string
	s, err := a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskSnapshot
		avail, err := a.availability(ctx)
		if err != nil {
			return Step{}, err
		}
		created, err := a.Store.CreateSnapshots(ctx, in.Snapshots, avail)
		if err != nil {
			refs := map[string]string{"RscDfn": in.Snapshots[0].Resource, "Snapshot": in.Snapshots[0].Name}
			return refusal(err, op, obj, refs)
		}
		var s Step
		for _, c := range created {
			refs := map[string]string{"RscDfn": c.ResourceDspName, "Snapshot": c.SnapshotDspName}
			for _, w := range c.Skipped {
				rc := apicall.NewRc(apicall.MaskWarn, op, obj, w)
				rc.ObjRefs = refs
				s.Replies = append(s.Replies, rc)
			}
			on := ""
			if len(c.Nodes) > 0 {
				on = fmt.Sprintf(" on nodes '%s'", strings.Join(c.Nodes, ", "))
			}
			s.Replies = append(s.Replies, apicall.Success(apicall.Created, op, obj, fmt.Sprintf("New snapshot '%s' of resource '%s'%s registered.", c.SnapshotDspName, c.ResourceDspName, on), c.UUID, refs)...)
			s.Nodes = Union(s.Nodes, c.Holders)
			s.Definitions = append(s.Definitions, c.ResourceDspName)
		}
		return s, nil
	})
	if err != nil || s.Refused() {
		return SnapshotStep{Step: s}, err
	}
	// Which nodes take which snapshot is the store's to say, also when
	// the step ran before a crash and answers what it answered.
	taking = map[string][]string{}
	for _, ref := range in.Refs() {
		sn, err := a.Store.GetSnapshot(ctx, ref.Resource, ref.Snapshot)
		if err != nil {
			return SnapshotStep{}, err
		}
		for _, n := range sn.Nodes {
			taking[ref.Resource] = append(taking[ref.Resource], n.NodeDspName)
		}
	}
	if len(s.Nodes) == 0 { // answered before a crash, without the nodes
		for _, ref := range in.Refs() {
			holders, err := a.Holders(ctx, ref.Resource)
			if err != nil {
				return SnapshotStep{}, err
			}
			s.Nodes = Union(s.Nodes, holders)
		}
	}
	return SnapshotStep{Step: s, Taking: taking}, nil
}

// Union is a and b without repeats (names compare case-insensitively;
// a's spelling wins), sorted: workflows use it too, and map order must
// not reach a workflow's history.
func Union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string(nil), a...), b...) {
		if k := store.Key(n); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// SnapshotPhaseInput moves snapshots to a phase.
type SnapshotPhaseInput struct {
	Phase     string
	Snapshots []store.SnapshotRef
}

// SetSnapshotPhase moves snapshots to a phase; nodes follow at their next
// push.
func (a *Activities) SetSnapshotPhase(ctx context.Context, in SnapshotPhaseInput) error {
	return a.Store.SetSnapshotPhase(ctx, in.Phase, in.Snapshots...)
}

// CheckUpToDate refuses to take snapshots of definitions whose diskful
// volumes are not all UpToDate on the nodes taking them, now that their
// I/O is suspended.
func (a *Activities) CheckUpToDate(ctx context.Context, in SnapshotCreateInput) (apicall.RcList, error) {
	for _, ref := range in.Refs() {
		sn, err := a.Store.GetSnapshot(ctx, ref.Resource, ref.Snapshot)
		if err != nil {
			return nil, err
		}
		taking := map[string]bool{}
		for _, n := range sn.Nodes {
			taking[n.NodeName] = true
		}
		rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{ref.Resource}})
		if err != nil {
			return nil, err
		}
		for _, r := range rscs {
			if !taking[r.NodeName] {
				continue
			}
			for _, v := range r.Volumes {
				if v.DiskState != "UpToDate" {
					rc := apicall.NewRc(apicall.FailSnapshotNotUpToDate, apicall.MaskCrt, apicall.MaskSnapshot, "Cannot take snapshot from non-UpToDate DRBD device. Snapshot creation aborted")
					rc.Cause = fmt.Sprintf("Volume %d of resource '%s' on node '%s' is %s.", v.VlmNr, r.ResourceDspName, r.NodeDspName, orUnknown(v.DiskState))
					rc.ObjRefs = map[string]string{"RscDfn": ref.Resource, "Snapshot": ref.Snapshot, "Node": r.NodeDspName}
					return apicall.RcList{rc}, nil
				}
			}
		}
	}
	return nil, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "not reported"
	}
	return s
}

// FinishSnapshotsInput ends snapshots' create with a flag: SUCCESSFUL,
// FAILED_DEPLOYMENT or FAILED_DISCONNECT.
type FinishSnapshotsInput struct {
	Flag      string
	Snapshots []store.SnapshotRef
}

// FinishSnapshots flags snapshots and ends their phase; their time stamp
// is now.
func (a *Activities) FinishSnapshots(ctx context.Context, in FinishSnapshotsInput) error {
	return a.Store.FinishSnapshots(ctx, in.Flag, time.Now().UnixMilli(), in.Snapshots...)
}

// SnapshotDeleteInput is snapshot delete, of the parts on Nodes (none:
// all).
type SnapshotDeleteInput struct {
	Resource, Snapshot string
	Nodes              []string
}

// MarkSnapshotDeleting records a snapshot delete. A snapshot that is not
// there answers LINSTOR's warning, and the delete is done.
func (a *Activities) MarkSnapshotDeleting(ctx context.Context, in SnapshotDeleteInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskDel, apicall.MaskSnapshot
		refs := map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}
		def, marked, missing, err := a.Store.MarkSnapshotDeleting(ctx, in.Resource, in.Snapshot, in.Nodes)
		if e, ok := store.AsError(err); ok && e.Problem == store.NotFound {
			rc := apicall.NewRc(apicall.WarnNotFound, op, obj, fmt.Sprintf("Snapshot definition %s of resource %s not found.", in.Snapshot, in.Resource))
			rc.ObjRefs = refs
			return Step{Replies: apicall.RcList{rc}}, nil
		}
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		var s Step
		if len(missing) > 0 {
			rc := apicall.NewRc(apicall.WarnNotFound, op, obj, fmt.Sprintf("Snapshot '%s' of resource '%s' was not found on given nodes: %s", def.SnapshotDspName, in.Resource, strings.Join(missing, ", ")))
			rc.ObjRefs = refs
			s.Replies = append(s.Replies, rc)
		}
		if len(marked) > 0 {
			s.Replies = append(s.Replies, apicall.Success(apicall.Deleted, op, obj,
				fmt.Sprintf("Marked snapshot for deletion snapshot '%s' of resource '%s' on nodes '%s'", def.SnapshotDspName, in.Resource, strings.Join(marked, ", ")), def.UUID, refs)...)
		}
		s.Nodes = marked
		return s, nil
	})
}

// SnapshotDeleteReport answers a snapshot delete after its nodes were
// sent their states: where it is gone, and where it goes when the node
// is back.
func (a *Activities) SnapshotDeleteReport(ctx context.Context, in SnapshotDeleteInput) (apicall.RcList, error) {
	const op, obj = apicall.MaskDel, apicall.MaskSnapshot
	refs := map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}
	left := map[string]bool{}
	if sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot); err == nil {
		for _, n := range sn.Nodes {
			left[store.Key(n.NodeDspName)] = true
		}
	} else if _, ok := store.AsError(err); !ok {
		return nil, err
	}
	var out apicall.RcList
	for _, n := range in.Nodes {
		if left[store.Key(n)] {
			rc := apicall.NewRc(apicall.WarnNodeNotReached, op, obj, fmt.Sprintf("Snapshot '%s' of '%s' on '%s' is deleted when the node is back.", in.Snapshot, in.Resource, n))
			rc.ObjRefs = refs
			out = append(out, rc)
			continue
		}
		rc := apicall.NewRc(apicall.Deleted, op, obj, fmt.Sprintf("Deleted snapshot '%s' of '%s' on '%s'", in.Snapshot, in.Resource, n))
		rc.ObjRefs = refs
		out = append(out, rc)
	}
	return out, nil
}

// SnapshotRestoreInput is snapshot resource restore.
type SnapshotRestoreInput struct {
	store.RestoreSpec
}

// RestoreResources records the restored resources of a snapshot in the
// target definition.
func (a *Activities) RestoreResources(ctx context.Context, in SnapshotRestoreInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.To, "Snapshot": in.Snapshot}
		rows, nodes, anyVolume, err := a.Store.RestoreResources(ctx, in.RestoreSpec)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		var s Step
		if !anyVolume {
			rc := apicall.NewRc(apicall.MaskWarn, op, obj, "No volumes to restore.")
			rc.ObjRefs = refs
			s.Replies = append(s.Replies, rc)
		}
		uuid := ""
		if len(rows) > 0 {
			uuid = rows[0].UUID
		}
		s.Replies = append(s.Replies, apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Resource '%s' restored from resource '%s', snapshot '%s'.", in.To, in.Resource, in.Snapshot), uuid, refs)...)
		s.Nodes = nodes
		return s, nil
	})
}

// FinishRestore ends the restore of the definition's resources that
// reached their nodes.
func (a *Activities) FinishRestore(ctx context.Context, rd string) error {
	_, err := a.Store.FinishRestore(ctx, rd)
	return err
}

// RollbackInput is snapshot rollback.
type RollbackInput struct {
	Resource, Snapshot string
}

// CheckRollback refuses a rollback that LINSTOR refuses; the step's nodes
// are the definition's.
func (a *Activities) CheckRollback(ctx context.Context, in RollbackInput) (Step, error) {
	const op, obj = apicall.MaskMod, apicall.MaskSnapshot
	refs := map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}
	avail, err := a.availability(ctx)
	if err != nil {
		return Step{}, err
	}
	nodes, err := a.Store.CheckRollback(ctx, in.Resource, in.Snapshot, avail)
	if err != nil {
		return refusal(err, op, obj, refs)
	}
	return Step{Nodes: nodes}, nil
}

// AutoSnapshotPlan is what an automatic snapshot run of a definition
// needs: its effective settings (RunEveryMinutes is 0 when it takes
// none), and the nodes of it that are offline now.
type AutoSnapshotPlan struct {
	store.AutoSnapshotSettings
	Offline []string
}

// AutoSnapshotSettings plans an automatic snapshot run of a definition.
func (a *Activities) AutoSnapshotSettings(ctx context.Context, rd string) (AutoSnapshotPlan, error) {
	set, err := a.Store.AutoSnapshotSettingsOf(ctx, rd)
	if err != nil {
		return AutoSnapshotPlan{}, err
	}
	plan := AutoSnapshotPlan{AutoSnapshotSettings: set}
	if plan.RunEveryMinutes <= 0 {
		return plan, nil
	}
	avail, err := a.availability(ctx)
	if err != nil {
		return plan, err
	}
	holders, err := a.Holders(ctx, rd)
	if err != nil {
		return plan, err
	}
	for _, n := range holders {
		if avail.Offline[store.Key(n)] {
			plan.Offline = append(plan.Offline, n)
		}
	}
	return plan, nil
}

// AutoSnapshotNameInput asks for the next automatic snapshot's name.
type AutoSnapshotNameInput struct {
	Resource, Prefix string
}

// NextAutoSnapshotName counts up the definition's AutoSnapshot/NextAutoId.
// Run again after a crash it skips a number, as LINSTOR skips taken ones.
func (a *Activities) NextAutoSnapshotName(ctx context.Context, in AutoSnapshotNameInput) (string, error) {
	return a.Store.NextAutoSnapshotName(ctx, in.Resource, in.Prefix)
}

// AutoSnapshotCleanupInput asks which automatic snapshots go.
type AutoSnapshotCleanupInput struct {
	Resource, Prefix string
	Keep             int
}

// AutoSnapshotsBeyondKeep are the automatic snapshots past Keep.
func (a *Activities) AutoSnapshotsBeyondKeep(ctx context.Context, in AutoSnapshotCleanupInput) ([]string, error) {
	return a.Store.AutoSnapshotsBeyondKeep(ctx, in.Resource, in.Prefix, in.Keep)
}
