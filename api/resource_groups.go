package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

type RgPath struct {
	ResourceGroup string `path:"resource_group" doc:"Resource group name"`
}

type VgPath struct {
	RgPath
	VolumeNumber int32 `path:"volume_number" minimum:"0" maximum:"65534" doc:"Volume number"`
}

var (
	layerKinds    = []string{"DRBD", "LUKS", "STORAGE", "NVME", "WRITECACHE", "CACHE", "BCACHE"}
	disklessTypes = []string{"DRBD_DISKLESS", "NVME_INITIATOR"}
)

// checkSelectFilter validates an auto-select filter's names and kinds.
func checkSelectFilter(f *restapi.AutoSelectFilter, op, obj uint64) (store.SelectFilter, error) {
	if f == nil {
		return store.SelectFilter{}, nil
	}
	if f.PlaceCount < 0 || f.AdditionalPlaceCount < 0 {
		return store.SelectFilter{}, invalid(219, op, obj, fmt.Sprintf("Invalid place count %d.", f.PlaceCount), "A place count is not negative.", "")
	}
	for _, sp := range append(append([]string{f.StoragePool}, f.StoragePoolList...), f.StoragePoolDisklessList...) {
		if sp == "" {
			continue
		}
		if err := spNameRule.check(sp, op, obj); err != nil {
			return store.SelectFilter{}, err
		}
	}
	for _, n := range f.NodeNameList {
		if err := checkNodeName(n, op, obj); err != nil {
			return store.SelectFilter{}, err
		}
	}
	layers, err := checkLayers(f.LayerStack, op, obj)
	if err != nil {
		return store.SelectFilter{}, err
	}
	providers := make([]string, len(f.ProviderList))
	for i, p := range f.ProviderList {
		var ok bool
		if providers[i], ok = upperEnum(p, store.Providers); !ok {
			return store.SelectFilter{}, invalid(apicall.FailInvldProvider, op, obj, fmt.Sprintf("Invalid storage provider '%s'.", apicall.Clip(p)), "", "Use one of: "+strings.Join(store.Providers, ", ")+".")
		}
	}
	dt := f.DisklessType
	if dt != "" {
		var ok bool
		if dt, ok = upperEnum(dt, disklessTypes); !ok {
			return store.SelectFilter{}, invalid(apicall.FailInvldRequest, op, obj, fmt.Sprintf("Invalid diskless type '%s'.", f.DisklessType), "", "Use DRBD_DISKLESS or NVME_INITIATOR.")
		}
	}
	if f.NotPlaceWithRscRegex != "" {
		if _, err := compileRegex(f.NotPlaceWithRscRegex); err != nil {
			return store.SelectFilter{}, invalid(apicall.FailInvldRequest, op, obj, fmt.Sprintf("Invalid regular expression '%s'.", f.NotPlaceWithRscRegex), err.Error(), "")
		}
	}
	sf, err := sameShape[store.SelectFilter](f)
	if err != nil {
		return store.SelectFilter{}, failure(err, op, obj, nil)
	}
	sf.LayerStack, sf.ProviderList, sf.DisklessType = layers, providers, dt
	return sf, nil
}

// compileRegex compiles a user's regular expression (not-place-with
// filters) with a bounded length.
func compileRegex(expr string) (*regexp.Regexp, error) {
	if len(expr) > 1024 {
		return nil, fmt.Errorf("the expression is longer than 1024 characters")
	}
	return regexp.Compile(expr)
}

// checkLayers validates a layer stack: known layers, each once, STORAGE
// (when given) last.
func checkLayers(stack []string, op, obj uint64) ([]string, error) {
	out := make([]string, len(stack))
	for i, l := range stack {
		u, ok := upperEnum(l, layerKinds)
		if !ok || slices.Contains(out[:i], u) || (u == "STORAGE" && i != len(stack)-1) {
			return nil, invalid(apicall.FailInvldLayerStack, op, obj, fmt.Sprintf("Invalid layer stack '%s'.", apicall.Clip(strings.Join(stack, ","))),
				"Each layer appears once, from "+strings.Join(layerKinds, ", ")+", and STORAGE comes last.", "For example: drbd,storage.")
		}
		out[i] = u
	}
	return out, nil
}

// selectFilterJSON is a stored filter in LINSTOR's JSON shape.
func selectFilterJSON(f store.SelectFilter) *restapi.AutoSelectFilter {
	out, err := sameShape[restapi.AutoSelectFilter](f)
	if err != nil { // both types hold plain fields with the same tags
		panic(fmt.Sprintf("auto-select filter: %v", err))
	}
	return &out
}

func checkPeerSlots(n *int32, op, obj uint64) error {
	if n != nil && (*n < 1 || *n > 31) {
		return invalid(apicall.FailInvldRequest, op, obj, fmt.Sprintf("Invalid peer slots %d.", *n), "DRBD peer slots are from 1 to 31.", "")
	}
	return nil
}

