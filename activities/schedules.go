package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// AutoSnapshotSchedulesInput says what a definition's auto-snapshot
// schedule starts: the workflow, on which task queue, and the id
// prefixes of the schedules and their runs (followed by the definition's
// name, lower-cased).
type AutoSnapshotSchedulesInput struct {
	Workflow, TaskQueue       string
	SchedulePrefix, RunPrefix string
}

// ReconcileAutoSnapshotSchedules makes the Temporal Schedules of
// automatic snapshots match the AutoSnapshot/RunEvery properties: one
// schedule per definition that takes them, every RunEvery minutes, the
// first run at once (as LINSTOR takes one when the property is set);
// a schedule whose definition no longer takes them goes. It returns how
// many schedules it created, changed and deleted.
func (a *Activities) ReconcileAutoSnapshotSchedules(ctx context.Context, in AutoSnapshotSchedulesInput) ([3]int, error) {
	var counts [3]int
	want, err := a.Store.AutoSnapshots(ctx)
	if err != nil {
		return counts, err
	}
	sc := a.Temporal.ScheduleClient()
	wanted := map[string]time.Duration{}
	names := map[string]string{}
	for rd, s := range want {
		id := in.SchedulePrefix + strings.ToLower(rd)
		wanted[id], names[id] = time.Duration(s.RunEveryMinutes)*time.Minute, rd
	}
	for id, every := range wanted {
		h := sc.GetHandle(ctx, id)
		desc, err := h.Describe(ctx)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			_, err := sc.Create(ctx, client.ScheduleOptions{
				ID:                 id,
				Spec:               client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
				Action:             &client.ScheduleWorkflowAction{ID: in.RunPrefix + strings.ToLower(names[id]), Workflow: in.Workflow, Args: []any{names[id]}, TaskQueue: in.TaskQueue},
				Overlap:            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
				TriggerImmediately: true,
				Memo:               map[string]any{"resource_definition": names[id]},
			})
			if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				return counts, fmt.Errorf("create schedule %s: %w", id, err)
			}
			counts[0]++
		case err != nil:
			return counts, fmt.Errorf("describe schedule %s: %w", id, err)
		default:
			if sp := desc.Schedule.Spec; sp != nil && len(sp.Intervals) == 1 && sp.Intervals[0].Every == every {
				continue
			}
			err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				u.Description.Schedule.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
				return &client.ScheduleUpdate{Schedule: &u.Description.Schedule}, nil
			}})
			if err != nil {
				return counts, fmt.Errorf("update schedule %s: %w", id, err)
			}
			counts[1]++
		}
	}
	it, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return counts, fmt.Errorf("list schedules: %w", err)
	}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return counts, fmt.Errorf("list schedules: %w", err)
		}
		if _, keep := wanted[e.ID]; keep || !strings.HasPrefix(e.ID, in.SchedulePrefix) {
			continue
		}
		var nf *serviceerror.NotFound
		if err := sc.GetHandle(ctx, e.ID).Delete(ctx); err != nil && !errors.As(err, &nf) {
			return counts, fmt.Errorf("delete schedule %s: %w", e.ID, err)
		}
		counts[2]++
	}
	return counts, nil
}
