package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/agent/proto"
	"strata/apicall"
	"strata/store"
)

// A shipment runs as long as the data takes. The agent's progress is
// its heartbeat: a job whose node or controller stops reporting for 20 s
// is taken to be gone, and starts again, sending only what the bucket
// does not hold yet.
var shipOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 24 * time.Hour,
	HeartbeatTimeout:    10 * activities.HeartbeatInterval,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 20},
}

// BackupCreate ships a snapshot of a definition to an S3 remote: it
// checks the request, takes the snapshot (unless it exists), answers the
// request, waits for a shipping slot on a node that holds the snapshot,
// has that node's agent upload it, and commits the backup with its meta.
// Progress (bytes, rate) is in the status query.
func BackupCreate(ctx workflow.Context, in activities.BackupCreateInput) (Outcome, error) {
	var a *activities.Activities
	return shipment(ctx, in, shipSteps{plan: a.PlanBackup, fail: a.FailBackup, move: (*operation).upload})
}

// shipSteps are the steps in which shipping to S3 and to another
// cluster differ: the plan and the failure are local activities, move
// ships the snapshot from the node that has the slot.
type shipSteps struct {
	plan, fail any
	move       func(o *operation, ship *activities.ShipInput) error
}

// shipment checks a shipment, takes its snapshot (unless it exists),
// answers the request, waits for a slot on a node that holds the
// snapshot and moves the data from there.
func shipment(ctx workflow.Context, in activities.BackupCreateInput, steps shipSteps) (Outcome, error) {
	o, err := begin(ctx, "checking the backup")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	var plan activities.BackupPlan
	if err := workflow.ExecuteLocalActivity(o.ctx, steps.plan, in).Get(o.ctx, &plan); err != nil {
		return o.finish(err)
	}
	o.out = append(o.out, plan.Replies...)
	if plan.Refused() {
		return o.finish(nil)
	}
	if plan.Take {
		if err := o.lock(store.ResourceDefinitionLock(in.Resource)); err != nil {
			return o.finish(err)
		}
		taken, err := o.takeSnapshots(activities.SnapshotCreateInput{Snapshots: []store.SnapshotSpec{{Resource: in.Resource, Name: in.Snapshot}}})
		if err == nil {
			err = o.unlock()
		}
		if err != nil || !taken {
			return o.finish(err)
		}
	}
	ship := activities.ShipInput{BackupCreateInput: in, Plan: plan}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SetShippingStatus, ship, store.ShippingPrepare).Get(o.ctx, nil); err != nil {
		return o.finish(err)
	}
	rc := apicall.NewRc(apicall.MaskInfo, apicall.MaskCrt, apicall.MaskBackup, fmt.Sprintf("Shipping of resource %s to remote %s in progress.", in.Resource, in.Remote))
	rc.ObjRefs = map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot, "Remote": in.Remote}
	o.out = append(o.out, rc)
	o.status.Accepted = o.out

	err = o.ship(&ship, steps.move)
	dctx, _ := workflow.NewDisconnectedContext(o.ctx)
	if err != nil {
		status := store.ShippingFailed
		if temporal.IsCanceledError(err) {
			status = store.ShippingAborted
		}
		if ferr := workflow.ExecuteLocalActivity(dctx, steps.fail, ship, status).Get(dctx, nil); ferr != nil {
			return o.finish(ferr)
		}
	}
	// The slot goes to the oldest shipments waiting for that node at once,
	// as LINSTOR's per-node queue does. (Runs from before this existed
	// gave it back at the end only.)
	if ship.Node != "" && workflow.GetVersion(dctx, "wake-queued-shipments", workflow.DefaultVersion, 1) == 1 {
		o.locked = false
		if rerr := workflow.ExecuteLocalActivity(dctx, a.Release).Get(dctx, nil); rerr != nil && err == nil {
			err = rerr
		}
		wake := activities.WakeInput{Node: ship.Node, IDPrefix: BackupCreatePrefix, ShipPrefix: BackupShipPrefix}
		_ = workflow.ExecuteLocalActivity(dctx, a.WakeQueuedShipments, wake).Get(dctx, nil) // best effort: the waiting look again in a minute
	}
	return o.finish(err)
}

// slotOptions take a shipping slot: a node whose slots are all taken
// answers at once, and the shipment waits for one to be given back.
var slotOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: 5 * time.Second, MaximumAttempts: 10,
		NonRetryableErrorTypes: []string{activities.SlotsFullErrorType}},
}

// slotRecheck is how long a queued shipment waits, at most, before it
// looks for a slot again without being woken.
const slotRecheck = time.Minute

