package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

type RdPath struct {
	Resource string `path:"resource" doc:"Resource definition name"`
}

type VdPath struct {
	RdPath
	VolumeNumber int32 `path:"volume_number" minimum:"0" maximum:"65534" doc:"Volume number"`
}

// vdFlags are the flags a volume definition may carry.
var vdFlags = []string{"ENCRYPTED", "GROSS_SIZE"}

// maxVolumeSizeKib is the largest volume DRBD supports (1 PiB).
const maxVolumeSizeKib = 1 << 40

var invalidNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// nameFromExternal derives a definition name from an external name, as
// LINSTOR does when only the external name is given.
func nameFromExternal(ext string) string {
	n := invalidNameChars.ReplaceAllString(ext, "_")
	if n != "" && !regexp.MustCompile(`^[A-Za-z_]`).MatchString(n) {
		n = "_" + n
	}
	if len(n) > 48 {
		n = n[:48]
	}
	return n
}

// resourceDefinitionJSON is a definition as LINSTOR shows it; storageOnly
// says its resources are storage only although it names no layers (one
// of their nodes has no DRBD), so that its layers are shown as they are.
func resourceDefinitionJSON(d store.ResourceDefinition, storageOnly bool) restapi.ResourceDefinition {
	out := restapi.ResourceDefinition{Name: d.ResourceDspName, Props: d.Props, Flags: d.Flags.List(), UUID: d.UUID, ResourceGroupName: d.ResourceGroupDspName}
	if d.ResourceExternalName != nil {
		out.ExternalName = *d.ResourceExternalName
	}
	drbd := &restapi.DrbdResourceDefinitionLayer{PeerSlots: d.DrbdPeerSlots, AlStripes: 1, AlStripeSizeKib: 32, TransportType: d.DrbdTransportType, Secret: d.DrbdSecret}
	if d.DrbdPort != nil {
		drbd.Port = *d.DrbdPort
	}
	stack := d.LayerStack.List()
	switch {
	case len(stack) > 0:
	case storageOnly:
		stack = []string{"STORAGE"}
	default:
		stack = []string{"DRBD", "STORAGE"}
	}
	for _, l := range stack {
		layer := restapi.ResourceDefinitionLayer{Type: l}
		if l == "DRBD" {
			layer.Data = drbd
		}
		out.LayerData = append(out.LayerData, layer)
	}
	for _, v := range d.VolumeDefinitions {
		out.VolumeDefinitions = append(out.VolumeDefinitions, volumeDefinitionJSON(v))
	}
	return out
}

func volumeDefinitionJSON(v store.VolumeDefinition) restapi.VolumeDefinition {
	nr := v.VlmNr
	out := restapi.VolumeDefinition{VolumeNumber: &nr, SizeKib: v.VlmSize, Props: v.Props, Flags: v.Flags.List(), UUID: v.UUID}
	if v.DrbdMinor != nil {
		out.LayerData = []restapi.VolumeDefinitionLayer{{Type: "DRBD", Data: &restapi.DrbdVolumeDefinition{VolumeNumber: &nr, MinorNumber: v.DrbdMinor}}, {Type: "STORAGE"}}
	}
	return out
}

