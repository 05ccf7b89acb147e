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
	have, err := a.Store.AutoSnapshots(ctx)
	if err != nil {
		return [3]int{}, err
	}
	want := map[string]client.ScheduleOptions{}
	for rd, s := range have {
		id := in.SchedulePrefix + strings.ToLower(rd)
		want[id] = client.ScheduleOptions{
			ID:                 id,
			Spec:               client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Duration(s.RunEveryMinutes) * time.Minute}}},
			Action:             &client.ScheduleWorkflowAction{ID: in.RunPrefix + strings.ToLower(rd), Workflow: in.Workflow, Args: []any{rd}, TaskQueue: in.TaskQueue},
			Overlap:            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			TriggerImmediately: true,
			Memo:               map[string]any{"resource_definition": rd},
		}
	}
	return a.reconcileSchedules(ctx, in.SchedulePrefix, want, func(d *client.ScheduleDescription, o client.ScheduleOptions) bool {
		sp := d.Schedule.Spec
		return sp != nil && len(sp.Intervals) == 1 && sp.Intervals[0].Every == o.Spec.Intervals[0].Every
	})
}

// reconcileSchedules makes the Temporal Schedules whose ids start with
// prefix the ones wanted: it creates those missing, updates the spec
// (and note) of those that are not the same, and deletes the others. It
// returns how many it created, changed and deleted.
func (a *Activities) reconcileSchedules(ctx context.Context, prefix string, want map[string]client.ScheduleOptions, same func(*client.ScheduleDescription, client.ScheduleOptions) bool) ([3]int, error) {
	var counts [3]int
	sc := a.Temporal.ScheduleClient()
	for id, o := range want {
		h := sc.GetHandle(ctx, id)
		desc, err := h.Describe(ctx)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			if _, err := sc.Create(ctx, o); err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				return counts, fmt.Errorf("create schedule %s: %w", id, err)
			}
			counts[0]++
		case err != nil:
			return counts, fmt.Errorf("describe schedule %s: %w", id, err)
		case !same(desc, o):
			err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				spec := o.Spec
				u.Description.Schedule.Spec = &spec
				if u.Description.Schedule.State != nil {
					u.Description.Schedule.State.Note = o.Note
				}
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
		if _, keep := want[e.ID]; keep || !strings.HasPrefix(e.ID, prefix) {
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
