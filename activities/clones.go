package activities

import (
	"context"
	"fmt"

	"strata/apicall"
	"strata/store"
)

// CloneInput is resource-definition clone.
type CloneInput struct {
	store.CloneSpec
}

// RecordClone records the clone's definition, flagged CLONING.
func (a *Activities) RecordClone(ctx context.Context, in CloneInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
		refs := map[string]string{"RscDfn": in.Target, "SourceRscDfn": in.Source}
		row, err := a.Store.CreateClone(ctx, in.CloneSpec)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		return Step{Replies: apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Resource definition '%s' is being cloned from '%s'.", in.Target, in.Source), row.UUID, refs)}, nil
	})
}

// CloneVolumeDefinitions records the volume definitions of a snapshot
// in the target definition.
func (a *Activities) CloneVolumeDefinitions(ctx context.Context, in SnapshotRestoreInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskVlmDfn
		refs := map[string]string{"RscDfn": in.To, "Snapshot": in.Snapshot}
		rows, err := a.Store.RestoreVolumeDefinitions(ctx, in.Resource, in.Snapshot, in.To)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		return Step{Replies: apicall.Success(apicall.Created, op, obj, fmt.Sprintf("%d volume definitions of '%s' made from snapshot '%s' of '%s'.", len(rows), in.To, in.Snapshot, in.Resource), "", refs)}, nil
	})
}

// FinishCloneInput ends a clone; Failed: its data could not be copied.
type FinishCloneInput struct {
	Target string
	Failed bool
}

// FinishClone ends a clone as COMPLETE, or FAILED when its data could not
// be copied or a volume of it could not be made.
func (a *Activities) FinishClone(ctx context.Context, in FinishCloneInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
		refs := map[string]string{"RscDfn": in.Target}
		row, err := a.Store.FinishClone(ctx, in.Target, in.Failed)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		if store.CloneStatus(row) == "FAILED" {
			return Step{Replies: apicall.Failure(apicall.FailUnknownError, op, obj, fmt.Sprintf("Cloning into '%s' failed.", in.Target),
				"The data could not be copied (see the answers before this one).", "Delete the clone and clone again.")}, nil
		}
		return Step{Replies: apicall.Success(apicall.Modified, op, obj, fmt.Sprintf("Resource definition '%s' cloned.", in.Target), row.UUID, refs)}, nil
	})
}
