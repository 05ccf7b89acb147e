package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"strata/apicall"
	"strata/restapi"
	"strata/schedules"
	"strata/store"
	"strata/workflows"
)

var scheduleNameRule = nameRule{"schedule", 2, 48, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldScheduleName}

// ReconcileBackupSchedules signals the reconcile of the Temporal
// Schedules of scheduled shipping, starting it when none runs; the
// controller also calls it at start.
func ReconcileBackupSchedules(ctx context.Context, c client.Client, queue string) error {
	_, err := c.SignalWithStartWorkflow(ctx, workflows.BackupSchedulesID, workflows.BackupSchedulesSignal, nil, client.StartWorkflowOptions{
		ID: workflows.BackupSchedulesID, TaskQueue: queue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.BackupSchedules)
	return err
}

// schedulesChanged makes the Temporal Schedules of scheduled shipping
// follow a change that may alter what runs (a schedule, where it is
// enabled, a definition, a remote), without waiting.
func (s *server) schedulesChanged(ctx context.Context) error {
	if s.Temporal == nil {
		return nil
	}
	return ReconcileBackupSchedules(ctx, s.Temporal, s.taskQueue())
}

func scheduleJSON(r store.ScheduleRow) restapi.Schedule {
	out := restapi.Schedule{ScheduleName: r.ScheduleDspName, FullCron: r.FullCron, KeepLocal: r.KeepLocal, KeepRemote: r.KeepRemote, OnFailure: &r.OnFailure, MaxRetries: r.MaxRetries}
	if r.IncCron != "" {
		out.IncCron = &r.IncCron
	}
	return out
}

// scheduleDescription is LINSTOR's: the name and the cron expressions.
func scheduleDescription(r store.ScheduleRow) string {
	d := fmt.Sprintf("Schedule: %s, FullCron: %s", r.ScheduleDspName, r.FullCron)
	if r.IncCron != "" {
		d += ", IncCron: " + r.IncCron
	}
	return d
}

// onFailure reads on_failure as LINSTOR does, ignoring case.
func onFailure(v *string, op uint64) (string, error) {
	switch {
	case v == nil || *v == "":
		return "", nil
	case strings.EqualFold(*v, store.OnFailureSkip), strings.EqualFold(*v, store.OnFailureRetry):
		return strings.ToUpper(*v), nil
	}
	return "", invalid(apicall.MaskError|apicall.MaskSchedule, op, apicall.MaskSchedule, fmt.Sprintf("Invalid on_failure '%s'.", apicall.Clip(*v)), "", "Use SKIP or RETRY.")
}

func (s *server) registerSchedules(h huma.API) {
	const obj = apicall.MaskSchedule
	huma.Register(h, developerOp("scheduleList", http.MethodGet, "/v1/schedules", "list every backup shipping schedule"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body restapi.ScheduleList }, error) {
			rows, err := s.Store.ListSchedules(ctx)
			if err != nil {
				return nil, failure(err, 0, obj, nil)
			}
			out := restapi.ScheduleList{Data: []restapi.Schedule{}}
			for _, r := range rows {
				out.Data = append(out.Data, scheduleJSON(r))
			}
			return &struct{ Body restapi.ScheduleList }{out}, nil
		})
	huma.Register(h, developerOp("scheduleCreate", http.MethodPost, "/v1/schedules", "create a backup shipping schedule"),
		func(ctx context.Context, in *struct{ Body restapi.Schedule }) (*rcOutput, error) {
			const op = apicall.MaskCrt
			b := in.Body
			refs := map[string]string{"Schedule": b.ScheduleName}
			if err := scheduleNameRule.check(b.ScheduleName, op, obj); err != nil {
				return nil, err
			}
			row := store.ScheduleRow{ScheduleName: b.ScheduleName, FullCron: b.FullCron, KeepLocal: b.KeepLocal, KeepRemote: b.KeepRemote, MaxRetries: b.MaxRetries, OnFailure: store.OnFailureSkip}
			if b.IncCron != nil {
				row.IncCron = *b.IncCron
			}
			for what, n := range map[string]*int32{"keep_local": b.KeepLocal, "keep_remote": b.KeepRemote, "max_retries": b.MaxRetries} {
				if n != nil && *n < 0 {
					return nil, invalid(apicall.MaskError|obj, op, obj, fmt.Sprintf("Invalid %s %d.", what, *n), "", "Give a number of 0 or more, or leave it out for all (forever).")
				}
			}
			of, err := onFailure(b.OnFailure, op)
			if err != nil {
				return nil, err
			}
			row.OnFailure = cmp.Or(of, store.OnFailureSkip)
			if err := schedules.Check(row.FullCron, row.IncCron); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			row, err = s.Store.CreateSchedule(ctx, row)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Created, op, obj, scheduleDescription(row)+" created successfully.", row.UUID, refs), nil
		})
	huma.Register(h, developerOp("scheduleModify", http.MethodPut, "/v1/schedules/{schedule}", "modify a backup shipping schedule"),
		func(ctx context.Context, in *struct {
			Schedule string `path:"schedule"`
			Body     restapi.ScheduleModify
		}) (*rcOutput, error) {
			const op = apicall.MaskMod
			b := in.Body
			refs := map[string]string{"Schedule": in.Schedule}
			of, err := onFailure(b.OnFailure, op)
			if err != nil {
				return nil, err
			}
			// A negative count is LINSTOR's "all" (keep) or "forever" (retry).
			count := func(n *int32, cur *int32) *int32 {
				switch {
				case n == nil:
					return cur
				case *n < 0:
					return nil
				}
				return n
			}
			row, err := s.Store.ModifySchedule(ctx, in.Schedule, func(r *store.ScheduleRow) error {
				if b.FullCron != nil && *b.FullCron != "" {
					r.FullCron = *b.FullCron
				}
				if b.IncCron != nil {
					r.IncCron = *b.IncCron
				}
				r.KeepLocal, r.KeepRemote, r.MaxRetries = count(b.KeepLocal, r.KeepLocal), count(b.KeepRemote, r.KeepRemote), count(b.MaxRetries, r.MaxRetries)
				r.OnFailure = cmp.Or(of, r.OnFailure)
				return schedules.Check(r.FullCron, r.IncCron)
			})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			if err := s.schedulesChanged(ctx); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, scheduleDescription(row)+" modified successfully.", row.UUID, refs), nil
		})
	huma.Register(h, developerOp("scheduleDelete", http.MethodDelete, "/v1/schedules/{schedule}", "delete a backup shipping schedule"),
		func(ctx context.Context, in *struct {
			Schedule string `path:"schedule"`
		}) (*rcOutput, error) {
			row, err := s.Store.DeleteSchedule(ctx, in.Schedule)
			return s.deletedWithSchedules(ctx, err, obj, map[string]string{"Schedule": in.Schedule}, fmt.Sprintf("Schedule: %s not found.", in.Schedule),
				fmt.Sprintf("Schedule: %s deleted.", row.ScheduleDspName), row.UUID)
		})

	base := "/v1/remotes/{remote_name}/backups/schedule/{schedule_name}"
	levelName := func(l store.ScheduleLevel) string {
		switch {
		case l.Resource != "":
			return fmt.Sprintf("for resource definition '%s'", l.Resource)
		case l.Group != "":
			return fmt.Sprintf("for resource group '%s'", l.Group)
		}
		return "on controller"
	}
	set := func(enabled bool) func(context.Context, *struct {
		SchedulePairPath
		Body restapi.BackupSchedule
	}) (*rcOutput, error) {
		return func(ctx context.Context, in *struct {
			SchedulePairPath
			Body restapi.BackupSchedule
		}) (*rcOutput, error) {
			const op = apicall.MaskMod
			refs := map[string]string{"Remote": in.Remote, "Schedule": in.Schedule}
			if in.Body.RscName != "" && in.Body.GrpName != "" {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "Name a resource definition or a resource group, not both.", "", "")
			}
			l := store.ScheduleLevel{Resource: in.Body.RscName, Group: in.Body.GrpName}
			if _, _, err := s.Store.SetBackupSchedule(ctx, l, in.Remote, in.Schedule, enabled, in.Body.NodeName); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			if err := s.schedulesChanged(ctx); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			verb := map[bool]string{true: "enabled", false: "disabled"}[enabled]
			return success(apicall.Modified, op, obj, fmt.Sprintf("Backup shipping schedule '%s' successfully %s %s to remote '%s'.", in.Schedule, verb, levelName(l), in.Remote), "", refs), nil
		}
	}
	huma.Register(h, developerOp("backupScheduleEnable", http.MethodPut, base+"/enable", "ship backups to a remote on a schedule"), set(true))
	huma.Register(h, developerOp("backupScheduleDisable", http.MethodPut, base+"/disable", "stop shipping backups to a remote on a schedule"), set(false))
	huma.Register(h, developerOp("backupScheduleDelete", http.MethodDelete, base+"/delete", "remove what a level says of a schedule"),
		func(ctx context.Context, in *struct {
			SchedulePairPath
			RscDfn string `query:"rsc_dfn_name"`
			RscGrp string `query:"rsc_grp_name"`
		}) (*rcOutput, error) {
			const op = apicall.MaskDel
			refs := map[string]string{"Remote": in.Remote, "Schedule": in.Schedule}
			l := store.ScheduleLevel{Resource: in.RscDfn, Group: in.RscGrp}
			if l.Resource != "" && l.Group != "" {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "Name a resource definition or a resource group, not both.", "", "")
			}
			if err := s.Store.DeleteBackupSchedule(ctx, l, in.Remote, in.Schedule); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			if err := s.schedulesChanged(ctx); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Deleted, op, obj, fmt.Sprintf("Backup shipping schedule '%s' to remote '%s' removed %s.", in.Schedule, in.Remote, levelName(l)), "", refs), nil
		})

	huma.Register(h, developerOp("scheduledResources", http.MethodGet, "/v1/view/schedules-by-resource", "list what each definition ships on which schedule"),
		func(ctx context.Context, in *struct {
			Rsc        string `query:"rsc"`
			Remote     string `query:"remote"`
			Schedule   string `query:"schedule"`
			ActiveOnly bool   `query:"active-only"`
		}) (*struct{ Body restapi.ScheduledRscsList }, error) {
			l, err := s.scheduledResources(ctx, in.Rsc, in.Remote, in.Schedule, in.ActiveOnly)
			if err != nil {
				return nil, failure(err, 0, obj, nil)
			}
			return &struct{ Body restapi.ScheduledRscsList }{l}, nil
		})
	huma.Register(h, developerOp("scheduleDetails", http.MethodGet, "/v1/view/schedules-by-resource/{rsc}", "what each level says of a definition's schedules"),
		func(ctx context.Context, in *struct {
			Rsc string `path:"rsc"`
		}) (*struct{ Body restapi.ScheduleDetailsList }, error) {
			if _, err := s.Store.GetResourceDefinition(ctx, in.Rsc); err != nil {
				return nil, notFoundOnly(err)
			}
			rds, err := s.Store.ScheduledResources(ctx, in.Rsc)
			if err != nil {
				return nil, failure(err, 0, obj, nil)
			}
			out := restapi.ScheduleDetailsList{Data: []restapi.ScheduleDetails{}}
			for _, rd := range rds {
				for _, p := range rd.Pairs {
					out.Data = append(out.Data, restapi.ScheduleDetails{RemoteName: p.Remote, ScheduleName: p.Schedule, Ctrl: p.Controller, RscGrp: p.Group, RscDfn: p.Resource})
				}
			}
			return &struct{ Body restapi.ScheduleDetailsList }{out}, nil
		})
}

