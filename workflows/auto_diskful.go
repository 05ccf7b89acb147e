package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// AutoDiskfulWatchInput is how long a minute of DrbdOptions/auto-diskful
// lasts (the controller's [agents] timer_minute; tests shorten it).
type AutoDiskfulWatchInput struct {
	Minute time.Duration
}

// autoDiskfulLooks is how many looks one run of the watch takes before it
// continues as new, which keeps its history short.
const autoDiskfulLooks = 200

// AutoDiskfulWatch looks every minute at the diskless DRBD resources
// whose DrbdOptions/auto-diskful is set: their nodes are asked for their
// states, and each that has been Primary that long gets its AutoDiskful
// (one per resource at a time; it outlives the watch's run).
func AutoDiskfulWatch(ctx workflow.Context, in AutoDiskfulWatchInput) error {
	o, err := begin(ctx, "watching diskless Primaries")
	if err != nil {
		return err
	}
	var a *activities.Activities
	for range autoDiskfulLooks {
		var nodes []string
		if err := workflow.ExecuteLocalActivity(o.ctx, a.AutoDiskfulNodes).Get(o.ctx, &nodes); err != nil {
			return err
		}
		if len(nodes) > 0 {
			push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), nodes, &Status{})
		}
		var due []activities.ResourceInput
		if err := workflow.ExecuteLocalActivity(o.ctx, a.AutoDiskfulDue, in.Minute).Get(o.ctx, &due); err != nil {
			return err
		}
		o.status = Status{State: fmt.Sprintf("watching the diskless resources of %d nodes", len(nodes)), ItemsTotal: len(due)}
		for _, r := range due {
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: AutoDiskfulID(r.Resource, r.Node),
				ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE})
			err := workflow.ExecuteChildWorkflow(cctx, AutoDiskful, r).GetChildWorkflowExecution().Get(ctx, nil)
			var running *temporal.ChildWorkflowExecutionAlreadyStartedError
			if err != nil && !errors.As(err, &running) {
				return err
			}
		}
		if err := workflow.Sleep(ctx, in.Minute); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, AutoDiskfulWatch, in)
}

// AutoDiskful gives a diskless resource that has been Primary for
// DrbdOptions/auto-diskful minutes its disk (LINSTOR's toggle-disk with
// DiskfulBy auto-diskful), waits without the lock until it is UpToDate,
// and then removes one replica beyond the place count where
// DrbdOptions/auto-diskful-allow-cleanup allows it.
func AutoDiskful(ctx workflow.Context, in activities.ResourceInput) (Outcome, error) {
	return locked(ctx, "giving the diskless Primary its disk", []string{store.ResourceDefinitionLock(in.Resource)}, func(o *operation) error {
		var a *activities.Activities
		s, ok, err := o.step("giving the diskless Primary its disk", a.StartAutoDiskful, in)
		if err != nil || !ok || len(s.Nodes) == 0 {
			return err
		}
		if err := o.quorum(in.Resource); err != nil {
			return err
		}
		if err := o.deploy(s.Nodes, in.Resource); err != nil {
			return err
		}
		if err := o.unlock(); err != nil {
			return err
		}
		if gone, err := o.waitForMigration(activities.MigrationInput{Resource: in.Resource, To: in.Node}); err != nil || gone {
			return err
		}
		if err := o.lock(store.ResourceDefinitionLock(in.Resource)); err != nil {
			return err
		}
		s, ok, err = o.step("removing an excess replica", a.CleanupAfterAutoDiskful, in)
		if err != nil || !ok || len(s.Nodes) == 0 {
			return err
		}
		if err := o.quorum(in.Resource); err != nil {
			return err
		}
		return o.deploy(s.Nodes, in.Resource)
	})
}
