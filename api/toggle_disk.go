package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/apicall"
	"strata/workflows"
)

// ToggleDiskDiskful is LINSTOR's (deprecated) optional body of a toggle to
// diskful.
type ToggleDiskDiskful struct {
	LayerList []string `json:"layer_list,omitempty"`
}

// Schema lets the body be JSON null, which golinstor sends when it has no
// layer list. The layer list is not used: the resource keeps its
// definition's layers.
func (ToggleDiskDiskful) Schema(r huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, Nullable: true, Properties: map[string]*huma.Schema{
		"layer_list": {Type: huma.TypeArray, Items: &huma.Schema{Type: huma.TypeString}},
	}}
}

// ToggleDiskRequest is LINSTOR's body of PUT …/toggle-disk: the
// operation, the pool to toggle into, and the node whose disk a diskful
// toggle replaces (migrate-disk). A DRBD client is a diskless resource
// here; the layer list is not used, as in ToggleDiskDiskful.
type ToggleDiskRequest struct {
	Operation   string   `json:"operation,omitempty"`
	StoragePool string   `json:"storage_pool,omitempty"`
	MigrateFrom string   `json:"migrate_from,omitempty"`
	LayerList   []string `json:"layer_list,omitempty"`
}

// TogglePath names the resource of a toggle-disk. (Exported: huma
// ignores the fields of unexported embedded structs.)
type TogglePath struct {
	RscPath
	OperationWaitParam
}

// MigratePath names the resource of a migrate-disk and the node whose
// disk it replaces.
type MigratePath struct {
	TogglePath
	From string `path:"fromnode" doc:"the node whose disk the resource's replaces"`
}

// TogglePoolPath also names the pool to toggle into.
type TogglePoolPath struct {
	TogglePath
	Pool string `path:"pool" doc:"storage pool"`
}

func (s *server) registerToggleDisk(h huma.API) {
	base := "/v1/resource-definitions/{resource}/resources/{node}/toggle-disk"
	op := func(id, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: http.MethodPut, Path: base + path, Summary: summary, Tags: []string{"developers"}}
	}
	huma.Register(h, op("resourceToggleDiskless", "/diskless", "toggle a resource to diskless"),
		func(ctx context.Context, in *TogglePath) (*rcOutput, error) {
			return s.toggleDisk(ctx, in.Resource, in.Node, false, "", in.wait(s.OperationWait))
		})
	huma.Register(h, op("resourceToggleDisklessDisklesspool", "/diskless/{pool}", "toggle a resource to diskless, in a diskless pool"),
		func(ctx context.Context, in *TogglePoolPath) (*rcOutput, error) {
			return s.toggleDisk(ctx, in.Resource, in.Node, false, in.Pool, in.wait(s.OperationWait))
		})
	huma.Register(h, op("resourceToggleDiskful", "/diskful", "toggle a resource to a diskful resource"),
		func(ctx context.Context, in *struct {
			TogglePath
			Body *ToggleDiskDiskful `required:"false"`
		}) (*rcOutput, error) {
			return s.toggleDisk(ctx, in.Resource, in.Node, true, "", in.wait(s.OperationWait))
		})
	huma.Register(h, op("resourceToggleDiskfulStoragepool", "/diskful/{pool}", "toggle a resource to a diskful resource in a storage pool"),
		func(ctx context.Context, in *struct {
			TogglePoolPath
			Body *ToggleDiskDiskful `required:"false"`
		}) (*rcOutput, error) {
			return s.toggleDisk(ctx, in.Resource, in.Node, true, in.Pool, in.wait(s.OperationWait))
		})
	migrate := func(ctx context.Context, rd, node, from, pool string, wait time.Duration) (*rcOutput, error) {
		const op, obj = apicall.MaskMod, apicall.MaskRsc
		if err := checkNodeName(from, op, obj); err != nil {
			return nil, err
		}
		if pool != "" {
			if err := spNameRule.check(pool, op, apicall.MaskStorPool); err != nil {
				return nil, err
			}
		}
		return s.run(ctx, operation{op: op, obj: obj, id: workflows.MigrateDiskID(rd, node), workflow: workflows.MigrateDisk,
			input: activities.MigrateDiskInput{Resource: rd, Node: node, From: from, Pool: pool},
			what:  fmt.Sprintf("Migrating the disk of resource '%s' from node '%s' to node '%s'", rd, from, node), refs: map[string]string{"RscDfn": rd, "Node": node}}, wait)
	}
	huma.Register(h, op("resourceToggleDisk", "", "toggle a resource into diskless or diskful"),
		func(ctx context.Context, in *struct {
			TogglePath
			Body *ToggleDiskRequest `required:"false"`
		}) (*rcOutput, error) {
			var body ToggleDiskRequest
			if in.Body != nil {
				body = *in.Body
			}
			wait := in.wait(s.OperationWait)
			switch {
			case body.MigrateFrom != "" && (body.Operation == "" || body.Operation == "INTO_DRBD_DISKFUL"):
				return migrate(ctx, in.Resource, in.Node, body.MigrateFrom, body.StoragePool, wait)
			case body.MigrateFrom != "":
				return nil, invalid(apicall.FailInvldRequest, apicall.MaskMod, apicall.MaskRsc, "A disk can only be migrated into a diskful resource.",
					fmt.Sprintf("migrate_from came with operation %s.", apicall.Clip(body.Operation)), "Leave the operation out, or use INTO_DRBD_DISKFUL.")
			case body.Operation == "INTO_DRBD_DISKFUL":
				return s.toggleDisk(ctx, in.Resource, in.Node, true, body.StoragePool, wait)
			case body.Operation == "INTO_DRBD_DISKLESS" || body.Operation == "INTO_DRBD_CLIENT":
				return s.toggleDisk(ctx, in.Resource, in.Node, false, body.StoragePool, wait)
			}
			return nil, invalid(apicall.FailInvldRequest, apicall.MaskMod, apicall.MaskRsc, fmt.Sprintf("Unknown toggle-disk operation '%s'.", apicall.Clip(body.Operation)),
				"", "Use INTO_DRBD_DISKFUL, INTO_DRBD_DISKLESS or INTO_DRBD_CLIENT.")
		})
	migrateBase := "/v1/resource-definitions/{resource}/resources/{node}/migrate-disk/{fromnode}"
	huma.Register(h, huma.Operation{OperationID: "resourceMigrateDisk", Method: http.MethodPut, Path: migrateBase, Summary: "give a diskless resource a disk to replace another node's", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			MigratePath
			Body *ToggleDiskDiskful `required:"false"`
		}) (*rcOutput, error) {
			return migrate(ctx, in.Resource, in.Node, in.From, "", in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceMigrateDiskStoragePool", Method: http.MethodPut, Path: migrateBase + "/{storagepool}", Summary: "give a diskless resource a disk in a storage pool to replace another node's", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			MigratePath
			Pool string             `path:"storagepool" doc:"storage pool"`
			Body *ToggleDiskDiskful `required:"false"`
		}) (*rcOutput, error) {
			return migrate(ctx, in.Resource, in.Node, in.From, in.Pool, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "resourceMakeAvailableOnNode", Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/resources/{node}/make-available",
		Summary: "create the resource on the node if it is not there", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RscPath
			OperationWaitParam
			Body *MakeAvailable `required:"false"`
		}) (*rcOutput, error) {
			var body MakeAvailable
			if in.Body != nil {
				body = *in.Body
			}
			return s.makeAvailable(ctx, in.Resource, in.Node, body, in.wait(s.OperationWait))
		})
	for _, a := range []struct {
		id, path string
		active   bool
		summary  string
	}{{"ActivateRsc", "/activate", true, "activates the resource"}, {"DeactivateRsc", "/deactivate", false, "deactivates the resource"}} {
		huma.Register(h, huma.Operation{OperationID: a.id, Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/resources/{node}" + a.path, Summary: a.summary, Tags: []string{"developers"}},
			func(ctx context.Context, in *struct {
				RscPath
				OperationWaitParam
			}) (*rcOutput, error) {
				word := map[bool]string{true: "activate", false: "deactivate"}[a.active]
				return s.run(ctx, operation{op: apicall.MaskMod, obj: apicall.MaskRsc, id: workflows.ActivateID(in.Resource, in.Node, a.active), workflow: workflows.Activate,
					input: activities.ActivateInput{Resource: in.Resource, Node: in.Node, Active: a.active},
					what:  fmt.Sprintf("Resource '%s' on node '%s': %s", in.Resource, in.Node, word), refs: map[string]string{"RscDfn": in.Resource, "Node": in.Node}}, in.wait(s.OperationWait))
			})
	}
}

