package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// AutoSnapshot is one run of a definition's automatic snapshots, started
// by its Temporal Schedule every AutoSnapshot/RunEvery minutes: it takes
// the next <prefix>NNNNN snapshot, then deletes the oldest automatic
// ones beyond AutoSnapshot/Keep. Manual snapshots are never deleted.
func AutoSnapshot(ctx workflow.Context, rd string) (Outcome, error) {
	o, err := begin(ctx, "automatic snapshot of "+rd)
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	var set activities.AutoSnapshotPlan
	if err := workflow.ExecuteLocalActivity(o.ctx, a.AutoSnapshotSettings, rd).Get(o.ctx, &set); err != nil {
		return o.finish(err)
	}
	if set.RunEveryMinutes <= 0 {
		return o.finish(nil) // switched off since; its schedule goes with the next reconcile
	}
	if len(set.Offline) > 0 { // as LINSTOR, skipped while a node of it is offline
		rc := apicall.NewRc(apicall.MaskInfo, apicall.MaskCrt, apicall.MaskSnapshot, fmt.Sprintf("AutoSnapshot of '%s' skipped: node '%s' is offline.", rd, strings.Join(set.Offline, "', '")))
		rc.ObjRefs = map[string]string{"RscDfn": rd}
		o.out = append(o.out, rc)
		return o.finish(nil)
	}
	var name string
	if err := workflow.ExecuteLocalActivity(o.ctx, a.NextAutoSnapshotName, activities.AutoSnapshotNameInput{Resource: rd, Prefix: set.Prefix}).Get(o.ctx, &name); err != nil {
		return o.finish(err)
	}
	in := activities.SnapshotCreateInput{Snapshots: []store.SnapshotSpec{{Resource: rd, Name: name, Flags: store.NewFlags(store.SnapshotAuto)}}}
	if err := o.child(SnapshotCreateID(in.Refs()), SnapshotCreate, in); err != nil {
		return o.finish(err)
	}
	var old []string
	if err := workflow.ExecuteLocalActivity(o.ctx, a.AutoSnapshotsBeyondKeep, activities.AutoSnapshotCleanupInput{Resource: rd, Prefix: set.Prefix, Keep: set.Keep}).Get(o.ctx, &old); err != nil {
		return o.finish(err)
	}
	for _, snap := range old {
		rc := apicall.NewRc(apicall.MaskInfo, apicall.MaskDel, apicall.MaskSnapshot, fmt.Sprintf("AutoSnapshot cleanup: deleting snapshot %s", snap))
		rc.ObjRefs = map[string]string{"RscDfn": rd, "Snapshot": snap}
		o.out = append(o.out, rc)
		if err := o.child(SnapshotDeleteID(rd, snap, nil), SnapshotDelete, activities.SnapshotDeleteInput{Resource: rd, Snapshot: snap}); err != nil {
			return o.finish(err)
		}
	}
	return o.finish(nil)
}

// child runs an operation as a child workflow under its own id, so that
// it queues on its objects' locks like one a request started, and adds
// its answer to this one's.
func (o *operation) child(id string, wf, in any) error {
	ctx := workflow.WithChildOptions(o.ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
	var out Outcome
	err := workflow.ExecuteChildWorkflow(ctx, wf, in).Get(ctx, &out)
	o.out = append(o.out, out.Replies...)
	return err
}

// AutoSnapshotSchedules makes the Temporal Schedules of automatic
// snapshots match the AutoSnapshot/* properties. A property change
// signals it (starting it if none runs); it reconciles until no change
// came in meanwhile.
func AutoSnapshotSchedules(ctx workflow.Context) (Outcome, error) {
	o, err := begin(ctx, "reconciling the auto-snapshot schedules")
	if err != nil {
		return Outcome{}, err
	}
	var a *activities.Activities
	signals := workflow.GetSignalChannel(ctx, AutoSnapshotSchedulesSignal)
	in := activities.AutoSnapshotSchedulesInput{Workflow: "AutoSnapshot", TaskQueue: workflow.GetInfo(ctx).TaskQueueName,
		SchedulePrefix: AutoSnapshotScheduleID(""), RunPrefix: AutoSnapshotRunID("")}
	for {
		for signals.ReceiveAsync(nil) {
		}
		var counts [3]int
		if err := workflow.ExecuteLocalActivity(o.ctx, a.ReconcileAutoSnapshotSchedules, in).Get(o.ctx, &counts); err != nil {
			return o.finish(err)
		}
		o.out = apicall.RcList{apicall.NewRc(apicall.MaskInfo, apicall.MaskMod, apicall.MaskRscDfn,
			fmt.Sprintf("Auto-snapshot schedules: %d created, %d changed, %d deleted.", counts[0], counts[1], counts[2]))}
		if signals.Len() == 0 {
			return o.finish(nil)
		}
	}
}
