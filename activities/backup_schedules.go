package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"strata/agent/proto/bucket"
	"strata/schedules"
	"strata/store"
)

// ScheduledBackupInput is one definition's shipping to a remote on a
// schedule: what one Temporal Schedule runs.
type ScheduledBackupInput struct {
	Resource string `json:"resource"`
	Remote   string `json:"remote"`
	Schedule string `json:"schedule"`
}

// BackupSchedulesInput says what the schedules of scheduled shipping
// start: the workflow, on which task queue, and the id prefixes of the
// schedules and their runs (followed by definition, remote and schedule,
// lower-cased).
type BackupSchedulesInput struct {
	Workflow, TaskQueue       string
	SchedulePrefix, RunPrefix string
}

func (in BackupSchedulesInput) names(t ScheduledBackupInput) (schedule, run string) {
	tail := strings.ToLower(t.Resource + ":" + t.Remote + ":" + t.Schedule)
	return in.SchedulePrefix + tail, in.RunPrefix + tail
}

// ReconcileBackupSchedules makes the Temporal Schedules of scheduled
// shipping match the database: one per definition, remote and schedule
// that is enabled (the definition over its resource group over the
// controller), ticking on the schedule's full and incremental cron
// expressions in the controller's time zone. A run missed while the
// controller was down is caught up once (a skipped overlap for the
// others). It returns how many schedules it created, changed and
// deleted.
func (a *Activities) ReconcileBackupSchedules(ctx context.Context, in BackupSchedulesInput) ([3]int, error) {
	rds, err := a.Store.ScheduledResources(ctx)
	if err != nil {
		return [3]int{}, err
	}
	known, err := a.Store.SchedulesByKey(ctx)
	if err != nil {
		return [3]int{}, err
	}
	remotes, err := a.Store.ListRemotes(ctx)
	if err != nil {
		return [3]int{}, err
	}
	remoteNames := map[string]string{}
	for _, r := range remotes {
		remoteNames[r.RemoteName] = r.RemoteDspName
	}
	zone := schedules.Zone()
	want := map[string]client.ScheduleOptions{}
	for _, rd := range rds {
		for _, p := range rd.Pairs {
			sch, ok := known[store.Key(p.Schedule)]
			remote, rok := remoteNames[store.Key(p.Remote)]
			if !ok || !rok || !p.Enabled() {
				continue
			}
			t := ScheduledBackupInput{Resource: rd.Resource, Remote: remote, Schedule: sch.ScheduleDspName}
			id, run := in.names(t)
			crons := []string{sch.FullCron}
			if sch.IncCron != "" {
				crons = append(crons, sch.IncCron)
			}
			want[id] = client.ScheduleOptions{
				ID:      id,
				Spec:    client.ScheduleSpec{CronExpressions: crons, TimeZoneName: zone},
				Action:  &client.ScheduleWorkflowAction{ID: run, Workflow: in.Workflow, Args: []any{t}, TaskQueue: in.TaskQueue},
				Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
				// The note is how a schedule's timing is compared: the
				// server keeps cron expressions only compiled.
				Note: fmt.Sprintf("Backups of %s to %s on schedule %s: full %q, incremental %q, time zone %s", t.Resource, t.Remote, t.Schedule, sch.FullCron, sch.IncCron, zone),
				Memo: map[string]any{"resource_definition": t.Resource, "remote": t.Remote, "schedule": t.Schedule},
			}
		}
	}
	return a.reconcileSchedules(ctx, in.SchedulePrefix, want, func(d *client.ScheduleDescription, o client.ScheduleOptions) bool {
		return d.Schedule.State != nil && d.Schedule.State.Note == o.Note
	})
}

// ScheduledPlan is what a scheduled run does: nothing (Skip says why),
// or ship with the schedule's settings.
type ScheduledPlan struct {
	Skip        string `json:"skip,omitempty"`
	Incremental bool   `json:"incremental,omitempty"`
	PrefNode    string `json:"pref_node,omitempty"`
	OnFailure   string `json:"on_failure"`
	MaxRetries  *int32 `json:"max_retries,omitempty"`
	KeepLocal   *int32 `json:"keep_local,omitempty"`
	KeepRemote  *int32 `json:"keep_remote,omitempty"`
	// S3 is whether the remote is an S3 remote (keep_remote applies).
	S3 bool `json:"s3,omitempty"`
}

