package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"strata/apicall"

	"github.com/danielgtaylor/huma/v2"

	"strata/placement"
	"strata/store"
)

// AutoPlaceRequest is LINSTOR's body of resource-definition auto-place
// and resource create --auto-place.
type AutoPlaceRequest struct {
	DisklessOnRemaining *bool             `json:"diskless_on_remaining,omitempty"`
	SelectFilter        *AutoSelectFilter `json:"select_filter"`
	LayerList           []string          `json:"layer_list,omitempty"`
}

// DryRunParam asks for the autoplacer's choice without making it
// (Strata's own; LINSTOR has no dry run).
type DryRunParam struct {
	DryRun string `query:"dry_run" enum:"true,false,True,False" doc:"true: answer with where the resource would go, and change nothing"`
}

func (d DryRunParam) on() bool { return strings.EqualFold(d.DryRun, "true") }

// placeAttempts bounds the retries of a placement whose snapshot
// another request changed meanwhile.
const placeAttempts = 3

func (s *server) registerAutoplace(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "resourceAutoplace", Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/autoplace",
		Summary: "autoplace resource", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
			DryRunParam
			Body AutoPlaceRequest
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskRsc
			f, err := checkSelectFilter(in.Body.SelectFilter, op, obj)
			if err != nil {
				return nil, err
			}
			if in.Body.LayerList != nil {
				if f.LayerStack, err = checkLayers(in.Body.LayerList, op, obj); err != nil {
					return nil, err
				}
			}
			if in.Body.DisklessOnRemaining != nil {
				f.DisklessOnRemaining = in.Body.DisklessOnRemaining
			}
			return s.autoplace(ctx, in.Resource, f, in.on(), in.wait(s.OperationWait))
		})
}

// autoplace places the replicas rd still needs by the request's filter
// over its group's, creates them and deploys them. A placement that
// another request overtook is made again on a fresh snapshot.
func (s *server) autoplace(ctx context.Context, rd string, req store.SelectFilter, dryRun bool, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRsc
	refs := map[string]string{"RscDfn": rd}
	def, err := s.Store.GetResourceDefinition(ctx, rd)
	if err != nil {
		return nil, failure(err, op, obj, refs)
	}
	rg, err := s.Store.GetResourceGroup(ctx, def.ResourceGroupDspName)
	if err != nil {
		return nil, failure(err, op, obj, refs)
	}
	f := rg.SelectFilter
	mergeSelectFilter(&f, req)
	f.AdditionalPlaceCount = req.AdditionalPlaceCount // +1 is the request's alone
	if len(f.LayerStack) == 0 {
		f.LayerStack = def.LayerStack.List()
	}
	for attempt := 1; ; attempt++ {
		snap, err := s.snapshot(ctx, def)
		if err != nil {
			return nil, failure(err, op, obj, refs)
		}
		request := placementRequest(def, f, snap)
		decision, err := placement.Place(snap.cluster, request)
		if err != nil {
			var perr *placement.Error
			if errors.As(err, &perr) {
				return nil, notEnoughNodes(perr, rd, op, obj)
			}
			return nil, invalid(apicall.FailInvldRequest, op, obj, err.Error(), "", "")
		}
		if len(decision.Pools) == 0 && len(decision.Diskless) == 0 {
			rc := apicall.NewRc(apicall.Created, op, obj, fmt.Sprintf("Resource '%s' already has %d replicas; nothing to place.", def.ResourceDspName, len(snap.holders)))
			rc.ObjRefs = refs
			return &rcOutput{apicall.RcList{rc}}, nil
		}
		if dryRun {
			return &rcOutput{placementReplies(def.ResourceDspName, decision)}, nil
		}
		var specs []store.ResourceSpec
		for _, p := range decision.Pools {
			specs = append(specs, store.ResourceSpec{Node: p.Node, Props: map[string]string{store.KeyStorPoolName: p.Name}})
		}
		for _, p := range decision.Diskless {
			specs = append(specs, store.ResourceSpec{Node: p.Node, Props: map[string]string{store.KeyStorPoolName: p.Name}, Flags: store.NewFlags("DRBD_DISKLESS")})
		}
		_, err = s.Store.CreateResourcesIf(ctx, rd, specs, snap.allHolders)
		if errors.Is(err, store.ErrPlacementChanged) && attempt < placeAttempts {
			continue
		}
		if err != nil {
			return nil, failure(err, op, obj, refs)
		}
		rc := apicall.NewRc(apicall.Created, op, obj, fmt.Sprintf("Resource '%s' successfully autoplaced on %d nodes", def.ResourceDspName, len(decision.Pools)))
		rc.Details, rc.ObjRefs = "Placed on "+strings.Join(placedOn(decision), ", ")+".", refs
		out := append(apicall.RcList{rc}, s.quorum(ctx, op, obj, rd)...)
		return s.answerDeployed(ctx, out, op, obj, def.ResourceDspName, wait)
	}
}

// placementSnapshot is what the autoplacer decides on, and which nodes hold rd.
type placementSnapshot struct {
	cluster    placement.Cluster
	holders    []string // diskful holders of rd
	held       []string // other holders of rd (diskless, being deleted), but its tie-breakers
	allHolders []string // every node holding rd, for the create's check
	weights    placement.Weights
}