func resourceGroupJSON(g store.ResourceGroup) restapi.ResourceGroup {
	return restapi.ResourceGroup{Name: g.ResourceGroupDspName, Description: g.Description, Props: g.Props, SelectFilter: selectFilterJSON(g.SelectFilter), UUID: g.UUID, PeerSlots: g.PeerSlots}
}

func (s *server) registerResourceGroups(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "resourceGroupList", Method: http.MethodGet, Path: "/v1/resource-groups", Summary: "list resource groups", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			ListParams
			ResourceGroups []string `query:"resource_groups,explode"`
		}) (*struct{ Body []restapi.ResourceGroup }, error) {
			rgs, err := s.Store.ListResourceGroups(ctx, in.ResourceGroups)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskRscGrp, nil)
			}
			rgs = page(filter(rgs, func(g store.ResourceGroup) map[string]string { return g.Props }, in.Props), in.ListParams)
			out := make([]restapi.ResourceGroup, len(rgs))
			for i, g := range rgs {
				out[i] = resourceGroupJSON(g)
			}
			return &struct{ Body []restapi.ResourceGroup }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceGroupGet", Method: http.MethodGet, Path: "/v1/resource-groups/{resource_group}", Summary: "show one resource group", Tags: []string{"developers"}},
		func(ctx context.Context, in *RgPath) (*struct{ Body restapi.ResourceGroup }, error) {
			g, err := s.Store.GetResourceGroup(ctx, in.ResourceGroup)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct{ Body restapi.ResourceGroup }{resourceGroupJSON(g)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceGroupCreate", Method: http.MethodPost, Path: "/v1/resource-groups", Summary: "add a resource group", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct{ Body restapi.ResourceGroup }) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskRscGrp
			b := in.Body
			refs := map[string]string{"RscGrp": b.Name}
			if err := rgNameRule.check(b.Name, op, obj); err != nil {
				return nil, err
			}
			sf, err := checkSelectFilter(b.SelectFilter, op, obj)
			if err != nil {
				return nil, err
			}
			if err := checkPeerSlots(b.PeerSlots, op, obj); err != nil {
				return nil, err
			}
			row, err := s.Store.CreateResourceGroup(ctx, store.ResourceGroupSpec{Name: b.Name, Description: b.Description, Props: b.Props, SelectFilter: sf, PeerSlots: b.PeerSlots})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Created, op, obj, fmt.Sprintf("New resource group '%s' created.", row.ResourceGroupDspName), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceGroupModify", Method: http.MethodPut, Path: "/v1/resource-groups/{resource_group}", Summary: "modify a resource group", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RgPath
			Body restapi.ResourceGroupModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskRscGrp
			refs := map[string]string{"RscGrp": in.ResourceGroup}
			c := store.ResourceGroupChange{Description: in.Body.Description, PeerSlots: in.Body.PeerSlots, Props: propsModify(in.Body.PropsModify)}
			if in.Body.SelectFilter != nil {
				sf, err := checkSelectFilter(in.Body.SelectFilter, op, obj)
				if err != nil {
					return nil, err
				}
				c.SelectFilter = func(dst *store.SelectFilter) { dst.Merge(sf) }
			}
			if err := checkPeerSlots(in.Body.PeerSlots, op, obj); err != nil {
				return nil, err
			}
			row, err := s.Store.ModifyResourceGroup(ctx, in.ResourceGroup, c)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			if err := s.propsChanged(ctx, c.Props); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Resource group '%s' modified.", row.ResourceGroupDspName), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceGroupDelete", Method: http.MethodDelete, Path: "/v1/resource-groups/{resource_group}", Summary: "delete a resource group", Tags: []string{"developers"}},
		func(ctx context.Context, in *RgPath) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskRscGrp
			refs := map[string]string{"RscGrp": in.ResourceGroup}
			row, err := s.Store.DeleteResourceGroup(ctx, in.ResourceGroup)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Deleted, op, obj, fmt.Sprintf("Resource group '%s' deleted.", row.ResourceGroupDspName), row.UUID, refs), nil
		})
	s.registerVolumeGroups(h)
}

func volumeGroupJSON(v store.VolumeGroup) restapi.VolumeGroup {
	nr := v.VlmNr
	return restapi.VolumeGroup{VolumeNumber: &nr, Props: v.Props, UUID: v.UUID, Flags: v.Flags.List()}
}

// vgFlags are the flags a volume group may carry.
var vgFlags = []string{"GROSS_SIZE"}