// PlanScheduledBackup decides a scheduled run at now: skipped when the
// definition, remote or schedule is gone, the pair no longer enabled, or
// the definition has no resources; else full or incremental as the
// schedule's timing says (schedules.Timing.Incremental).
func (a *Activities) PlanScheduledBackup(ctx context.Context, in ScheduledBackupInput, now time.Time) (ScheduledPlan, error) {
	rds, err := a.Store.ScheduledResources(ctx, in.Resource)
	if err != nil {
		return ScheduledPlan{}, err
	}
	sch, err := a.Store.GetSchedule(ctx, in.Schedule)
	if _, ok := store.AsError(err); ok {
		return ScheduledPlan{Skip: fmt.Sprintf("The schedule %s is gone.", in.Schedule)}, nil
	} else if err != nil {
		return ScheduledPlan{}, err
	}
	remote, err := a.Store.GetRemote(ctx, in.Remote)
	if _, ok := store.AsError(err); ok {
		return ScheduledPlan{Skip: fmt.Sprintf("The remote %s is gone.", in.Remote)}, nil
	} else if err != nil {
		return ScheduledPlan{}, err
	}
	if len(rds) == 0 {
		return ScheduledPlan{Skip: fmt.Sprintf("The resource definition %s is gone.", in.Resource)}, nil
	}
	var pair *store.SchedulePair
	for i, p := range rds[0].Pairs {
		if store.Key(p.Remote) == remote.RemoteName && store.Key(p.Schedule) == sch.ScheduleName {
			pair = &rds[0].Pairs[i]
		}
	}
	switch {
	case pair == nil || !pair.Enabled():
		return ScheduledPlan{Skip: fmt.Sprintf("Shipping %s to %s on schedule %s is disabled.", in.Resource, in.Remote, in.Schedule)}, nil
	case !rds[0].Deployed:
		return ScheduledPlan{Skip: fmt.Sprintf("%s has no resources: nothing to ship.", in.Resource)}, nil
	}
	plan := ScheduledPlan{PrefNode: pair.PrefNode, OnFailure: sch.OnFailure, MaxRetries: sch.MaxRetries, KeepLocal: sch.KeepLocal, KeepRemote: sch.KeepRemote, S3: remote.Kind == store.RemoteS3}
	lastFull, err := a.lastScheduledFull(ctx, in)
	if err != nil {
		return ScheduledPlan{}, err
	}
	plan.Incremental = schedules.Timing{Full: sch.FullCron, Inc: sch.IncCron}.Incremental(lastFull, now)
	return plan, nil
}

// lastScheduledFull is when the newest full backup the schedule shipped
// of the definition to the remote started (zero: none).
func (a *Activities) lastScheduledFull(ctx context.Context, in ScheduledBackupInput) (time.Time, error) {
	snaps, err := a.Store.ListSnapshots(ctx, store.SnapshotFilter{Resources: []string{in.Resource}})
	if err != nil {
		return time.Time{}, err
	}
	var last int64
	for _, sn := range store.ScheduledFulls(snaps, in.Remote, in.Schedule) {
		last = max(last, store.BackupStartMs(sn, in.Remote))
	}
	if last == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(last), nil
}

// scheduledShipAttempts is how often a scheduled upload is tried before
// the shipment fails and the schedule's on_failure decides.
const scheduledShipAttempts = 3

// StartScheduledShipment names a scheduled shipment now (its backup id,
// which is also its snapshot's name, as LINSTOR names them) and notes
// on the definition when it started and whether it is incremental.
func (a *Activities) StartScheduledShipment(ctx context.Context, in ScheduledBackupInput, plan ScheduledPlan) (BackupCreateInput, error) {
	now := time.Now()
	id := bucket.BackupID(now)
	if err := a.Store.RecordScheduledShipment(ctx, in.Resource, in.Remote, in.Schedule, now.UnixMilli(), plan.Incremental); err != nil {
		return BackupCreateInput{}, err
	}
	ship := BackupCreateInput{Remote: in.Remote, Resource: in.Resource, Snapshot: id, BackupID: id, StartMs: now.UnixMilli(), Node: plan.PrefNode,
		Incremental: plan.Incremental, Schedule: in.Schedule, ShipAttempts: scheduledShipAttempts}
	if !plan.S3 {
		// To another cluster, into the definition of the same name there.
		ship.Ship = &ShipRequest{DstResource: in.Resource}
	}
	return ship, nil
}

// ScheduledSnapshotsBeyondKeep are the local snapshots keep_local lets
// go (store.ScheduledSnapshotsBeyondKeep).
func (a *Activities) ScheduledSnapshotsBeyondKeep(ctx context.Context, in ScheduledBackupInput, keep int) ([]string, error) {
	snaps, err := a.Store.ListSnapshots(ctx, store.SnapshotFilter{Resources: []string{in.Resource}})
	if err != nil {
		return nil, err
	}
	return store.ScheduledSnapshotsBeyondKeep(snaps, in.Remote, in.Schedule, keep), nil
}

// ScheduledBackupsBeyondKeep are the ids of the full backups keep_remote
// lets go, oldest first (backups.Listing.ScheduledBeyondKeep).
func (a *Activities) ScheduledBackupsBeyondKeep(ctx context.Context, in ScheduledBackupInput, keep int) ([]string, error) {
	b, _, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		return nil, err
	}
	l, err := b.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range l.ScheduledBeyondKeep(in.Resource, in.Schedule, keep) {
		out = append(out, e.Name.ID())
	}
	return out, nil
}
