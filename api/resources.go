package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

type RscPath struct {
	RdPath
	NodePath
}

type VlmPath struct {
	RscPath
	VolumeNumber int32 `path:"volume_number" minimum:"0" maximum:"65534" doc:"Volume number"`
}

// rscCreateFlags are the flags a client may give a new resource.
var rscCreateFlags = []string{"DISKLESS", "DRBD_DISKLESS", "NVME_INITIATOR", "TIE_BREAKER", "INACTIVE"}

// jsonBytes is an answer already serialised.
type jsonBytes struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func resourceJSON(r store.Resource) restapi.ResourceWithVolumes {
	out := restapi.ResourceWithVolumes{Resource: restapi.Resource{Name: r.ResourceDspName, NodeName: r.NodeDspName, Props: r.Props, Flags: resourceFlags(r.Flags),
		UUID: r.UUID, CreateTimestamp: r.CreateTimestamp}}
	storage := restapi.ResourceLayer{Type: "STORAGE", Storage: &restapi.StorageLayer{StorageVolumes: []restapi.StorageVolume{}}}
	drbd := r.DrbdRole != "" || r.Flags.Has("DRBD_DISKLESS") || r.Flags.Has(store.FlagTieBreaker)
	for _, v := range r.Volumes {
		out.Volumes = append(out.Volumes, volumeJSON(v))
		storage.Storage.StorageVolumes = append(storage.Storage.StorageVolumes, storageVolume(v))
		drbd = drbd || v.TopLayer == "DRBD"
	}
	if r.InUse != nil { // the node's agent reported the resource
		out.State = &restapi.ResourceState{InUse: r.InUse}
	}
	// LINSTOR always sends the layer tree; its client reads it for every
	// resource.
	out.LayerObject = &storage
	if drbd {
		layer := &restapi.DrbdResource{NodeID: r.DrbdNodeID, PromotionScore: r.PromotionScore, MayPromote: r.MayPromote, Connections: map[string]restapi.DrbdConnection{}}
		for peer, state := range r.DrbdConnections {
			layer.Connections[peer] = restapi.DrbdConnection{Connected: state == "Connected", Message: state}
		}
		for _, v := range r.Volumes { // the Proxmox plug-in reads a volume's size here
			if v.TopLayer == "DRBD" {
				layer.DrbdVolumes = append(layer.DrbdVolumes, drbdVolume(v))
			}
		}
		out.LayerObject = &restapi.ResourceLayer{Type: "DRBD", Drbd: layer, Children: []restapi.ResourceLayer{storage}}
	}
	return out
}

// resourceFlags lists a resource's flags as LINSTOR does, whose flags are
// bit sets: TIE_BREAKER includes DRBD_DISKLESS, which (as NVME_INITIATOR
// does) includes DISKLESS, listed first.
func resourceFlags(f store.Flags) []string {
	var implied []string
	if f.Has("DRBD_DISKLESS") || f.Has("NVME_INITIATOR") || f.Has(store.FlagTieBreaker) {
		implied = append(implied, "DISKLESS")
	}
	if f.Has(store.FlagTieBreaker) {
		implied = append(implied, "DRBD_DISKLESS")
	}
	for _, name := range implied {
		f = f.Without(name)
	}
	return append(implied, f.List()...)
}

func volumeJSON(v store.Volume) restapi.Volume {
	nr := v.VlmNr
	out := restapi.Volume{VolumeNumber: &nr, StoragePoolName: v.StorPoolDspName, ProviderKind: v.ProviderKind, Props: v.Props, Flags: v.Flags.List(), UUID: v.UUID,
		DevicePath: v.DevicePath, AllocatedSizeKib: v.AllocatedKib, UsableSizeKib: v.UsableKib}
	if v.DiskState != "" || len(v.ReplicationStates) > 0 {
		out.State = &restapi.VolumeState{DiskState: v.DiskState}
		for peer, r := range v.ReplicationStates {
			if out.State.ReplicationStates == nil {
				out.State.ReplicationStates = map[string]restapi.ReplicationState{}
			}
			out.State.ReplicationStates[peer] = restapi.ReplicationState{ReplicationState: r.State, DonePercentage: r.Done}
		}
	}
	if v.StateError != "" {
		out.Reports = []apicall.ApiCallRc{stateReport(apicall.MaskVlm, v.StateError, v.StateReport)}
	}
	out.LayerDataList = volumeLayers(v)
	return out
}

