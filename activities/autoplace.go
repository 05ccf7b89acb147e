package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"strata/apicall"
	"strata/placement"
	"strata/store"
)

// AutoplaceInput asks for the replicas a definition still needs, by the
// request's auto-select filter over its group's.
type AutoplaceInput struct {
	Resource string
	Filter   store.SelectFilter
	DryRun   bool
}

// placeAttempts bounds the retries of a placement whose view another
// request changed meanwhile.
const placeAttempts = 3

// Autoplace places the replicas a definition still needs and records
// them. A placement that another request overtook is made again on a
// fresh view of the cluster. A dry run answers where they would go.
func (a *Activities) Autoplace(ctx context.Context, in AutoplaceInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) { return a.place(ctx, in) })
}

// place is Autoplace's step.
func (a *Activities) place(ctx context.Context, in AutoplaceInput) (Step, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRsc
	refs := map[string]string{"RscDfn": in.Resource}
	def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
	if err != nil {
		return refusal(err, op, obj, refs)
	}
	f, err := a.selectFilter(ctx, def, in.Filter)
	if err != nil {
		return refusal(err, op, obj, refs)
	}
	for attempt := 1; ; attempt++ {
		view, err := a.Store.PlacementView(ctx)
		if err != nil {
			return Step{}, err
		}
		decision, err := placement.Place(view.Cluster, view.PlacementRequest(def, f))
		if err != nil {
			var perr *placement.Error
			if errors.As(err, &perr) {
				return Step{Replies: NotEnoughNodes(perr, in.Resource, op, obj)}, nil
			}
			return Step{Replies: apicall.Failure(apicall.FailInvldRequest, op, obj, err.Error(), "", "")}, nil
		}
		holders := view.Holders(def.ResourceName)
		if len(decision.Pools) == 0 && len(decision.Diskless) == 0 {
			rc := apicall.NewRc(apicall.Created, op, obj, fmt.Sprintf("Resource '%s' already has %d replicas; nothing to place.", def.ResourceDspName, len(holders.Diskful)))
			rc.ObjRefs = refs
			return Step{Replies: apicall.RcList{rc}}, nil
		}
		if in.DryRun {
			return Step{Replies: placementReplies(def.ResourceDspName, decision)}, nil
		}
		var specs []store.ResourceSpec
		for _, p := range decision.Pools {
			specs = append(specs, store.ResourceSpec{Node: p.Node, Props: map[string]string{store.KeyStorPoolName: p.Name}})
		}
		for _, p := range decision.Diskless {
			specs = append(specs, store.ResourceSpec{Node: p.Node, Props: map[string]string{store.KeyStorPoolName: p.Name}, Flags: store.NewFlags("DRBD_DISKLESS")})
		}
		_, err = a.Store.CreateResourcesIf(ctx, in.Resource, specs, holders.All)
		if errors.Is(err, store.ErrPlacementChanged) && attempt < placeAttempts {
			continue
		}
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		rc := apicall.NewRc(apicall.Created, op, obj, fmt.Sprintf("Resource '%s' successfully autoplaced on %d nodes", def.ResourceDspName, len(decision.Pools)))
		rc.Details, rc.ObjRefs = "Placed on "+strings.Join(placedOn(decision), ", ")+".", refs
		s := Step{Replies: apicall.RcList{rc}}
		for _, sp := range specs {
			s.Nodes = append(s.Nodes, sp.Node)
		}
		return s, nil
	}
}

// selectFilter is the request's auto-select filter over the group's of
// def.
func (a *Activities) selectFilter(ctx context.Context, def store.ResourceDefinition, req store.SelectFilter) (store.SelectFilter, error) {
	rg, err := a.Store.GetResourceGroup(ctx, def.ResourceGroupDspName)
	if err != nil {
		return store.SelectFilter{}, err
	}
	f := rg.SelectFilter
	f.Merge(req)
	f.AdditionalPlaceCount = req.AdditionalPlaceCount // +1 is the request's alone
	if len(f.LayerStack) == 0 {
		f.LayerStack = def.LayerStack.List()
	}
	return f, nil
}