// SchedulePairPath names a remote and a schedule in a path.
type SchedulePairPath struct {
	Remote   string `path:"remote_name"`
	Schedule string `path:"schedule_name"`
}

// scheduledResources is LINSTOR's list by resource: each definition's
// active shipping (enabled, deployed, its remote and schedule there) with
// its last and next times, and (unless activeOnly) why the others ship
// nothing: "none set", "disabled" for each disabled pair, "undeployed".
func (s *server) scheduledResources(ctx context.Context, rsc, remote, schedule string, activeOnly bool) (restapi.ScheduledRscsList, error) {
	var names []string
	if rsc != "" {
		names = []string{rsc}
	}
	rds, err := s.Store.ScheduledResources(ctx, names...)
	if err != nil {
		return restapi.ScheduledRscsList{}, err
	}
	known, err := s.Store.SchedulesByKey(ctx)
	if err != nil {
		return restapi.ScheduledRscsList{}, err
	}
	reason := func(rd, why string) restapi.ScheduledRscs {
		return restapi.ScheduledRscs{RscName: rd, Reason: why, LastSnapTime: -1, NextExecTime: -1, NextPlannedFull: -1, NextPlannedInc: -1}
	}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return -1
		}
		return t.UnixMilli()
	}
	out := restapi.ScheduledRscsList{Data: []restapi.ScheduledRscs{}}
	for _, rd := range rds {
		var disabled []store.SchedulePair
		enabled := false
		for _, p := range rd.Pairs {
			sch, ok := known[store.Key(p.Schedule)]
			if !p.Enabled() {
				disabled = append(disabled, p)
				continue
			}
			enabled = true
			if !ok || !rd.Deployed || (remote != "" && !strings.EqualFold(remote, p.Remote)) || (schedule != "" && !strings.EqualFold(schedule, p.Schedule)) {
				continue
			}
			t := schedules.Timing{Full: sch.FullCron, Inc: sch.IncCron}
			last := time.Now()
			if p.LastBackupMs >= 0 {
				last = time.UnixMilli(p.LastBackupMs)
			}
			full, inc, _ := t.Next(last)
			nextFull, nextInc, nextIsInc := t.Next(time.Now())
			next := nextFull
			if nextIsInc {
				next = nextInc
			}
			e := restapi.ScheduledRscs{RscName: rd.Resource, RemoteName: p.Remote, ScheduleName: p.Schedule, LastSnapTime: p.LastBackupMs, LastSnapInc: p.LastBackupInc,
				NextExecTime: ms(next), NextExecInc: nextIsInc, NextPlannedFull: ms(full), NextPlannedInc: ms(inc)}
			if s.scheduledRunning(ctx, rd.Resource, p.Remote, p.Schedule) {
				e.NextExecTime = -1
			}
			out.Data = append(out.Data, e)
		}
		switch {
		case activeOnly:
		case enabled && !rd.Deployed:
			out.Data = append(out.Data, reason(rd.Resource, "undeployed"))
		case enabled:
		case len(disabled) == 0:
			out.Data = append(out.Data, reason(rd.Resource, "none set"))
		default:
			for _, p := range disabled {
				e := reason(rd.Resource, "disabled")
				e.RemoteName, e.ScheduleName = p.Remote, p.Schedule
				out.Data = append(out.Data, e)
			}
		}
	}
	slices.SortStableFunc(out.Data, func(a, b restapi.ScheduledRscs) int {
		return cmp.Or(strings.Compare(a.RscName, b.RscName), strings.Compare(a.RemoteName, b.RemoteName), strings.Compare(a.ScheduleName, b.ScheduleName))
	})
	return out, nil
}

// scheduledRunning tells whether a scheduled shipment of the triple runs
// now (LINSTOR's negative next time).
func (s *server) scheduledRunning(ctx context.Context, rd, remote, schedule string) bool {
	if s.Temporal == nil {
		return false
	}
	desc, err := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.BackupScheduleID(rd, remote, schedule)).Describe(ctx)
	return err == nil && len(desc.Info.RunningWorkflows) > 0
}
