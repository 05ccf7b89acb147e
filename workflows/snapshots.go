package workflows

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// SnapshotTakeDeadline bounds taking the storage snapshots while I/O is
// suspended (LINSTOR's 2 minutes); past it the snapshot fails and I/O
// resumes.
const SnapshotTakeDeadline = 2 * time.Minute

var (
	// A node that does not answer while I/O is suspended is given up on
	// quickly: every other node's writes wait meanwhile.
	suspendOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: SnapshotTakeDeadline,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumInterval: 5 * time.Second, MaximumAttempts: 4},
	}
)

// SnapshotCreate takes snapshots of one or more definitions together, in
// LINSTOR's four phases: I/O of every resource (diskless ones too) is
// suspended, every diskful volume taking part must be UpToDate, each
// node takes its storage snapshots, and I/O resumes. Resume runs on
// every path, also when the workflow resumes after a crash.
func SnapshotCreate(ctx workflow.Context, in activities.SnapshotCreateInput) (Outcome, error) {
	return locked(ctx, "taking snapshots", definitionLocks(in.Refs()), func(o *operation) error {
		_, err := o.takeSnapshots(in)
		return err
	})
}

func definitionLocks(refs []store.SnapshotRef) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range refs {
		if l := store.ResourceDefinitionLock(r.Resource); !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// takeSnapshots records and takes snapshots; it reports whether they
// were taken (the answer says why not).
func (o *operation) takeSnapshots(in activities.SnapshotCreateInput) (bool, error) {
	var a *activities.Activities
	o.status.State = "recording the snapshots"
	var rec activities.SnapshotStep
	if err := workflow.ExecuteLocalActivity(o.ctx, a.RecordSnapshots, in).Get(o.ctx, &rec); err != nil {
		return false, err
	}
	o.out = append(o.out, rec.Replies...)
	if rec.Refused() {
		return false, nil
	}
	var suspendedAt time.Time
	_ = workflow.SideEffect(o.ctx, func(workflow.Context) any { return time.Now() }).Get(&suspendedAt)
	failure, err := o.suspendAndTake(in, rec)
	// Whatever happened, I/O resumes: in a context that a cancel does
	// not end, with the snapshots flagged first so that the nodes'
	// states no longer hold them.
	ctx, _ := workflow.NewDisconnectedContext(o.ctx)
	flag := store.SnapshotSuccessful
	if failure != nil {
		flag = failure.flag
	}
	o.status.State = "resuming I/O"
	if ferr := workflow.ExecuteLocalActivity(ctx, a.FinishSnapshots, activities.FinishSnapshotsInput{Flag: flag, Snapshots: in.Refs()}).Get(ctx, nil); ferr != nil {
		return false, ferr
	}
	unresumed := push(workflow.WithLocalActivityOptions(ctx, suspendOptions), rec.Nodes, &o.status)
	var resumedAt time.Time
	_ = workflow.SideEffect(ctx, func(workflow.Context) any { return time.Now() }).Get(&resumedAt)
	o.out = append(o.out, snapshotReplies(in, rec, failure, unresumed, resumedAt.Sub(suspendedAt))...)
	return failure == nil, err
}

// snapshotFailure is why taking snapshots failed, and the flag it
// leaves on them.
type snapshotFailure struct {
	flag    string
	replies apicall.RcList
}

// suspendAndTake runs the suspend, check and take phases.
func (o *operation) suspendAndTake(in activities.SnapshotCreateInput, rec activities.SnapshotStep) (*snapshotFailure, error) {
	var a *activities.Activities
	pushCtx := workflow.WithLocalActivityOptions(o.ctx, suspendOptions)
	o.status.State = "suspending I/O"
	if failed := push(pushCtx, rec.Nodes, &o.status); len(failed) > 0 {
		return nodeFailures(in, "suspend I/O", failed), nil
	}
	o.status.State = "checking that the replicas are UpToDate"
	var stale apicall.RcList
	if err := workflow.ExecuteLocalActivity(o.ctx, a.CheckUpToDate, in).Get(o.ctx, &stale); err != nil {
		return &snapshotFailure{flag: store.SnapshotFailedDeployment}, err
	}
	if len(stale) > 0 {
		return &snapshotFailure{flag: store.SnapshotFailedDeployment, replies: stale}, nil
	}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SetSnapshotPhase, activities.SnapshotPhaseInput{Phase: store.PhaseTake, Snapshots: in.Refs()}).Get(o.ctx, nil); err != nil {
		return &snapshotFailure{flag: store.SnapshotFailedDeployment}, err
	}
	var taking []string
	for _, nodes := range rec.Taking {
		taking = activities.Union(taking, nodes)
	}
	o.status.State = "taking the snapshots"
	if failed := push(pushCtx, taking, &o.status); len(failed) > 0 {
		return nodeFailures(in, "take the snapshot", failed), nil
	}
	return nil, nil
}

