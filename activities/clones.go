package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"strata/agent/proto"
	"strata/apicall"
	"strata/nodestate"
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

// CloneByCopy says whether the clone of a definition copies its data (a
// pool without snapshots holds it) instead of cloning a snapshot.
func (a *Activities) CloneByCopy(ctx context.Context, source string) (bool, error) {
	return a.Store.CloneByCopy(ctx, source)
}

// CopyCloneResources records the clone's volume definitions and its
// resources on the source's nodes, in the source's pools; the step's
// nodes are those the data is copied on.
func (a *Activities) CopyCloneResources(ctx context.Context, in CloneInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Target, "SourceRscDfn": in.Source}
		nodes, err := a.Store.CopyDefinition(ctx, in.Source, in.Target)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		return Step{Replies: apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Resources of '%s' made on the %d nodes of '%s'; their data is copied.", in.Target, len(nodes), in.Source), "", refs),
			Nodes: nodes}, nil
	})
}

// CopyCloneInput is the copy of a clone's data on one node.
type CopyCloneInput struct {
	Source, Target, Node string
}

// CopyCloneData has the node's agent copy each diskful volume of the
// source into the clone's, reporting progress as it goes. Run again, it
// copies again: the clone is nobody's data yet.
func (a *Activities) CopyCloneData(ctx context.Context, in CopyCloneInput) error {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{in.Target}, Nodes: []string{in.Node}})
	if err != nil {
		return err
	}
	if len(rscs) == 0 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the clone %s has no resource on node %s", in.Target, in.Node), "CloneGone", nil)
	}
	var vols []store.Volume
	for _, v := range rscs[0].Volumes {
		if v.StorPoolName != "" && !store.Diskless(rscs[0].Flags) {
			vols = append(vols, v)
		}
	}
	// The agent names volumes by the definitions' display names.
	src, err := a.Store.GetResourceDefinition(ctx, in.Source)
	if err != nil {
		return err
	}
	report := a.progressReporter(ctx, len(vols))
	for i, v := range vols {
		pool, err := nodestate.Pool(ctx, a.Store, in.Node, v.StorPoolDspName)
		if err != nil {
			return err
		}
		job := proto.VolumeCopy{Pool: pool, Source: src.ResourceDspName, Target: rscs[0].ResourceDspName, VlmNr: v.VlmNr}
		if _, err := a.Agents.Job(ctx, in.Node, proto.PathVolumeCopy, job, func(p proto.JobProgress) { report(i, p) }); err != nil {
			return err
		}
	}
	return nil
}