// storageVolume is a volume's STORAGE layer: the device DRBD sits on, or
// the volume's own device.
func storageVolume(v store.Volume) restapi.StorageVolume {
	out := restapi.StorageVolume{VolumeNumber: v.VlmNr, DevicePath: v.DevicePath, AllocatedSizeKib: v.AllocatedKib, UsableSizeKib: v.UsableKib, DiskState: v.DiskState}
	if v.TopLayer == "DRBD" {
		out.DevicePath = v.BackingDevice
	}
	return out
}

// volumeLayers are the layers of a volume its agent reported: DRBD over
// the storage device, or the storage device alone.
func volumeLayers(v store.Volume) []restapi.VolumeLayer {
	if v.DevicePath == "" {
		return nil
	}
	storage := storageVolume(v)
	if v.TopLayer != "DRBD" {
		return []restapi.VolumeLayer{{Type: "STORAGE", Data: storage}}
	}
	if v.BackingDevice == "" { // diskless: DRBD over nothing
		return []restapi.VolumeLayer{{Type: "DRBD", Data: drbdVolume(v)}}
	}
	return []restapi.VolumeLayer{{Type: "DRBD", Data: drbdVolume(v)}, {Type: "STORAGE", Data: storage}}
}

// drbdVolume is a volume's DRBD layer: over its backing device, or over
// nothing (diskless).
func drbdVolume(v store.Volume) restapi.DrbdVolume {
	nr := v.VlmNr
	out := restapi.DrbdVolume{DrbdVolumeDefinition: &restapi.DrbdVolumeDefinition{VolumeNumber: &nr, MinorNumber: v.DrbdMinor},
		DevicePath: v.DevicePath, DiskState: v.DiskState}
	if v.BackingDevice == "" {
		return out
	}
	out.BackingDevice, out.MetaDisk = v.BackingDevice, "internal"
	if v.AllocatedKib != nil {
		out.AllocatedSizeKib = *v.AllocatedKib
	}
	if v.UsableKib != nil {
		out.UsableSizeKib = *v.UsableKib
	}
	return out
}

func effectiveJSON(chain []store.PropsLevel) map[string]restapi.EffectiveProperty {
	eff := store.Effective(chain)
	out := make(map[string]restapi.EffectiveProperty, len(eff))
	for k, e := range eff {
		p := restapi.EffectiveProperty{PropertyWithDescription: restapi.PropertyWithDescription{Type: e.Type, Value: e.Value}}
		for _, o := range e.Overridden {
			p.Other = append(p.Other, restapi.PropertyWithDescription{Type: o.Type, Value: o.Value})
		}
		out[k] = p
	}
	return out
}

