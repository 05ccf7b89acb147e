package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"strata/apicall"

	"github.com/danielgtaylor/huma/v2"

	"strata/store"
)

// ResourceGroupSpawn is LINSTOR's body of resource-group spawn.
type ResourceGroupSpawn struct {
	ResourceDefinitionName         string            `json:"resource_definition_name"`
	ResourceDefinitionExternalName string            `json:"resource_definition_external_name,omitempty"`
	VolumeSizes                    []int64           `json:"volume_sizes,omitempty"`
	SelectFilter                   *AutoSelectFilter `json:"select_filter,omitempty"`
	Partial                        bool              `json:"partial,omitempty"`
	DefinitionsOnly                bool              `json:"definitions_only,omitempty"`
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
// group's filter says, overridden by the request's. A placement that
// fails takes the new definition away again, so a failed spawn changes
// nothing.
func (s *server) spawn(ctx context.Context, rg string, b ResourceGroupSpawn, dryRun bool, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
	name := b.ResourceDefinitionName
	if name == "" && b.ResourceDefinitionExternalName != "" {
		name = nameFromExternal(b.ResourceDefinitionExternalName)
	}
	refs := map[string]string{"RscGrp": rg, "RscDfn": name}
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
	vgs, err := s.Store.ListVolumeGroups(ctx, rg, nil)
	if err != nil {
		return nil, failure(err, op, apicall.MaskRscGrp, refs)
	}
	if !b.Partial && len(b.VolumeSizes) != len(vgs) {
		return nil, invalid(apicall.FailInvldRequest, op, obj, fmt.Sprintf("Resource group '%s' has %d volume groups, but %d volume sizes were given.", rg, len(vgs), len(b.VolumeSizes)),
			"Without --partial, spawn needs one size per volume group.", "Give one size per volume group, or use --partial.")
	}
	var vds []store.VolumeDefinitionSpec
	for i, kib := range b.VolumeSizes {
		spec := store.VolumeDefinitionSpec{SizeKib: kib}
		if i < len(vgs) {
			nr := vgs[i].VlmNr
			spec.VlmNr = &nr
		}
		vds = append(vds, spec)
	}
	row, err := s.Store.SpawnDefinitions(ctx, store.ResourceDefinitionSpec{Name: name, ExternalName: b.ResourceDefinitionExternalName, ResourceGroup: rg}, vds)
	if err != nil {
		return nil, failure(err, op, obj, refs)
	}
	created := success(apicall.Created, op, obj, fmt.Sprintf("Resource definition '%s' created from resource group '%s'.", row.ResourceDspName, rg), row.UUID, refs).Body
	if b.DefinitionsOnly {
		return &rcOutput{created}, nil
	}
	placed, err := s.autoplace(ctx, name, filter, dryRun, wait)
	// Nothing placed (refused, or a dry run): the definition goes again.
	if (err != nil || dryRun) && len(s.holders(ctx, name)) == 0 {
		if _, derr := s.Store.DeleteResourceDefinition(ctx, name); derr != nil {
			return nil, apicall.Failure(apicall.FailUnknownError, apicall.MaskDel, obj, fmt.Sprintf("Spawned resource definition '%s' could not be taken back.", name), derr.Error(),
				"Delete it with resource-definition delete.")
		}
	}
	if err != nil {
		return nil, err
	}
	return &rcOutput{append(created, placed.Body...)}, nil
}