// ship waits for a slot (woken by the shipment that gives one back, or
// looking again every slotRecheck) and moves the data; ship.Node is the
// node that shipped.
func (o *operation) ship(ship *activities.ShipInput, move func(o *operation, ship *activities.ShipInput) error) error {
	var a *activities.Activities
	var nodes []string
	if err := workflow.ExecuteLocalActivity(o.ctx, a.BackupNodes, *ship).Get(o.ctx, &nodes); err != nil {
		return err
	}
	o.status.State = fmt.Sprintf("waiting for a backup shipping slot on %v", nodes)
	o.locked = true // a slot taken is given back by finish
	woken := workflow.GetSignalChannel(o.ctx, activities.SlotFreedSignal)
	for {
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(o.ctx, slotOptions), a.TakeBackupSlot, nodes).Get(o.ctx, &ship.Node)
		var app *temporal.ApplicationError
		if err == nil {
			break
		}
		if !errors.As(err, &app) || app.Type() != activities.SlotsFullErrorType {
			return err
		}
		timer, cancel := workflow.WithCancel(o.ctx)
		sel := workflow.NewSelector(o.ctx)
		sel.AddReceive(woken, func(c workflow.ReceiveChannel, _ bool) { c.Receive(o.ctx, nil) })
		sel.AddFuture(workflow.NewTimer(timer, slotRecheck), func(workflow.Future) {})
		sel.Select(o.ctx)
		cancel()
		if err := o.ctx.Err(); err != nil {
			return temporal.NewCanceledError()
		}
	}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SetShippingStatus, *ship, store.ShippingRunning).Get(o.ctx, nil); err != nil {
		return err
	}
	o.status.State = "shipping from " + ship.Node
	o.followProgress()
	return move(o, ship)
}

// moveOptions are a shipment's options for the activity that moves the
// data.
func moveOptions(ship *activities.ShipInput) workflow.ActivityOptions {
	opts := shipOptions
	if ship.ShipAttempts > 0 {
		retry := *opts.RetryPolicy
		retry.MaximumAttempts = ship.ShipAttempts
		opts.RetryPolicy = &retry
	}
	return opts
}

// upload has the node's agent upload the snapshot to S3 and commits the
// backup with its meta.
func (o *operation) upload(ship *activities.ShipInput) error {
	var a *activities.Activities
	var vols []activities.ShippedVolume
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, moveOptions(ship)), a.ShipBackup, *ship).Get(o.ctx, &vols); err != nil {
		return err
	}
	o.status.State = "committing the backup"
	if err := workflow.ExecuteLocalActivity(o.ctx, a.CommitBackup, activities.CommitInput{ShipInput: *ship, Volumes: vols}).Get(o.ctx, nil); err != nil {
		return err
	}
	o.shipped(ship, vols, "Backup "+ship.Plan.Name.ID())
	return nil
}

// shipped answers what a shipment moved.
func (o *operation) shipped(ship *activities.ShipInput, vols []activities.ShippedVolume, what string) {
	var moved proto.JobProgress
	for _, v := range vols {
		moved.TotalBytes, moved.ReadBytes, moved.SentBytes = moved.TotalBytes+v.Moved.TotalBytes, moved.ReadBytes+v.Moved.ReadBytes, moved.SentBytes+v.Moved.SentBytes
	}
	o.out = append(o.out, apicall.Success(apicall.Created, apicall.MaskCrt, apicall.MaskBackup,
		fmt.Sprintf("%s of resource %s shipped to remote %s: %d KiB read and %d KiB sent of %d KiB.", what, ship.Resource, ship.Remote,
			moved.ReadBytes>>10, moved.SentBytes>>10, moved.TotalBytes>>10), "", map[string]string{"RscDfn": ship.Resource, "Snapshot": ship.Snapshot, "Remote": ship.Remote})...)
}

// followProgress keeps the status up to date with the progress the data
// moving activity signals.
func (o *operation) followProgress() {
	ch := workflow.GetSignalChannel(o.ctx, activities.ProgressSignal)
	workflow.Go(o.ctx, func(ctx workflow.Context) {
		var at time.Time
		var before int64
		for {
			var p proto.JobProgress
			if !ch.Receive(ctx, &p) {
				return
			}
			now := workflow.Now(ctx)
			if !at.IsZero() && now.After(at) {
				o.status.BytesPerSecond = (p.DoneBytes - before) * int64(time.Second) / int64(now.Sub(at))
			}
			at, before = now, p.DoneBytes
			o.status.DoneBytes, o.status.TotalBytes = p.DoneBytes, p.TotalBytes
			if p.TotalBytes > 0 {
				o.status.Percent = int(100 * p.DoneBytes / p.TotalBytes)
			}
		}
	})
}