func (s *server) registerResources(h huma.API) {
	type rscFilter struct {
		ListParams
		Nodes        []string `query:"nodes,explode"`
		Resources    []string `query:"resources,explode"`
		StoragePools []string `query:"storage_pools,explode"`
	}
	list := func(ctx context.Context, f store.ResourceFilter, p ListParams) ([]restapi.ResourceWithVolumes, error) {
		rscs, err := s.Store.ListResources(ctx, f)
		if err != nil {
			return nil, failure(err, 0, apicall.MaskRsc, nil)
		}
		rscs = page(filter(rscs, func(r store.Resource) map[string]string { return r.Props }, p.Props), p)
		out := make([]restapi.ResourceWithVolumes, len(rscs))
		for i, r := range rscs {
			out[i] = resourceJSON(r)
		}
		return out, nil
	}
	huma.Register(h, huma.Operation{OperationID: "viewResources", Method: http.MethodGet, Path: "/v1/view/resources", Summary: "query all resources with their volumes", Tags: []string{"developers"},
		Responses: map[string]*huma.Response{"200": {Description: "OK", Content: map[string]*huma.MediaType{"application/json": {Schema: h.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[[]restapi.ResourceWithVolumes](), true, "")}}}}},
		func(ctx context.Context, in *rscFilter) (*jsonBytes, error) {
			body, err := s.resources.list(ctx, s.Store, viewFilter{Resources: in.Resources, Nodes: in.Nodes, StoragePools: in.StoragePools, ListParams: in.ListParams})
			if err != nil {
				return nil, failure(err, 0, apicall.MaskRsc, nil)
			}
			return &jsonBytes{"application/json", body}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceList", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/resources", Summary: "list a definition's resources", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			ListParams
		}) (*struct{ Body []restapi.ResourceWithVolumes }, error) {
			if _, err := s.Store.GetResourceDefinition(ctx, in.Resource); err != nil {
				return nil, notFoundOnly(err)
			}
			out, err := list(ctx, store.ResourceFilter{Resources: []string{in.Resource}}, in.ListParams)
			return &struct{ Body []restapi.ResourceWithVolumes }{out}, err
		})
	huma.Register(h, huma.Operation{OperationID: "resourceGet", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/resources/{node}", Summary: "show one resource with its effective properties", Tags: []string{"developers"}},
		func(ctx context.Context, in *RscPath) (*struct{ Body restapi.ResourceWithVolumes }, error) {
			r, err := s.Store.GetResource(ctx, in.Resource, in.Node)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			chain, err := s.Store.ResourcePropsChain(ctx, in.Resource, in.Node)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			out := resourceJSON(r)
			out.EffectiveProps = effectiveJSON(chain)
			return &struct{ Body restapi.ResourceWithVolumes }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceCreate", Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/resources", Summary: "create one or more resources", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
			Body []restapi.ResourceCreate
		}) (*rcOutput, error) {
			return s.createResources(ctx, in.Resource, in.Body, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceCreateOnNode", Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/resources/{node}", Summary: "create a resource on a node", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RscPath
			OperationWaitParam
			Body restapi.ResourceCreate
		}) (*rcOutput, error) {
			in.Body.Resource.NodeName = in.Node
			return s.createResources(ctx, in.Resource, []restapi.ResourceCreate{in.Body}, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceModify", Method: http.MethodPut, Path: "/v1/resource-definitions/{resource}/resources/{node}", Summary: "modify a resource", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RscPath
			OperationWaitParam
			Body restapi.ResourceModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskRsc
			refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node}
			row, err := s.Store.ModifyResource(ctx, in.Resource, in.Node, propsModify(in.Body.PropsModify))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			out := success(apicall.Modified, op, obj, fmt.Sprintf("Resource '%s' on node '%s' modified.", in.Resource, in.Node), row.UUID, refs).Body
			return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceDelete", Method: http.MethodDelete, Path: "/v1/resource-definitions/{resource}/resources/{node}", Summary: "delete a resource", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RscPath
			OperationWaitParam
			KeepTiebreaker bool `query:"keep_tiebreaker"`
		}) (*rcOutput, error) {
			return s.deleteResource(ctx, in.Resource, in.Node, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceVolumeList", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/resources/{node}/volumes", Summary: "list a resource's volumes", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RscPath
			ListParams
		}) (*struct{ Body []restapi.Volume }, error) {
			r, err := s.Store.GetResource(ctx, in.Resource, in.Node)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			out := []restapi.Volume{}
			for _, v := range r.Volumes {
				out = append(out, volumeJSON(v))
			}
			return &struct{ Body []restapi.Volume }{page(out, in.ListParams)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceVolumeGet", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/resources/{node}/volumes/{volume_number}", Summary: "show one volume", Tags: []string{"developers"}},
		func(ctx context.Context, in *VlmPath) (*struct{ Body restapi.Volume }, error) {
			r, err := s.Store.GetResource(ctx, in.Resource, in.Node)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			for _, v := range r.Volumes {
				if v.VlmNr == in.VolumeNumber {
					return &struct{ Body restapi.Volume }{volumeJSON(v)}, nil
				}
			}
			return nil, missing(store.KindVolume, "Volume %d of resource '%s' on node '%s' not found.", in.VolumeNumber, in.Resource, in.Node)
		})
	huma.Register(h, huma.Operation{OperationID: "volumeModify", Method: http.MethodPut, Path: "/v1/resource-definitions/{resource}/resources/{node}/volumes/{volume_number}", Summary: "modify a volume", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			VlmPath
			Body restapi.PropsModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskVlm
			refs := map[string]string{"RscDfn": in.Resource, "Node": in.Node, "VlmNr": fmt.Sprint(in.VolumeNumber)}
			row, err := s.Store.ModifyVolume(ctx, in.Resource, in.Node, in.VolumeNumber, propsModify(in.Body))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Volume %d of resource '%s' on node '%s' modified.", in.VolumeNumber, in.Resource, in.Node), row.UUID, refs), nil
		})
}

