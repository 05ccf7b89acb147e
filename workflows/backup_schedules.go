package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/backups"
	"strata/store"
)

// BackupSchedules makes the Temporal Schedules of scheduled shipping
// match the database. A change of schedules, of where they are enabled,
// of definitions or remotes signals it (starting it if none runs); it
// reconciles until no change came in meanwhile.
func BackupSchedules(ctx workflow.Context) (Outcome, error) {
	o, err := begin(ctx, "reconciling the backup shipping schedules")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	signals := workflow.GetSignalChannel(ctx, BackupSchedulesSignal)
	in := activities.BackupSchedulesInput{Workflow: "ScheduledBackup", TaskQueue: workflow.GetInfo(ctx).TaskQueueName,
		SchedulePrefix: BackupSchedulePrefix, RunPrefix: ScheduledBackupRunPrefix}
	for {
		for signals.ReceiveAsync(nil) {
		}
		var counts [3]int
		if err := workflow.ExecuteLocalActivity(o.ctx, a.ReconcileBackupSchedules, in).Get(o.ctx, &counts); err != nil {
			return o.finish(err)
		}
		o.out = apicall.RcList{apicall.NewRc(apicall.MaskInfo, apicall.MaskMod, apicall.MaskSchedule,
			fmt.Sprintf("Backup shipping schedules: %d created, %d changed, %d deleted.", counts[0], counts[1], counts[2]))}
		if signals.Len() == 0 {
			return o.finish(nil)
		}
	}
}

// retryAfter is how long a failed scheduled shipment waits before it is
// tried again (on_failure RETRY), as in LINSTOR.
const retryAfter = 60 * time.Second

// ScheduledBackup is one tick of a definition's shipping to a remote on
// a schedule: a full or incremental backup (the schedule's timing
// decides, full when both are due), retried after a minute as often as
// the schedule says when it fails with RETRY; after a full one, the
// snapshots and backups beyond keep_local and keep_remote go.
func ScheduledBackup(ctx workflow.Context, in activities.ScheduledBackupInput) (Outcome, error) {
	o, err := begin(ctx, fmt.Sprintf("scheduled backup of %s to %s", in.Resource, in.Remote))
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	var plan activities.ScheduledPlan
	if err := workflow.ExecuteLocalActivity(o.ctx, a.PlanScheduledBackup, in, workflow.Now(ctx)).Get(o.ctx, &plan); err != nil {
		return o.finish(err)
	}
	if plan.Skip != "" {
		rc := apicall.NewRc(apicall.MaskInfo, apicall.MaskCrt, apicall.MaskBackup, "Scheduled backup skipped: "+plan.Skip)
		rc.ObjRefs = map[string]string{"RscDfn": in.Resource, "Remote": in.Remote}
		o.out = append(o.out, rc)
		return o.finish(nil)
	}
	for try := 1; ; try++ {
		var ship activities.BackupCreateInput
		if err := workflow.ExecuteLocalActivity(o.ctx, a.StartScheduledShipment, in, plan).Get(o.ctx, &ship); err != nil {
			return o.finish(err)
		}
		o.status.State = fmt.Sprintf("shipping %s (%s)", ship.BackupID, map[bool]string{true: "incremental", false: "full"}[plan.Incremental])
		before := len(o.out)
		var err error
		if ship.Ship != nil {
			err = o.child(BackupShipID(ship.Remote, ship.Resource, ship.Snapshot), BackupShip, ship)
		} else {
			err = o.child(BackupCreateID(ship.Remote, ship.Resource, ship.Snapshot), BackupCreate, ship)
		}
		failed := err != nil || o.out[before:].HasError()
		if !plan.Incremental {
			if err := o.keep(in, plan); err != nil {
				return o.finish(err)
			}
		}
		if !failed {
			return o.finish(nil)
		}
		if plan.OnFailure != store.OnFailureRetry || (plan.MaxRetries != nil && try > int(*plan.MaxRetries)) {
			if err == nil {
				err = fmt.Errorf("the scheduled backup of %s to %s failed", in.Resource, in.Remote)
			}
			return o.finish(err)
		}
		max := "forever"
		if plan.MaxRetries != nil {
			max = fmt.Sprint(*plan.MaxRetries)
		}
		rc := apicall.NewRc(apicall.MaskWarn, apicall.MaskCrt, apicall.MaskBackup,
			fmt.Sprintf("Shipping of resource %s to remote %s will be retried for the %d. time. Max retries: %s", in.Resource, in.Remote, try, max))
		o.out = append(o.out, rc)
		o.status.State = fmt.Sprintf("waiting %v to retry", retryAfter)
		if err := workflow.Sleep(ctx, retryAfter); err != nil {
			return o.finish(err)
		}
	}
}

// keep deletes what keep_local and keep_remote let go after a full
// shipment: local snapshots with their incremental chains, and, on an
// S3 remote, the oldest full backups with theirs.
func (o *operation) keep(in activities.ScheduledBackupInput, plan activities.ScheduledPlan) error {
	var a *activities.Activities
	if plan.KeepLocal != nil {
		var snaps []string
		if err := workflow.ExecuteLocalActivity(o.ctx, a.ScheduledSnapshotsBeyondKeep, in, int(*plan.KeepLocal)).Get(o.ctx, &snaps); err != nil {
			return err
		}
		for _, snap := range snaps {
			rc := apicall.NewRc(apicall.MaskInfo, apicall.MaskDel, apicall.MaskSnapshot, fmt.Sprintf("Snapshot %s of %s deleted due to schedule %s (keep-local %d).", snap, in.Resource, in.Schedule, *plan.KeepLocal))
			rc.ObjRefs = map[string]string{"RscDfn": in.Resource, "Snapshot": snap}
			o.out = append(o.out, rc)
			if err := o.child(SnapshotDeleteID(in.Resource, snap, nil), SnapshotDelete, activities.SnapshotDeleteInput{Resource: in.Resource, Snapshot: snap}); err != nil {
				return err
			}
		}
	}
	if plan.KeepRemote != nil && plan.S3 {
		var ids []string
		if err := workflow.ExecuteLocalActivity(o.ctx, a.ScheduledBackupsBeyondKeep, in, int(*plan.KeepRemote)).Get(o.ctx, &ids); err != nil {
			return err
		}
		for _, id := range ids {
			q := backups.DeleteQuery{ID: id, Cascading: true, KeepSnaps: true}
			if err := o.child(BackupDeleteID(in.Remote, q), BackupDelete, activities.BackupDeleteInput{Remote: in.Remote, Query: q}); err != nil {
				return err
			}
		}
	}
	return nil
}