// flagChange applies LINSTOR's flag list of a modify: "FLAG" sets it,
// "-FLAG" clears it.
func flagChange(flags []string, allowed []string, op, obj uint64) (func(store.Flags) store.Flags, error) {
	type change struct {
		name string
		set  bool
	}
	var changes []change
	for _, f := range flags {
		name, clear := strings.CutPrefix(f, "-")
		u, ok := upperEnum(name, allowed)
		if !ok {
			return nil, invalid(apicall.FailInvldRequest, op, obj, fmt.Sprintf("Invalid flag '%s'.", apicall.Clip(f)), "", "Use one of: "+strings.Join(allowed, ", ")+" (prefix '-' to clear).")
		}
		changes = append(changes, change{u, !clear})
	}
	return func(cur store.Flags) store.Flags {
		for _, c := range changes {
			if c.set {
				cur = cur.With(c.name)
			} else {
				cur = cur.Without(c.name)
			}
		}
		return cur
	}, nil
}

func (s *server) registerVolumeGroups(h huma.API) {
	list := func(ctx context.Context, rg string, nr *int32) ([]restapi.VolumeGroup, error) {
		vgs, err := s.Store.ListVolumeGroups(ctx, rg, nr)
		if err != nil {
			return nil, notFoundOnly(err)
		}
		out := make([]restapi.VolumeGroup, len(vgs))
		for i, v := range vgs {
			out[i] = volumeGroupJSON(v)
		}
		return out, nil
	}
	huma.Register(h, huma.Operation{OperationID: "volumeGroupList", Method: http.MethodGet, Path: "/v1/resource-groups/{resource_group}/volume-groups", Summary: "list volume groups", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RgPath
			ListParams
		}) (*struct{ Body []restapi.VolumeGroup }, error) {
			out, err := list(ctx, in.ResourceGroup, nil)
			return &struct{ Body []restapi.VolumeGroup }{page(out, in.ListParams)}, err
		})
	huma.Register(h, huma.Operation{OperationID: "volumeGroupGet", Method: http.MethodGet, Path: "/v1/resource-groups/{resource_group}/volume-groups/{volume_number}", Summary: "show one volume group", Tags: []string{"developers"}},
		func(ctx context.Context, in *VgPath) (*struct{ Body restapi.VolumeGroup }, error) {
			out, err := list(ctx, in.ResourceGroup, &in.VolumeNumber)
			if err != nil {
				return nil, err
			}
			return &struct{ Body restapi.VolumeGroup }{out[0]}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "volumeGroupCreate", Method: http.MethodPost, Path: "/v1/resource-groups/{resource_group}/volume-groups", Summary: "add a volume group to a resource group", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RgPath
			Body restapi.VolumeGroup
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskVlmGrp
			refs := map[string]string{"RscGrp": in.ResourceGroup}
			if nr := in.Body.VolumeNumber; nr != nil && (*nr < 0 || *nr > store.MaxVolumeNumber) {
				return nil, invalid(apicall.FailInvldVlmNr, op, obj, fmt.Sprintf("Invalid volume number %d.", *nr), "Volume numbers are from 0 to 65534.", "")
			}
			set, err := flagChange(in.Body.Flags, vgFlags, op, obj)
			if err != nil {
				return nil, err
			}
			row, err := s.Store.CreateVolumeGroup(ctx, in.ResourceGroup, in.Body.VolumeNumber, in.Body.Props, set(""))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			refs["VlmNr"] = fmt.Sprint(row.VlmNr)
			return success(apicall.Created, op, obj, fmt.Sprintf("New volume group %d of resource group '%s' created.", row.VlmNr, in.ResourceGroup), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "volumeGroupModify", Method: http.MethodPut, Path: "/v1/resource-groups/{resource_group}/volume-groups/{volume_number}", Summary: "modify a volume group", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			VgPath
			Body restapi.VolumeGroupModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskVlmGrp
			refs := map[string]string{"RscGrp": in.ResourceGroup, "VlmNr": fmt.Sprint(in.VolumeNumber)}
			set, err := flagChange(in.Body.Flags, vgFlags, op, obj)
			if err != nil {
				return nil, err
			}
			row, err := s.Store.ModifyVolumeGroup(ctx, in.ResourceGroup, in.VolumeNumber, propsModify(in.Body.PropsModify), set)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Volume group %d of resource group '%s' modified.", row.VlmNr, in.ResourceGroup), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "volumeGroupDelete", Method: http.MethodDelete, Path: "/v1/resource-groups/{resource_group}/volume-groups/{volume_number}", Summary: "delete a volume group", Tags: []string{"developers"}},
		func(ctx context.Context, in *VgPath) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskVlmGrp
			refs := map[string]string{"RscGrp": in.ResourceGroup, "VlmNr": fmt.Sprint(in.VolumeNumber)}
			row, err := s.Store.DeleteVolumeGroup(ctx, in.ResourceGroup, in.VolumeNumber)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Deleted, op, obj, fmt.Sprintf("Volume group %d of resource group '%s' deleted.", row.VlmNr, in.ResourceGroup), row.UUID, refs), nil
		})
}

// sameShape converts between two types with the same JSON fields.
func sameShape[T any](src any) (T, error) {
	var dst T
	b, err := json.Marshal(src)
	if err == nil {
		err = json.Unmarshal(b, &dst)
	}
	return dst, err
}