func (s *server) createResources(ctx context.Context, rd string, reqs []restapi.ResourceCreate, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRsc
	refs := map[string]string{"RscDfn": rd}
	if len(reqs) == 0 {
		return nil, invalid(apicall.FailInvldRequest, op, obj, "No resource to create.", "The request lists no resource.", "Name at least one node.")
	}
	specs := make([]store.ResourceSpec, len(reqs))
	for i, r := range reqs {
		if err := checkNodeName(r.Resource.NodeName, op, obj); err != nil {
			return nil, err
		}
		if r.DrbdNodeID != nil && (*r.DrbdNodeID < 0 || *r.DrbdNodeID > store.MaxNodeID) {
			return nil, invalid(apicall.FailInvldNodeID, op, obj, fmt.Sprintf("Invalid DRBD node id %d.", *r.DrbdNodeID), "DRBD node ids are from 0 to 31.", "")
		}
		set, err := flagChange(r.Resource.Flags, rscCreateFlags, op, obj)
		if err != nil {
			return nil, err
		}
		specs[i] = store.ResourceSpec{Node: r.Resource.NodeName, Props: r.Resource.Props, Flags: set(""), DrbdNodeID: r.DrbdNodeID}
		if len(r.LayerList) > 0 {
			if specs[i].LayerStack, err = checkLayers(r.LayerList, op, obj); err != nil {
				return nil, err
			}
		}
	}
	nodes := make([]string, len(specs))
	for i, sp := range specs {
		nodes[i] = sp.Node
	}
	return s.run(ctx, operation{op: op, obj: obj, id: workflows.ResourceCreateID(rd, nodes), workflow: workflows.ResourceCreate,
		input: activities.CreateResourcesInput{Resource: rd, Specs: specs}, what: fmt.Sprintf("Creating resources of '%s'", rd), refs: refs}, wait)
}

// deleteResource removes a resource from its node by its ResourceDelete
// workflow: it is marked, its node and peers get their new state, and its
// rows go once its node no longer has it (at once if it never reached it).
func (s *server) deleteResource(ctx context.Context, rd, node string, wait time.Duration) (*rcOutput, error) {
	return s.run(ctx, operation{op: apicall.MaskDel, obj: apicall.MaskRsc, id: workflows.ResourceDeleteID(rd, node), workflow: workflows.ResourceDelete,
		input: activities.ResourceInput{Resource: rd, Node: node}, what: fmt.Sprintf("Deleting resource '%s' on node '%s'", rd, node),
		refs: map[string]string{"RscDfn": rd, "Node": node}}, wait)
}