func (s *server) registerResourceDefinitions(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionList", Method: http.MethodGet, Path: "/v1/resource-definitions", Summary: "list resource definitions", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			ListParams
			ResourceDefinitions   []string `query:"resource_definitions,explode"`
			WithVolumeDefinitions bool     `query:"with_volume_definitions"`
		}) (*struct{ Body []restapi.ResourceDefinition }, error) {
			rds, err := s.Store.ListResourceDefinitions(ctx, store.ResourceDefinitionFilter{Names: in.ResourceDefinitions, WithVolumeDefinitions: in.WithVolumeDefinitions})
			if err != nil {
				return nil, failure(err, 0, apicall.MaskRscDfn, nil)
			}
			rds = page(filter(rds, func(d store.ResourceDefinition) map[string]string { return d.Props }, in.Props), in.ListParams)
			var keys []string // a page's definitions; a long list reads them all at once
			if len(rds) <= 500 {
				for _, d := range rds {
					keys = append(keys, d.ResourceName)
				}
			}
			storageOnly, err := s.Store.StorageOnlyDefinitions(ctx, keys)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskRscDfn, nil)
			}
			out := make([]restapi.ResourceDefinition, len(rds))
			for i, d := range rds {
				out[i] = resourceDefinitionJSON(d, storageOnly[d.ResourceName])
			}
			return &struct{ Body []restapi.ResourceDefinition }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionGet", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}", Summary: "show one resource definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *RdPath) (*struct{ Body restapi.ResourceDefinition }, error) {
			d, err := s.Store.GetResourceDefinition(ctx, in.Resource)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			storageOnly, err := s.Store.StorageOnlyDefinitions(ctx, []string{d.ResourceName})
			if err != nil {
				return nil, failure(err, 0, apicall.MaskRscDfn, nil)
			}
			return &struct{ Body restapi.ResourceDefinition }{resourceDefinitionJSON(d, storageOnly[d.ResourceName])}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionCreate", Method: http.MethodPost, Path: "/v1/resource-definitions", Summary: "add a resource definition", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			Body restapi.ResourceDefinitionCreate
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
			b := in.Body
			rd := b.ResourceDefinition
			if rd.Name == "" && rd.ExternalName != "" {
				rd.Name = nameFromExternal(rd.ExternalName)
			}
			refs := map[string]string{"RscDfn": rd.Name}
			if err := rscNameRule.check(rd.Name, op, obj); err != nil {
				return nil, err
			}
			if rd.ResourceGroupName != "" {
				if err := rgNameRule.check(rd.ResourceGroupName, op, obj); err != nil {
					return nil, err
				}
			}
			if b.DrbdPort != nil && (*b.DrbdPort < 1 || *b.DrbdPort > 65535) {
				return nil, invalid(203, op, obj, fmt.Sprintf("Invalid TCP port %d.", *b.DrbdPort), "A DRBD port is from 1 to 65535.", "Leave it out to have one allocated.")
			}
			if err := checkPeerSlots(b.DrbdPeerSlots, op, obj); err != nil {
				return nil, err
			}
			transport := strings.ToUpper(b.DrbdTransportType)
			if transport != "" && transport != "IP" && transport != "RDMA" {
				return nil, invalid(214, op, obj, fmt.Sprintf("Invalid transport type '%s'.", b.DrbdTransportType), "", "Use IP or RDMA.")
			}
			var layers []string
			for _, l := range rd.LayerData {
				layers = append(layers, l.Type)
			}
			stack, err := checkLayers(layers, op, obj)
			if err != nil {
				return nil, err
			}
			row, err := s.Store.CreateResourceDefinition(ctx, store.ResourceDefinitionSpec{Name: rd.Name, ExternalName: rd.ExternalName, ResourceGroup: rd.ResourceGroupName,
				Props: rd.Props, LayerStack: stack, DrbdPort: b.DrbdPort, DrbdSecret: b.DrbdSecret, PeerSlots: b.DrbdPeerSlots, TransportType: transport})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return s.definitionsChanged(ctx, success(apicall.Created, op, obj, fmt.Sprintf("New resource definition '%s' created.", row.ResourceDspName), row.UUID, refs), nil)
		})
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionModify", Method: http.MethodPut, Path: "/v1/resource-definitions/{resource}", Summary: "modify a resource definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
			Body restapi.ResourceDefinitionModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskRscDfn
			refs := map[string]string{"RscDfn": in.Resource}
			b := in.Body
			if b.DrbdPort != nil && (*b.DrbdPort < 1 || *b.DrbdPort > 65535) {
				return nil, invalid(203, op, obj, fmt.Sprintf("Invalid TCP port %d.", *b.DrbdPort), "A DRBD port is from 1 to 65535.", "")
			}
			if err := checkPeerSlots(b.DrbdPeerSlots, op, obj); err != nil {
				return nil, err
			}
			var stack []string
			if b.LayerStack != nil {
				var err error
				if stack, err = checkLayers(b.LayerStack, op, obj); err != nil {
					return nil, err
				}
			}
			row, err := s.Store.ModifyResourceDefinition(ctx, in.Resource, store.ResourceDefinitionChange{DrbdPort: b.DrbdPort, PeerSlots: b.DrbdPeerSlots,
				LayerStack: stack, ResourceGroup: b.ResourceGroup, Props: propsModify(b.PropsModify)})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			if err := s.propsChanged(ctx, propsModify(b.PropsModify)); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			if b.ResourceGroup != "" {
				if _, err := s.definitionsChanged(ctx, nil, nil); err != nil {
					return nil, failure(err, op, obj, refs)
				}
			}
			out := success(apicall.Modified, op, obj, fmt.Sprintf("Resource definition '%s' modified.", row.ResourceDspName), row.UUID, refs).Body
			// Its nodes get the new port, peer slots and DRBD options.
			return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionDelete", Method: http.MethodDelete, Path: "/v1/resource-definitions/{resource}", Summary: "delete a resource definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
		}) (*rcOutput, error) {
			return s.deleteResourceDefinition(ctx, in.Resource, in.wait(s.OperationWait))
		})
	s.registerVolumeDefinitions(h)
}