func (s *server) snapshot(ctx context.Context, def store.ResourceDefinition) (placementSnapshot, error) {
	pools, _, err := s.sizingPools(ctx)
	if err != nil {
		return placementSnapshot{}, err
	}
	nodes, err := s.Store.ListNodes(ctx, nil)
	if err != nil {
		return placementSnapshot{}, err
	}
	rscs, err := s.Store.ListResources(ctx, store.ResourceFilter{})
	if err != nil {
		return placementSnapshot{}, err
	}
	ctrl, err := s.Store.Props(ctx, store.CtrlPropsInstance)
	if err != nil {
		return placementSnapshot{}, err
	}
	var snap placementSnapshot
	held := map[string][]string{}
	type poolKey struct{ node, pool string }
	counts := map[poolKey]int{}
	throttle := map[poolKey]float64{}
	for _, r := range rscs {
		if r.ResourceName == def.ResourceName {
			snap.allHolders = append(snap.allHolders, r.NodeDspName)
			switch {
			case r.Flags.Has(store.FlagTieBreaker) && !r.Flags.Has(store.FlagDelete):
			case store.Diskless(r.Flags), r.Flags.Has(store.FlagDelete):
				snap.held = append(snap.held, r.NodeDspName)
			default:
				snap.holders = append(snap.holders, r.NodeDspName)
			}
			if r.Flags.Has(store.FlagTieBreaker) && !r.Flags.Has(store.FlagDelete) {
				continue // a replica placed there replaces the tie-breaker
			}
		}
		held[r.NodeName] = append(held[r.NodeName], r.ResourceDspName)
		for _, v := range r.Volumes {
			k := poolKey{r.NodeDspName, v.StorPoolDspName}
			counts[k]++
			for _, t := range []string{"sys/fs/blkio_throttle_read", "sys/fs/blkio_throttle_write"} {
				if x, err := strconv.ParseFloat(v.Props[t], 64); err == nil {
					throttle[k] += x
				}
			}
		}
	}
	for i := range pools {
		k := poolKey{pools[i].Node, pools[i].Name}
		pools[i].ResourceCount = counts[k]
		pools[i].Throughput -= throttle[k] // what its volumes may use of Autoplacer/MaxThroughput
	}
	for _, n := range nodes {
		target := n.Props[keyAutoplaceTarget]
		if target == "" {
			target = ctrl[keyAutoplaceTarget]
		}
		pn := placement.Node{Name: n.NodeDspName, Props: n.Props, AutoplaceTarget: !strings.EqualFold(target, "false"), Resources: held[n.NodeName]}
		if s.Agents != nil {
			pn.Layers = s.Agents.Status(n.NodeName).Info.Layers
		}
		snap.cluster.Nodes = append(snap.cluster.Nodes, pn)
	}
	snap.cluster.Pools = pools
	snap.weights = placement.DefaultWeights()
	for name := range snap.weights {
		if w, err := strconv.ParseFloat(ctrl["Autoplacer/Weights/"+name], 64); err == nil {
			snap.weights[name] = w
		}
	}
	return snap, nil
}

// placementRequest turns a merged auto-select filter into the
// autoplacer's request for rd.
func placementRequest(def store.ResourceDefinition, f store.SelectFilter, snap placementSnapshot) placement.Request {
	pf, count := placementFilter(f)
	var size int64
	for _, vd := range def.VolumeDefinitions {
		size += vd.VlmSize
	}
	x := map[string]int{}
	for k, v := range f.XReplicasOnDifferentMap {
		x[k] = int(v)
	}
	layers := f.LayerStack
	if len(layers) > 0 && layers[len(layers)-1] == "STORAGE" {
		layers = layers[:len(layers)-1] // every node serves STORAGE
	}
	return placement.Request{Resource: def.ResourceDspName, Count: count, Additional: int(f.AdditionalPlaceCount), Existing: snap.holders, Held: snap.held, SizeKib: size,
		Filter: pf, ReplicasOnSame: f.ReplicasOnSame, ReplicasOnDifferent: f.ReplicasOnDifferent, XReplicasOnDifferent: x,
		DoNotPlaceWith: f.NotPlaceWithRsc, DoNotPlaceWithRegex: f.NotPlaceWithRscRegex, LayerStack: layers,
		DisklessOnRemaining: f.DisklessOnRemaining != nil && *f.DisklessOnRemaining, Weights: snap.weights}
}

// notEnoughNodes is LINSTOR's refusal of a placement, with the reason
// each node was left out (LINSTOR itself says only that it failed).
func notEnoughNodes(e *placement.Error, rd string, op, obj uint64) error {
	var why []string
	for _, r := range e.Rejections {
		why = append(why, fmt.Sprintf("%s: %s", r.Node, strings.Join(r.Reasons, ", ")))
	}
	cause := fmt.Sprintf("%d replicas wanted, %d nodes can take one.", e.Wanted, e.Found)
	if e.Constraint != "" {
		cause += " " + e.Constraint + "."
	}
	l := apicall.Failure(apicall.FailNotEnoughNodes|apicall.MaskError, op, obj, fmt.Sprintf("Not enough available nodes to place resource '%s'.", rd), cause,
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
