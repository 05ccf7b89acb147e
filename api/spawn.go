package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/apicall"
	"strata/restapi"
	"strata/workflows"
)

// ResourceGroupSpawn is LINSTOR's body of resource-group spawn.
type ResourceGroupSpawn struct {
	ResourceDefinitionName         string                    `json:"resource_definition_name"`
	ResourceDefinitionExternalName string                    `json:"resource_definition_external_name,omitempty"`
	VolumeSizes                    []int64                   `json:"volume_sizes,omitempty"`
	SelectFilter                   *restapi.AutoSelectFilter `json:"select_filter,omitempty"`
	Partial                        bool                      `json:"partial,omitempty"`
	DefinitionsOnly                bool                      `json:"definitions_only,omitempty"`
}

func (s *server) registerSpawn(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "resourceGroupSpawn", Method: http.MethodPost, Path: "/v1/resource-groups/{resource_group}/spawn",
		Summary: "create a new resource-definition based on the given resource-group", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RgPath
			OperationWaitParam
			DryRunParam
			Body ResourceGroupSpawn
		}) (*rcOutput, error) {
			return s.spawn(ctx, in.ResourceGroup, in.Body, in.on(), in.wait(s.OperationWait))
		})
}

// spawn creates a definition in the group with a volume definition per
// size (numbered as the group's volume groups), then places it as the
// group's filter says, overridden by the request's, by the definition's
// Spawn workflow. A placement that fails takes the new definition away
// again, so a failed spawn changes nothing.
func (s *server) spawn(ctx context.Context, rg string, b ResourceGroupSpawn, dryRun bool, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
	name := b.ResourceDefinitionName
	if name == "" && b.ResourceDefinitionExternalName != "" {
		name = nameFromExternal(b.ResourceDefinitionExternalName)
	}
	if err := rscNameRule.check(name, op, obj); err != nil {
		return nil, err
	}
	filter, err := checkSelectFilter(b.SelectFilter, op, apicall.MaskRsc)
	if err != nil {
		return nil, err
	}
	for _, kib := range b.VolumeSizes {
		if err := checkSize(kib, op, apicall.MaskVlmDfn); err != nil {
			return nil, err
		}
	}
	out, err := s.run(ctx, operation{op: op, obj: obj, id: workflows.SpawnID(name, dryRun), workflow: workflows.Spawn, input: workflows.SpawnInput{
		Definitions: activities.SpawnInput{Group: rg, Resource: name, ExternalName: b.ResourceDefinitionExternalName, SizesKib: b.VolumeSizes, Partial: b.Partial},
		Placement:   activities.AutoplaceInput{Resource: name, Filter: filter, DryRun: dryRun}, DefinitionsOnly: b.DefinitionsOnly,
	}, what: fmt.Sprintf("Spawning '%s'", name), refs: map[string]string{"RscGrp": rg, "RscDfn": name}}, wait)
	return s.definitionsChanged(ctx, out, err)
}