// deleteResourceDefinition removes a definition from every node and then
// from the database, by its ResourceDefinitionDelete workflow: its
// resources are marked, their nodes get their new state, and the rows go
// once the nodes no longer have them.
func (s *server) deleteResourceDefinition(ctx context.Context, rd string, wait time.Duration) (*rcOutput, error) {
	out, err := s.run(ctx, operation{op: apicall.MaskDel, obj: apicall.MaskRscDfn, id: workflows.ResourceDefinitionDeleteID(rd), workflow: workflows.ResourceDefinitionDelete,
		input: rd, what: fmt.Sprintf("Deleting resource definition '%s'", rd), refs: map[string]string{"RscDfn": rd}}, wait)
	return s.definitionsChanged(ctx, out, err)
}

// definitionsChanged has the schedules of scheduled shipping follow a
// definition created, moved to another group or deleted: an enabled
// group or controller covers the new one, the deleted one's go. Called
// with the request's answer, it keeps it.
func (s *server) definitionsChanged(ctx context.Context, out *rcOutput, err error) (*rcOutput, error) {
	if err == nil {
		err = s.schedulesChanged(ctx)
	}
	return out, err
}

func checkSize(kib int64, op, obj uint64) error {
	if kib < 1 || kib > maxVolumeSizeKib {
		return invalid(apicall.FailInvldVlmSize, op, obj, fmt.Sprintf("Invalid volume size %d KiB.", kib), "A volume is from 1 KiB to 1 PiB.", "Give the size in KiB, such as 1048576 for 1 GiB.")
	}
	return nil
}