// BackupDelete deletes backups from a remote and collects the chunks no
// backup uses any more; then the local snapshots they were shipped from,
// unless the request keeps them.
func BackupDelete(ctx workflow.Context, in activities.BackupDeleteInput) (Outcome, error) {
	o, err := begin(ctx, "deleting backups")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	var d activities.BackupDeletion
	if err := workflow.ExecuteLocalActivity(o.ctx, a.DeleteBackups, in).Get(o.ctx, &d); err != nil {
		return o.finish(err)
	}
	o.out = append(o.out, d.Replies...)
	if len(d.Snapshots) == 0 {
		return o.finish(nil)
	}
	if err := o.lock(definitionLocks(d.Snapshots)...); err != nil {
		return o.finish(err)
	}
	for _, sn := range d.Snapshots {
		if err := o.deleteSnapshot(activities.SnapshotDeleteInput{Resource: sn.Resource, Snapshot: sn.Snapshot}); err != nil {
			return o.finish(err)
		}
	}
	return o.finish(nil)
}

// BackupRestore downloads a backup from an S3 remote into a snapshot of
// the target definition on one node, and, unless the definition has
// diskful resources already or only the download is asked for, restores
// the definition's resource on that node from it. Forced, the one
// diskful resource the definition has, on that node, is rolled back to
// the backup's data.
func BackupRestore(ctx workflow.Context, in activities.BackupRestoreInput) (Outcome, error) {
	return locked(ctx, "checking the restore", []string{store.ResourceDefinitionLock(in.Target)}, func(o *operation) error {
		var a *activities.Activities
		o.status.State = "recording the download"
		var plan activities.RestorePlan
		if err := workflow.ExecuteLocalActivity(o.ctx, a.RecordBackupRestore, in).Get(o.ctx, &plan); err != nil {
			return err
		}
		o.out = append(o.out, plan.Replies...)
		if plan.Refused() {
			return nil
		}
		o.status.Accepted = o.out
		o.status.State = "downloading to " + in.Node
		o.followProgress()
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, shipOptions), a.DownloadBackup, in, plan).Get(o.ctx, nil); err != nil {
			o.downloadFailed(in.Target, plan)
			return err
		}
		return o.restoreDownloaded(in.Target, in.Node, plan)
	})
}

// downloadFailed marks the snapshot a download could not bring.
func (o *operation) downloadFailed(rd string, plan activities.RestorePlan) {
	var a *activities.Activities
	ctx, _ := workflow.NewDisconnectedContext(o.ctx)
	ref := []store.SnapshotRef{{Resource: rd, Snapshot: plan.Snapshot}}
	_ = workflow.ExecuteLocalActivity(ctx, a.FinishSnapshots, activities.FinishSnapshotsInput{Flag: store.SnapshotFailedDeployment, Snapshots: ref}).Get(ctx, nil)
}

// restoreDownloaded marks a downloaded snapshot successful and, as the
// plan says, rolls the definition's one resource back to it, keeps only
// the snapshot, or restores the definition's resource on the node.
func (o *operation) restoreDownloaded(rd, node string, plan activities.RestorePlan) error {
	if err := o.downloaded(rd, plan); err != nil {
		return err
	}
	return o.restoreFrom(rd, node, plan)
}

// downloaded marks a downloaded snapshot successful.
func (o *operation) downloaded(rd string, plan activities.RestorePlan) error {
	var a *activities.Activities
	ref := []store.SnapshotRef{{Resource: rd, Snapshot: plan.Snapshot}}
	return workflow.ExecuteLocalActivity(o.ctx, a.FinishSnapshots, activities.FinishSnapshotsInput{Flag: store.SnapshotSuccessful, Snapshots: ref}).Get(o.ctx, nil)
}

// restoreFrom does with a downloaded snapshot what the plan says.
func (o *operation) restoreFrom(rd, node string, plan activities.RestorePlan) error {
	var a *activities.Activities
	if plan.ForceRestore {
		return o.rollback(activities.RollbackInput{Resource: rd, Snapshot: plan.Snapshot})
	}
	if plan.DownloadOnly {
		return nil
	}
	o.status.State = "restoring the resource"
	if err := workflow.ExecuteLocalActivity(o.ctx, a.RestoreVolumeDefinitions, rd, plan.Snapshot).Get(o.ctx, nil); err != nil {
		return err
	}
	spec := activities.SnapshotRestoreInput{RestoreSpec: store.RestoreSpec{Resource: rd, Snapshot: plan.Snapshot, To: rd, Nodes: []string{node}}}
	s, ok, err := o.step("recording the restored resource", a.RestoreResources, spec)
	if err != nil || !ok {
		return err
	}
	if err := o.quorum(rd); err != nil {
		return err
	}
	if err := o.deploy(s.Nodes, rd); err != nil {
		return err
	}
	return workflow.ExecuteLocalActivity(o.ctx, a.FinishRestore, rd).Get(o.ctx, nil)
}