// NotEnoughNodes is LINSTOR's refusal of a placement, with the reason
// each node was left out (LINSTOR itself says only that it failed).
func NotEnoughNodes(e *placement.Error, rd string, op, obj uint64) apicall.RcList {
	var why []string
	for _, r := range e.Rejections {
		why = append(why, fmt.Sprintf("%s: %s", r.Node, strings.Join(r.Reasons, ", ")))
	}
	cause := fmt.Sprintf("%d replicas wanted, %d nodes can take one.", e.Wanted, e.Found)
	if e.Constraint != "" {
		cause += " " + e.Constraint + "."
	}
	l := apicall.Failure(apicall.FailNotEnoughNodes, op, obj, fmt.Sprintf("Not enough available nodes to place resource '%s'.", rd), cause,
		"Add nodes or storage, or relax the placement rules.")
	if len(why) > 0 {
		l[0].Details = "Nodes left out: " + strings.Join(why, "; ")
	}
	l[0].ObjRefs = map[string]string{"RscDfn": rd}
	return l
}

// placementReplies are a dry run's answer: where each replica would go.
func placementReplies(rd string, d placement.Decision) apicall.RcList {
	rc := apicall.NewRc(apicall.InfoPlacement, apicall.MaskCrt, apicall.MaskRsc, fmt.Sprintf("Resource '%s' would be placed on %s.", rd, strings.Join(placedOn(d), ", ")))
	rc.Details = "Dry run: nothing was changed."
	rc.ObjRefs = map[string]string{"RscDfn": rd}
	return apicall.RcList{rc}
}

func placedOn(d placement.Decision) []string {
	var out []string
	for i, p := range d.Pools {
		out = append(out, fmt.Sprintf("%s (%s, score %.3g)", p.Node, p.Name, d.Scores[i]))
	}
	for _, p := range d.Diskless {
		out = append(out, p.Node+" (diskless)")
	}
	return out
}

// SpawnInput is a resource-group spawn: a definition in the group with a
// volume definition per size.
type SpawnInput struct {
	Group, Resource, ExternalName string
	SizesKib                      []int64
	Partial                       bool
}

// SpawnDefinitions records a spawn's definitions: the resource definition
// in the group and a volume definition per size, numbered as the group's
// volume groups.
func (a *Activities) SpawnDefinitions(ctx context.Context, in SpawnInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
		refs := map[string]string{"RscGrp": in.Group, "RscDfn": in.Resource}
		vgs, err := a.Store.ListVolumeGroups(ctx, in.Group, nil)
		if err != nil {
			return refusal(err, op, apicall.MaskRscGrp, refs)
		}
		if !in.Partial && len(in.SizesKib) != len(vgs) {
			return Step{Replies: apicall.Failure(apicall.FailInvldRequest, op, obj,
				fmt.Sprintf("Resource group '%s' has %d volume groups, but %d volume sizes were given.", in.Group, len(vgs), len(in.SizesKib)),
				"Without --partial, spawn needs one size per volume group.", "Give one size per volume group, or use --partial.")}, nil
		}
		var vds []store.VolumeDefinitionSpec
		for i, kib := range in.SizesKib {
			spec := store.VolumeDefinitionSpec{SizeKib: kib}
			if i < len(vgs) {
				nr := vgs[i].VlmNr
				spec.VlmNr = &nr
			}
			vds = append(vds, spec)
		}
		row, err := a.Store.SpawnDefinitions(ctx, store.ResourceDefinitionSpec{Name: in.Resource, ExternalName: in.ExternalName, ResourceGroup: in.Group}, vds)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		return Step{Replies: apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Resource definition '%s' created from resource group '%s'.", row.ResourceDspName, in.Group), row.UUID, refs)}, nil
	})
}

// TakeBackSpawn deletes a spawned definition that got no resource (its
// placement was refused, or a dry run), so that the spawn changes nothing.
func (a *Activities) TakeBackSpawn(ctx context.Context, rd string) (Step, error) {
	holders, err := a.Holders(ctx, rd)
	if err != nil || len(holders) > 0 {
		return Step{}, err
	}
	if _, err := a.Store.DeleteResourceDefinition(ctx, rd); err != nil {
		if e, ok := store.AsError(err); ok && e.Problem == store.NotFound {
			return Step{}, nil // taken back before a crash
		}
		return Step{Replies: apicall.Failure(apicall.FailUnknownError, apicall.MaskDel, apicall.MaskRscDfn, fmt.Sprintf("Spawned resource definition '%s' could not be taken back.", rd), err.Error(),
			"Delete it with resource-definition delete.")}, nil
	}
	return Step{}, nil
}