func (s *server) registerVolumeDefinitions(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "volumeDefinitionList", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/volume-definitions", Summary: "list volume definitions", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			ListParams
		}) (*struct{ Body []restapi.VolumeDefinition }, error) {
			d, err := s.Store.GetResourceDefinition(ctx, in.Resource)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			out := []restapi.VolumeDefinition{}
			for _, v := range d.VolumeDefinitions {
				out = append(out, volumeDefinitionJSON(v))
			}
			return &struct{ Body []restapi.VolumeDefinition }{page(out, in.ListParams)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "volumeDefinitionGet", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/volume-definitions/{volume_number}", Summary: "show one volume definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *VdPath) (*struct{ Body restapi.VolumeDefinition }, error) {
			d, err := s.Store.GetResourceDefinition(ctx, in.Resource)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			for _, v := range d.VolumeDefinitions {
				if v.VlmNr == in.VolumeNumber {
					return &struct{ Body restapi.VolumeDefinition }{volumeDefinitionJSON(v)}, nil
				}
			}
			return nil, missing(store.KindVolumeDefinition, "Volume definition %d of resource definition '%s' not found.", in.VolumeNumber, in.Resource)
		})
	huma.Register(h, huma.Operation{OperationID: "volumeDefinitionCreate", Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/volume-definitions", Summary: "add a volume definition", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
			Body restapi.VolumeDefinitionCreate
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskVlmDfn
			refs := map[string]string{"RscDfn": in.Resource}
			vd := in.Body.VolumeDefinition
			if err := checkSize(vd.SizeKib, op, obj); err != nil {
				return nil, err
			}
			if nr := vd.VolumeNumber; nr != nil && (*nr < 0 || *nr > store.MaxVolumeNumber) {
				return nil, invalid(apicall.FailInvldVlmNr, op, obj, fmt.Sprintf("Invalid volume number %d.", *nr), "Volume numbers are from 0 to 65534.", "")
			}
			if m := in.Body.DrbdMinorNumber; m != nil && (*m < 0 || *m > 1048575) {
				return nil, invalid(207, op, obj, fmt.Sprintf("Invalid DRBD minor number %d.", *m), "DRBD minors are from 0 to 1048575.", "")
			}
			set, err := flagChange(vd.Flags, vdFlags, op, obj)
			if err != nil {
				return nil, err
			}
			row, err := s.Store.CreateVolumeDefinition(ctx, in.Resource, store.VolumeDefinitionSpec{VlmNr: vd.VolumeNumber, SizeKib: vd.SizeKib, Props: vd.Props, Flags: set(""), DrbdMinor: in.Body.DrbdMinorNumber})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			refs["VlmNr"] = fmt.Sprint(row.VlmNr)
			out := success(apicall.Created, op, obj, fmt.Sprintf("New volume definition with number '%d' of resource definition '%s' created.", row.VlmNr, in.Resource), row.UUID, refs).Body
			return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "volumeDefinitionModify", Method: http.MethodPut, Path: "/v1/resource-definitions/{resource}/volume-definitions/{volume_number}", Summary: "modify a volume definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			VdPath
			OperationWaitParam
			Body restapi.VolumeDefinitionModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskVlmDfn
			refs := map[string]string{"RscDfn": in.Resource, "VlmNr": fmt.Sprint(in.VolumeNumber)}
			if in.Body.SizeKib != 0 {
				if err := checkSize(in.Body.SizeKib, op, obj); err != nil {
					return nil, err
				}
			}
			set, err := flagChange(in.Body.Flags, vdFlags, op, obj)
			if err != nil {
				return nil, err
			}
			row, err := s.Store.ModifyVolumeDefinition(ctx, in.Resource, in.VolumeNumber, store.VolumeDefinitionChange{SizeKib: in.Body.SizeKib, Flags: set, Props: propsModify(in.Body.PropsModify)})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			out := success(apicall.Modified, op, obj, fmt.Sprintf("Volume definition %d of resource definition '%s' modified.", row.VlmNr, in.Resource), row.UUID, refs).Body
			if in.Body.SizeKib == 0 && propsModify(in.Body.PropsModify).Empty() {
				return &rcOutput{out}, nil
			}
			// A new size grows the volumes online; properties may be DRBD options.
			return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "volumeDefinitionDelete", Method: http.MethodDelete, Path: "/v1/resource-definitions/{resource}/volume-definitions/{volume_number}", Summary: "delete a volume definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			VdPath
			OperationWaitParam
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskVlmDfn
			refs := map[string]string{"RscDfn": in.Resource, "VlmNr": fmt.Sprint(in.VolumeNumber)}
			row, err := s.Store.DeleteVolumeDefinition(ctx, in.Resource, in.VolumeNumber)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			out := success(apicall.Deleted, op, obj, fmt.Sprintf("Volume definition %d of resource definition '%s' deleted.", row.VlmNr, in.Resource), row.UUID, refs).Body
			return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
		})
}
