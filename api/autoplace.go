package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// AutoPlaceRequest is LINSTOR's body of resource-definition auto-place
// and resource create --auto-place.
type AutoPlaceRequest struct {
	DisklessOnRemaining *bool                     `json:"diskless_on_remaining,omitempty"`
	SelectFilter        *restapi.AutoSelectFilter `json:"select_filter"`
	LayerList           []string                  `json:"layer_list,omitempty"`
}

// DryRunParam asks for the autoplacer's choice without making it
// (Strata's own; LINSTOR has no dry run).
type DryRunParam struct {
	DryRun string `query:"dry_run" enum:"true,false,True,False" doc:"true: answer with where the resource would go, and change nothing"`
}

func (d DryRunParam) on() bool { return strings.EqualFold(d.DryRun, "true") }

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
// over its group's, by rd's Autoplace workflow.
func (s *server) autoplace(ctx context.Context, rd string, f store.SelectFilter, dryRun bool, wait time.Duration) (*rcOutput, error) {
	return s.run(ctx, operation{op: apicall.MaskCrt, obj: apicall.MaskRsc, id: workflows.AutoplaceID(rd, dryRun), workflow: workflows.Autoplace,
		input: activities.AutoplaceInput{Resource: rd, Filter: f, DryRun: dryRun}, what: fmt.Sprintf("Placing '%s'", rd), refs: map[string]string{"RscDfn": rd}}, wait)
}
