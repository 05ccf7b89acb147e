package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"strata/activities"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// snapshotNameRule is LINSTOR's SnapshotName check (a resource name's).
var snapshotNameRule = nameRule{"snapshot", 2, 48, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldSnapshotName}

// SnapshotPath names a snapshot of a definition.
type SnapshotPath struct {
	RdPath
	Snapshot string `path:"snapshot" doc:"Snapshot name"`
}

// SnapshotRollbackBody is rollback's optional body: the CLI sends {},
// golinstor nothing.
type SnapshotRollbackBody struct{ restapi.SnapshotRollback }

// Schema lets the body be absent or JSON null.
func (SnapshotRollbackBody) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, Nullable: true, Properties: map[string]*huma.Schema{
		"zfs_rollback_strategy": {Type: huma.TypeString, Enum: []any{"rollback", "clone", "dynamic"}},
	}}
}

func (s *server) registerSnapshots(h huma.API) {
	base := "/v1/resource-definitions/{resource}"
	reg := func(id, method, path, summary string, status int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"developers"}, DefaultStatus: status}
	}
	huma.Register(h, reg("resourceSnapshotsList", http.MethodGet, base+"/snapshots", "list snapshots", 0),
		func(ctx context.Context, in *struct {
			RdPath
			ListParams
		}) (*struct{ Body []restapi.Snapshot }, error) {
			if _, err := s.Store.GetResourceDefinition(ctx, in.Resource); err != nil {
				return nil, notFoundOnly(err)
			}
			return s.listSnapshots(ctx, store.SnapshotFilter{Resources: []string{in.Resource}}, in.ListParams)
		})
	huma.Register(h, reg("resourceSnapshotList", http.MethodGet, base+"/snapshots/{snapshot}", "show one snapshot", 0),
		func(ctx context.Context, in *SnapshotPath) (*struct{ Body restapi.Snapshot }, error) {
			sn, err := s.Store.GetSnapshot(ctx, in.Resource, in.Snapshot)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct{ Body restapi.Snapshot }{snapshotJSON(sn)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "viewSnapshots", Method: http.MethodGet, Path: "/v1/view/snapshots", Summary: "list the snapshots of every definition", Tags: []string{"developers"},
		Responses: map[string]*huma.Response{"200": {Description: "OK", Content: map[string]*huma.MediaType{"application/json": {Schema: h.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[[]restapi.Snapshot](), true, "")}}}}},
		func(ctx context.Context, in *struct {
			ListParams
			Nodes     []string `query:"nodes,explode"`
			Resources []string `query:"resources,explode"`
			Snapshots []string `query:"snapshots,explode"`
		}) (*jsonBytes, error) {
			body, err := s.snapshots.list(ctx, s.Store, viewFilter{Resources: in.Resources, Nodes: in.Nodes, Names: in.Snapshots, ListParams: in.ListParams})
			if err != nil {
				return nil, failure(err, 0, apicall.MaskSnapshot, nil)
			}
			return &jsonBytes{"application/json", body}, nil
		})
	huma.Register(h, reg("resourceSnapshotCreate", http.MethodPost, base+"/snapshots", "create a snapshot", http.StatusCreated),
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
			Body restapi.Snapshot
		}) (*rcOutput, error) {
			b := in.Body
			b.ResourceName = in.Resource
			return s.createSnapshots(ctx, []restapi.Snapshot{b}, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("createMultiSnapshot", http.MethodPost, "/v1/actions/snapshot/multi", "create snapshots of several resources together", http.StatusCreated),
		func(ctx context.Context, in *struct {
			OperationWaitParam
			Body restapi.CreateMultiSnapshotRequest
		}) (*rcOutput, error) {
			return s.createSnapshots(ctx, in.Body.Snapshots, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("snapshotModify", http.MethodPut, base+"/snapshots/{snapshot}", "modify a snapshot's properties", 0),
		func(ctx context.Context, in *struct {
			SnapshotPath
			Body restapi.SnapshotModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskSnapshot
			refs := map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}
			row, err := s.Store.ModifySnapshot(ctx, in.Resource, in.Snapshot, propsModify(in.Body.PropsModify))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Snapshot '%s' of resource '%s' modified.", row.SnapshotDspName, in.Resource), row.UUID, refs), nil
		})
	huma.Register(h, reg("resourceSnapshotDelete", http.MethodDelete, base+"/snapshots/{snapshot}", "delete a snapshot", 0),
		func(ctx context.Context, in *struct {
			SnapshotPath
			OperationWaitParam
			Nodes []string `query:"nodes,explode"`
		}) (*rcOutput, error) {
			input := activities.SnapshotDeleteInput{Resource: in.Resource, Snapshot: in.Snapshot, Nodes: in.Nodes}
			return s.run(ctx, operation{op: apicall.MaskDel, obj: apicall.MaskSnapshot, id: workflows.SnapshotDeleteID(in.Resource, in.Snapshot, in.Nodes), workflow: workflows.SnapshotDelete,
				input: input, what: fmt.Sprintf("Deleting snapshot '%s' of '%s'", in.Snapshot, in.Resource), refs: map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}}, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("resourceSnapshotsRestoreVolumeDefinition", http.MethodPost, base+"/snapshot-restore-volume-definition/{snapshot}", "restore a snapshot's volume definitions", 0),
		func(ctx context.Context, in *struct {
			SnapshotPath
			Body restapi.SnapshotRestore
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskVlmDfn
			refs := map[string]string{"RscDfn": in.Body.ToResource, "Snapshot": in.Snapshot}
			if err := rscNameRule.check(in.Body.ToResource, op, obj); err != nil {
				return nil, err
			}
			rows, err := s.Store.RestoreVolumeDefinitions(ctx, in.Resource, in.Snapshot, in.Body.ToResource)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			var out apicall.RcList
			for _, vd := range rows {
				out = append(out, apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Volume definition %d of '%s' restored from snapshot '%s' of '%s'.", vd.VlmNr, in.Body.ToResource, in.Snapshot, in.Resource), vd.UUID, refs)...)
			}
			if len(out) == 0 {
				out = apicall.RcList{apicall.NewRc(apicall.MaskWarn, op, obj, "No volumes to restore.")}
			}
			return &rcOutput{out}, nil
		})
	huma.Register(h, reg("resourceSnapshotRestore", http.MethodPost, base+"/snapshot-restore-resource/{snapshot}", "restore a snapshot into a new resource definition's resources", 0),
		func(ctx context.Context, in *struct {
			SnapshotPath
			OperationWaitParam
			Body restapi.SnapshotRestore
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskRsc
			b := in.Body
			if err := rscNameRule.check(b.ToResource, op, obj); err != nil {
				return nil, err
			}
			input := activities.SnapshotRestoreInput{RestoreSpec: store.RestoreSpec{Resource: in.Resource, Snapshot: in.Snapshot, To: b.ToResource, Nodes: b.Nodes, PoolRename: b.StorPoolRename}}
			return s.run(ctx, operation{op: op, obj: obj, id: workflows.SnapshotRestoreID(b.ToResource), workflow: workflows.SnapshotRestore, input: input,
				what: fmt.Sprintf("Restoring snapshot '%s' of '%s' into '%s'", in.Snapshot, in.Resource, b.ToResource), refs: map[string]string{"RscDfn": b.ToResource, "Snapshot": in.Snapshot}}, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("resourceSnapshotRollback", http.MethodPost, base+"/snapshot-rollback/{snapshot}", "roll a resource back to a snapshot", 0),
		func(ctx context.Context, in *struct {
			SnapshotPath
			OperationWaitParam
			Body *SnapshotRollbackBody `required:"false"`
		}) (*rcOutput, error) {
			input := activities.RollbackInput{Resource: in.Resource, Snapshot: in.Snapshot}
			return s.run(ctx, operation{op: apicall.MaskMod, obj: apicall.MaskSnapshot, id: workflows.SnapshotRollbackID(in.Resource), workflow: workflows.SnapshotRollback, input: input,
				what: fmt.Sprintf("Rolling '%s' back to snapshot '%s'", in.Resource, in.Snapshot), refs: map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}}, in.wait(s.OperationWait))
		})
}

// createSnapshots checks the names and starts the snapshot create of
// one or several definitions.
func (s *server) createSnapshots(ctx context.Context, snaps []restapi.Snapshot, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskSnapshot
	if len(snaps) == 0 {
		return nil, invalid(apicall.FailInvldRequest, op, obj, "No snapshots to create.", "The request names no snapshot.", "Name at least one snapshot and its resource.")
	}
	var in activities.SnapshotCreateInput
	var names []string
	for _, sn := range snaps {
		if err := rscNameRule.check(sn.ResourceName, op, obj); err != nil {
			return nil, err
		}
		if err := snapshotNameRule.check(sn.Name, op, obj); err != nil {
			return nil, err
		}
		in.Snapshots = append(in.Snapshots, store.SnapshotSpec{Resource: sn.ResourceName, Name: sn.Name, Nodes: sn.Nodes, Props: sn.SnapshotDefinitionProps})
		names = append(names, fmt.Sprintf("'%s' of '%s'", sn.Name, sn.ResourceName))
	}
	refs := map[string]string{"RscDfn": snaps[0].ResourceName, "Snapshot": snaps[0].Name}
	return s.run(ctx, operation{op: op, obj: obj, id: workflows.SnapshotCreateID(in.Refs()), workflow: workflows.SnapshotCreate, input: in,
		what: "Snapshot " + strings.Join(names, ", "), refs: refs}, wait)
}

func (s *server) listSnapshots(ctx context.Context, f store.SnapshotFilter, p ListParams) (*struct{ Body []restapi.Snapshot }, error) {
	list, err := s.Store.ListSnapshots(ctx, f)
	if err != nil {
		return nil, failure(err, 0, apicall.MaskSnapshot, nil)
	}
	list = page(filter(list, func(sn store.Snapshot) map[string]string { return sn.Props }, p.Props), p)
	out := make([]restapi.Snapshot, len(list))
	for i, sn := range list {
		out[i] = snapshotJSON(sn)
	}
	return &struct{ Body []restapi.Snapshot }{out}, nil
}

// snapshotJSON is LINSTOR's Snapshot object of a snapshot.
func snapshotJSON(sn store.Snapshot) restapi.Snapshot {
	props := maps.Clone(sn.ResourceDefinitionProps)
	if props == nil {
		props = map[string]string{}
	}
	maps.Copy(props, sn.Props)
	out := restapi.Snapshot{Name: sn.SnapshotDspName, ResourceName: sn.ResourceDspName, Props: props, SnapshotDefinitionProps: sn.Props,
		ResourceDefinitionProps: sn.ResourceDefinitionProps, Flags: sn.Flags.List(), UUID: sn.UUID}
	for _, vd := range sn.VolumeDefinitions {
		out.VolumeDefinitions = append(out.VolumeDefinitions, restapi.SnapshotVolumeDefinition{VolumeNumber: vd.VlmNr, SizeKib: vd.SizeKib, VolumeDefinitionProps: vd.VolumeDefinitionProps})
	}
	for _, n := range sn.Nodes {
		out.Nodes = append(out.Nodes, n.NodeDspName)
		sn := restapi.SnapshotNode{SnapshotName: sn.SnapshotDspName, NodeName: n.NodeDspName, CreateTimestamp: n.CreateTimestamp, Flags: n.Flags.List(), UUID: n.UUID, ResourceProps: n.ResourceProps}
		for _, v := range n.Volumes {
			sn.SnapshotVolumes = append(sn.SnapshotVolumes, restapi.SnapshotVolumeNode{UUID: v.UUID, VlmNr: v.VlmNr, Props: v.VolumeProps, VolumeProps: v.VolumeProps})
		}
		out.Snapshots = append(out.Snapshots, sn)
	}
	return out
}

// propsChanged makes the schedules follow a property change: one that
// touches AutoSnapshot/* signals the reconcile of the auto-snapshot
// schedules, one that touches Schedule/* that of scheduled shipping
// (each started when none runs); it does not wait for them.
func (s *server) propsChanged(ctx context.Context, m store.PropsModify) error {
	touches := func(prefix string) bool {
		for k := range m.OverrideProps {
			if strings.HasPrefix(k, prefix) {
				return true
			}
		}
		for _, k := range append(append([]string(nil), m.DeleteProps...), m.DeleteNamespaces...) {
			if strings.HasPrefix(strings.Trim(k, "/")+"/", prefix) {
				return true
			}
		}
		return false
	}
	if s.Temporal == nil {
		return nil
	}
	if touches("AutoSnapshot/") {
		if err := ReconcileAutoSnapshots(ctx, s.Temporal, s.taskQueue()); err != nil {
			return err
		}
	}
	if touches(store.SchedulePrefix) {
		return s.schedulesChanged(ctx)
	}
	return nil
}

// ReconcileAutoSnapshots signals the reconcile of the auto-snapshot
// schedules, starting it when none runs; the controller also calls it
// at start.
func ReconcileAutoSnapshots(ctx context.Context, c client.Client, queue string) error {
	_, err := c.SignalWithStartWorkflow(ctx, workflows.AutoSnapshotSchedulesID, workflows.AutoSnapshotSchedulesSignal, nil, client.StartWorkflowOptions{
		ID: workflows.AutoSnapshotSchedulesID, TaskQueue: queue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.AutoSnapshotSchedules)
	return err
}
