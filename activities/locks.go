package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"strata/store"
)

// LockedErrorType is the error type of a lock held by another operation:
// the workflow retries until it is free, so operations on one object
// queue.
const LockedErrorType = "Locked"

// TakeLocks locks objects (store.ResourceDefinitionLock, NodeLock) for
// the calling workflow, all or none. A lock whose holder is no longer
// running (a workflow that was terminated) is taken over.
func (a *Activities) TakeLocks(ctx context.Context, objects []string) error {
	holder := activity.GetInfo(ctx).WorkflowExecution.ID
	for {
		err := a.Store.TakeLocks(ctx, holder, objects)
		locked, ok := store.AsLocked(err)
		if !ok {
			return err
		}
		running, err := a.running(ctx, locked.Holder)
		if err != nil {
			return err
		}
		if running {
			return temporal.NewApplicationError(locked.Error(), LockedErrorType)
		}
		if err := a.Store.Release(ctx, locked.Holder); err != nil {
			return err
		}
	}
}

// Release gives back the calling workflow's locks and slots.
func (a *Activities) Release(ctx context.Context) error {
	return a.Store.Release(ctx, activity.GetInfo(ctx).WorkflowExecution.ID)
}

// running tells whether workflow id is running.
func (a *Activities) running(ctx context.Context, id string) (bool, error) {
	desc, err := a.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var missing *serviceerror.NotFound
	if errors.As(err, &missing) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return desc.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// SlotInput asks for one of a node's slots of a kind of heavy I/O.
type SlotInput struct {
	Node string
	Kind store.SlotKind
}

// SlotsFullErrorType is the error type of a node whose slots are all
// taken: the workflow retries until one is free.
const SlotsFullErrorType = "SlotsFull"

// TakeSlot gives the calling workflow one of the node's slots of the
// kind, within the limit its property sets; it fails with
// SlotsFullErrorType while they are all taken.
func (a *Activities) TakeSlot(ctx context.Context, in SlotInput) error {
	limit, err := a.Store.SlotLimit(ctx, in.Node, in.Kind)
	if err != nil {
		return err
	}
	if limit < 0 {
		return nil
	}
	ok, err := a.Store.TakeSlot(ctx, in.Node, in.Kind.Name, activity.GetInfo(ctx).WorkflowExecution.ID, limit)
	if err != nil || ok {
		return err
	}
	return temporal.NewApplicationError(fmt.Sprintf("all %d %s slots of node %s are taken", limit, in.Kind.Name, in.Node), SlotsFullErrorType)
}