// MakeAvailable is LINSTOR's body of make-available. (LINSTOR's
// drbd_tcp_ports and snapshot copies are not taken.)
type MakeAvailable struct {
	Diskful   bool     `json:"diskful,omitempty"`
	LayerList []string `json:"layer_list,omitempty"`
}

// makeAvailable makes a definition usable on a node by its MakeAvailable
// workflow.
func (s *server) makeAvailable(ctx context.Context, rd, node string, in MakeAvailable, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskRsc
	var layers []string
	if len(in.LayerList) > 0 {
		var err error
		if layers, err = checkLayers(in.LayerList, op, obj); err != nil {
			return nil, err
		}
	}
	return s.run(ctx, operation{op: op, obj: obj, id: workflows.MakeAvailableID(rd, node, in.Diskful), workflow: workflows.MakeAvailable,
		input: activities.MakeAvailableInput{Resource: rd, Node: node, Diskful: in.Diskful, LayerList: layers},
		what:  fmt.Sprintf("Making resource '%s' available on node '%s'", rd, node), refs: map[string]string{"RscDfn": rd, "Node": node}}, wait)
}

// toggleDisk gives a resource a disk or takes it away by its ToggleDisk
// workflow, which applies auto-quorum and deploys the change.
func (s *server) toggleDisk(ctx context.Context, rd, node string, diskful bool, pool string, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskMod, apicall.MaskRsc
	if pool != "" {
		if err := spNameRule.check(pool, op, apicall.MaskStorPool); err != nil {
			return nil, err
		}
	}
	word := map[bool]string{true: "diskful", false: "diskless"}[diskful]
	return s.run(ctx, operation{op: op, obj: obj, id: workflows.ToggleDiskID(rd, node, diskful), workflow: workflows.ToggleDisk,
		input: activities.ToggleDiskInput{Resource: rd, Node: node, Diskful: diskful, Pool: pool},
		what:  fmt.Sprintf("Toggling resource '%s' on node '%s' to %s", rd, node, word), refs: map[string]string{"RscDfn": rd, "Node": node}}, wait)
}
