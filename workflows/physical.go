package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/agent/proto"
	"strata/store"
)

// PhysicalStorageResult are the unused disks of each node whose agent
// answered.
type PhysicalStorageResult struct {
	Disks map[string][]proto.Disk `json:"disks"`
	// Failed are the nodes whose agent did not answer, with why.
	Failed map[string]string `json:"failed,omitempty"`
}

// PhysicalStorage asks the agents of the nodes for their unused disks,
// all at once.
func PhysicalStorage(ctx workflow.Context, nodes []string) (PhysicalStorageResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2},
	})
	var a *activities.Activities
	futures := make([]workflow.Future, len(nodes))
	for i, n := range nodes {
		futures[i] = workflow.ExecuteLocalActivity(ctx, a.ListDisks, n)
	}
	res := PhysicalStorageResult{Disks: map[string][]proto.Disk{}}
	for i, n := range nodes {
		var disks []proto.Disk
		if err := futures[i].Get(ctx, &disks); err != nil {
			if res.Failed == nil {
				res.Failed = map[string]string{}
			}
			res.Failed[n] = cause(err)
			continue
		}
		res.Disks[n] = disks
	}
	return res, nil
}

// DevicePool makes a device pool on a node, under the node's lock, and
// its storage pool when asked for.
func DevicePool(ctx workflow.Context, in activities.DevicePoolInput) (Outcome, error) {
	var a *activities.Activities
	return locked(ctx, "creating the device pool", []string{store.NodeLock(in.Node)}, func(o *operation) error {
		// Making a volume group or zpool takes its time: a regular
		// activity, heartbeating, that a crash does not run twice at once.
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 10 * time.Minute,
			HeartbeatTimeout:    5 * activities.HeartbeatInterval,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		})
		var s activities.Step
		if err := workflow.ExecuteActivity(actx, a.CreateDevicePool, in).Get(ctx, &s); err != nil {
			return err
		}
		o.out = append(o.out, s.Replies...)
		return nil
	})
}