// nodeFailures words the nodes that failed a phase: FAILED_DISCONNECT
// when one was not connected, else FAILED_DEPLOYMENT.
func nodeFailures(in activities.SnapshotCreateInput, phase string, failed map[string]error) *snapshotFailure {
	f := &snapshotFailure{flag: store.SnapshotFailedDeployment}
	for _, n := range slices.Sorted(maps.Keys(failed)) {
		code := apicall.FailUnknownError
		if notOnline(failed[n]) {
			code, f.flag = apicall.FailNotConnected, store.SnapshotFailedDisconnect
		}
		for _, ref := range in.Refs() {
			rc := apicall.NewRc(code, apicall.MaskCrt, apicall.MaskSnapshot, fmt.Sprintf("Snapshot '%s' of resource '%s' failed: node '%s' could not %s.", ref.Snapshot, ref.Resource, n, phase))
			rc.Cause = cause(failed[n])
			rc.Correction = "The snapshot is flagged failed and its parts removed; delete it and take it again."
			rc.ObjRefs = map[string]string{"RscDfn": ref.Resource, "Snapshot": ref.Snapshot, "Node": n}
			f.replies = append(f.replies, rc)
		}
	}
	return f
}

// snapshotReplies are the phases' entries, in LINSTOR's words.
func snapshotReplies(in activities.SnapshotCreateInput, rec activities.SnapshotStep, failure *snapshotFailure, unresumed map[string]error, suspended time.Duration) apicall.RcList {
	var out apicall.RcList
	add := func(code uint64, ref store.SnapshotRef, node, msg string) *apicall.ApiCallRc {
		rc := apicall.NewRc(code, apicall.MaskCrt, apicall.MaskSnapshot, msg)
		rc.ObjRefs = map[string]string{"RscDfn": ref.Resource, "Snapshot": ref.Snapshot, "Node": node}
		out = append(out, rc)
		return &out[len(out)-1]
	}
	for _, ref := range in.Refs() {
		if failure == nil {
			for _, n := range rec.Nodes {
				add(apicall.MaskInfo, ref, n, fmt.Sprintf("Suspended IO of '%s' on '%s' for snapshot", ref.Resource, n))
			}
			for _, n := range rec.Taking[ref.Resource] {
				add(apicall.MaskInfo, ref, n, fmt.Sprintf("Took snapshot of '%s' on '%s'", ref.Resource, n))
			}
		}
		for _, n := range rec.Nodes {
			if err, ok := unresumed[n]; ok {
				rc := add(apicall.WarnNodeNotReached, ref, n, fmt.Sprintf("Unable to abort snapshot process on disconnected satellite '%s'", n))
				rc.Cause, rc.Details = cause(err), "IO may be suspended until the connection to the satellite is re-established"
				continue
			}
			rc := add(apicall.MaskInfo, ref, n, fmt.Sprintf("Resumed IO of '%s' on '%s' after snapshot", ref.Resource, n))
			rc.Details = fmt.Sprintf("I/O was held for at most %d ms.", suspended.Milliseconds())
		}
	}
	if failure != nil {
		out = append(out, failure.replies...)
	}
	return out
}

// SnapshotDelete removes a snapshot from its nodes (or from the nodes
// named) and then from the database. A snapshot that is not there
// answers a warning: deleting is idempotent.
func SnapshotDelete(ctx workflow.Context, in activities.SnapshotDeleteInput) (Outcome, error) {
	return locked(ctx, "deleting the snapshot", []string{store.ResourceDefinitionLock(in.Resource)}, func(o *operation) error {
		return o.deleteSnapshot(in)
	})
}

func (o *operation) deleteSnapshot(in activities.SnapshotDeleteInput) error {
	var a *activities.Activities
	s, ok, err := o.step("marking the snapshot for deletion", a.MarkSnapshotDeleting, in)
	if err != nil || !ok || len(s.Nodes) == 0 {
		return err
	}
	push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), s.Nodes, &o.status)
	var replies apicall.RcList
	report := activities.SnapshotDeleteInput{Resource: in.Resource, Snapshot: in.Snapshot, Nodes: s.Nodes}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SnapshotDeleteReport, report).Get(o.ctx, &replies); err != nil {
		return err
	}
	o.out = append(o.out, replies...)
	return nil
}

// SnapshotRestore creates a definition's resources from a snapshot:
// each node's volumes are clones of its part of the snapshot; then
// auto-quorum and the deploy, and the restore marks go.
func SnapshotRestore(ctx workflow.Context, in activities.SnapshotRestoreInput) (Outcome, error) {
	locks := definitionLocks([]store.SnapshotRef{{Resource: in.Resource}, {Resource: in.To}})
	return locked(ctx, "restoring the snapshot", locks, func(o *operation) error {
		var a *activities.Activities
		s, ok, err := o.step("recording the restored resources", a.RestoreResources, in)
		if err != nil || !ok {
			return err
		}
		if err := o.quorum(in.To); err != nil {
			return err
		}
		if err := o.deploy(s.Nodes, in.To); err != nil {
			return err
		}
		o.status.State = "ending the restore"
		return workflow.ExecuteLocalActivity(o.ctx, a.FinishRestore, in.To).Get(o.ctx, nil)
	})
}

// SnapshotRollback makes a definition's data a snapshot's again, as
// LINSTOR does: a safety snapshot first, then every resource is taken
// down and its volumes made again from the snapshot; if that fails, the
// same from the safety snapshot. The safety snapshot goes at the end.
func SnapshotRollback(ctx workflow.Context, in activities.RollbackInput) (Outcome, error) {
	return locked(ctx, "rolling back", []string{store.ResourceDefinitionLock(in.Resource)}, func(o *operation) error {
		return o.rollback(in)
	})
}

// rollback is SnapshotRollback's work, under the definition's lock.
func (o *operation) rollback(in activities.RollbackInput) error {
	var a *activities.Activities
	s, ok, err := o.step("checking the rollback", a.CheckRollback, in)
	if err != nil || !ok {
		return err
	}
	// The name comes from the run, not from a side effect: a crash
	// before the side effect was recorded would otherwise give the
	// step that records the snapshot, run again, another name than
	// the one it recorded.
	safety := "safety-snap-" + runName(workflow.GetInfo(o.ctx).WorkflowExecution.RunID, 10)
	taken, err := o.takeSnapshots(activities.SnapshotCreateInput{Snapshots: []store.SnapshotSpec{{Resource: in.Resource, Name: safety, Flags: store.NewFlags(store.SnapshotSafety)}}})
	if err != nil || !taken {
		return err
	}
	rerr := o.rollbackTo(in.Resource, in.Snapshot, s.Nodes)
	if rerr != nil {
		rc := apicall.NewRc(apicall.InfoRecoveringFailedRollback, apicall.MaskMod, apicall.MaskSnapshot, fmt.Sprintf("Rollback of '%s' to '%s' failed; restoring the data of before from the safety snapshot '%s'.", in.Resource, in.Snapshot, safety))
		rc.Cause = cause(rerr)
		o.out = append(o.out, rc)
		if err := o.rollbackTo(in.Resource, safety, s.Nodes); err != nil {
			return err
		}
		rc = apicall.NewRc(apicall.InfoAbortedFailedRollback, apicall.MaskMod, apicall.MaskSnapshot, fmt.Sprintf("Rollback of '%s' aborted; its data is as before the rollback.", in.Resource))
		o.out = append(o.out, rc)
	}
	if err := o.deleteSnapshot(activities.SnapshotDeleteInput{Resource: in.Resource, Snapshot: safety}); err != nil {
		return err
	}
	if rerr == nil {
		o.out = append(o.out, apicall.Success(apicall.Modified, apicall.MaskMod, apicall.MaskSnapshot,
			fmt.Sprintf("Resource '%s' rolled back to snapshot '%s'.", in.Resource, in.Snapshot), "", map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot})...)
	}
	return nil
}

// rollbackTo takes the definition's resources down on its nodes, makes
// their volumes again from the snapshot and brings them up; an error
// says which node failed.
func (o *operation) rollbackTo(rd, snap string, nodes []string) error {
	var a *activities.Activities
	ref := []store.SnapshotRef{{Resource: rd, Snapshot: snap}}
	pushCtx := workflow.WithLocalActivityOptions(o.ctx, pushOptions)
	for _, phase := range []string{store.PhaseRollbackDown, store.PhaseRollbackRestore, ""} {
		o.status.State = "rolling back: " + map[string]string{store.PhaseRollbackDown: "taking the resources down", store.PhaseRollbackRestore: "making the volumes from " + snap, "": "bringing the resources up"}[phase]
		if err := workflow.ExecuteLocalActivity(o.ctx, a.SetSnapshotPhase, activities.SnapshotPhaseInput{Phase: phase, Snapshots: ref}).Get(o.ctx, nil); err != nil {
			return err
		}
		if failed := push(pushCtx, nodes, &o.status); len(failed) > 0 {
			var why []string
			for _, n := range slices.Sorted(maps.Keys(failed)) {
				why = append(why, fmt.Sprintf("node '%s': %s", n, cause(failed[n])))
			}
			return temporal.NewApplicationError(strings.Join(why, "; "), "RollbackFailed")
		}
	}
	var replies apicall.RcList
	in := activities.DeployReportInput{Resource: rd, WorkflowID: workflow.GetInfo(o.ctx).WorkflowExecution.ID, Nodes: nodes}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.DeployReport, in).Get(o.ctx, &replies); err != nil {
		return err
	}
	if replies.HasError() {
		var why []string
		for _, r := range replies {
			if r.IsError() {
				why = append(why, r.Message)
			}
		}
		return temporal.NewApplicationError(strings.Join(why, "; "), "RollbackFailed")
	}
	return nil
}

// runName is n letters and digits that a run's id determines (LINSTOR's
// random safety snapshot suffix).
func runName(runID string, n int) string {
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(runID))
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[int(sum[i])%len(alnum)]
	}
	return string(b)
}
