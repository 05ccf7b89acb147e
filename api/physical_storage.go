package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"strata/activities"
	"strata/apicall"
	"strata/workflows"

	"github.com/danielgtaylor/huma/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"strata/agent/proto"
	"strata/store"
)

// PhysicalStorageDevice is a disk in the physical-storage list.
type PhysicalStorageDevice struct {
	Device string `json:"device,omitempty"`
	Model  string `json:"model,omitempty"`
	Serial string `json:"serial,omitempty"`
	WWN    string `json:"wwn,omitempty"`
}

// PhysicalStorage is a group of disks of one size and kind, by node.
type PhysicalStorage struct {
	Size       int64                              `json:"size"`
	Rotational bool                               `json:"rotational"`
	Nodes      map[string][]PhysicalStorageDevice `json:"nodes"`
}

// PhysicalStorageNode is a disk of one node.
type PhysicalStorageNode struct {
	Size       int64 `json:"size"`
	Rotational bool  `json:"rotational"`
	PhysicalStorageDevice
}

// PhysicalStorageCreate asks for a device pool (LINSTOR's body).
type PhysicalStorageCreate struct {
	ProviderKind      string   `json:"provider_kind"`
	DevicePaths       []string `json:"device_paths"`
	RaidLevel         string   `json:"raid_level,omitempty" enum:"JBOD"`
	PoolName          string   `json:"pool_name,omitempty"`
	VdoEnable         bool     `json:"vdo_enable,omitempty"`
	VdoSlabSizeKib    int64    `json:"vdo_slab_size_kib,omitempty"`
	VdoLogicalSizeKib int64    `json:"vdo_logical_size_kib,omitempty"`
	LogicalSizeKib    int64    `json:"logcal_size_kib,omitempty"`
	WithStoragePool   *struct {
		Name            string            `json:"name"`
		Props           map[string]string `json:"props,omitempty"`
		SharedSpace     string            `json:"shared_space,omitempty"`
		ExternalLocking bool              `json:"external_locking,omitempty"`
	} `json:"with_storage_pool,omitempty"`
	Sed               bool     `json:"sed,omitempty"`
	PvCreateArguments []string `json:"pv_create_arguments,omitempty"`
	VgCreateArguments []string `json:"vg_create_arguments,omitempty"`
	LvCreateArguments []string `json:"lv_create_arguments,omitempty"`
	ZpoolCreateArgs   []string `json:"zpool_create_arguments,omitempty"`
}

// devicePoolProviders are the kinds create-device-pool makes.
var devicePoolProviders = []string{store.ProviderLVM, store.ProviderLVMThin, store.ProviderZFS, store.ProviderZFSThin}

func (s *server) registerPhysicalStorage(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "viewPhysicaStorage", Method: http.MethodGet, Path: "/v1/physical-storage", Summary: "show physical storage on nodes, to be used with LINSTOR", Tags: []string{"developers"}},
		func(ctx context.Context, in *ListParams) (*struct{ Body []PhysicalStorage }, error) {
			nodes, err := s.Store.ListNodes(ctx, nil)
			if err != nil {
				return nil, failure(err, 0, 0, nil)
			}
			type group struct {
				size int64
				rota bool
			}
			names := make([]string, len(nodes))
			for i, n := range nodes {
				names[i] = n.NodeDspName
			}
			found, err := s.physicalStorage(ctx, names)
			if err != nil {
				return nil, err
			}
			groups := map[group]map[string][]PhysicalStorageDevice{}
			for _, n := range nodes {
				for _, d := range found.Disks[n.NodeDspName] { // offline nodes have nothing to offer
					g := group{d.SizeBytes, d.Rotational}
					if groups[g] == nil {
						groups[g] = map[string][]PhysicalStorageDevice{}
					}
					groups[g][n.NodeDspName] = append(groups[g][n.NodeDspName], PhysicalStorageDevice{d.Device, d.Model, d.Serial, d.WWN})
				}
			}
			out := []PhysicalStorage{}
			for g, byNode := range groups {
				out = append(out, PhysicalStorage{Size: g.size, Rotational: g.rota, Nodes: byNode})
			}
			sort.Slice(out, func(i, j int) bool {
				return out[i].Size < out[j].Size || out[i].Size == out[j].Size && !out[i].Rotational && out[j].Rotational
			})
			return &struct{ Body []PhysicalStorage }{page(out, *in)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "getPhysicalStorage", Method: http.MethodGet, Path: "/v1/physical-storage/{node}", Summary: "show physical storage on a single node", Tags: []string{"developers"}},
		func(ctx context.Context, in *NodePath) (*struct{ Body []PhysicalStorageNode }, error) {
			n, err := s.Store.GetNode(ctx, in.Node)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			found, err := s.physicalStorage(ctx, []string{n.NodeDspName})
			if err != nil {
				return nil, err
			}
			if why, ok := found.Failed[n.NodeDspName]; ok {
				return nil, apicall.Failure(apicall.FailUnknownError, 0, apicall.MaskNode, fmt.Sprintf("Physical storage of node '%s' could not be listed.", in.Node), why, "Check that the node's agent is online.")
			}
			out := []PhysicalStorageNode{}
			for _, d := range found.Disks[n.NodeDspName] {
				out = append(out, PhysicalStorageNode{d.SizeBytes, d.Rotational, PhysicalStorageDevice{d.Device, d.Model, d.Serial, d.WWN}})
			}
			return &struct{ Body []PhysicalStorageNode }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "createDevicePool", Method: http.MethodPost, Path: "/v1/physical-storage/{node}", Summary: "creates an LVM, LVM-thin or ZFS pool", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
			Body PhysicalStorageCreate
		}) (*rcOutput, error) {
			return s.createDevicePool(ctx, in.Node, in.Body, in.wait(s.OperationWait))
		})
}

// physicalStorage asks the nodes' agents for their unused disks, by the
// PhysicalStorage workflow.
func (s *server) physicalStorage(ctx context.Context, nodes []string) (workflows.PhysicalStorageResult, error) {
	var res workflows.PhysicalStorageResult
	id := workflows.PhysicalStorageID(nodes)
	r, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.taskQueue(), EnableEagerStart: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.PhysicalStorage, nodes)
	if err == nil {
		err = r.Get(ctx, &res)
	}
	if err != nil {
		return res, apicall.Failure(apicall.FailUnknownError, 0, apicall.MaskNode, "The nodes' physical storage could not be listed.", err.Error(), "See workflow "+id+" in the Temporal UI.")
	}
	return res, nil
}

func (s *server) createDevicePool(ctx context.Context, node string, b PhysicalStorageCreate, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskStorPool
	n, err := s.Store.GetNode(ctx, node)
	if err != nil {
		return nil, failure(err, op, apicall.MaskNode, map[string]string{"Node": node})
	}
	provider, ok := upperEnum(b.ProviderKind, devicePoolProviders)
	if !ok {
		return nil, invalid(apicall.FailInvldProvider, op, obj, fmt.Sprintf("A device pool cannot be of kind '%s'.", b.ProviderKind), "", "Use LVM, LVM_THIN, ZFS or ZFS_THIN.")
	}
	if len(b.DevicePaths) == 0 || b.PoolName == "" {
		return nil, invalid(apicall.FailInvldRequest, op, obj, "A device pool needs a pool name and at least one device.", "", "Give --pool-name and the devices.")
	}
	if b.VdoEnable || b.Sed {
		return nil, invalid(apicall.FailInvldRequest, op, obj, "VDO and SED device pools are not supported by Strata.", "", "Create the pool without --vdo-enable and --sed.")
	}
	in := activities.DevicePoolInput{Node: n.NodeDspName, Pool: proto.DevicePool{Provider: provider, Devices: b.DevicePaths, PoolName: b.PoolName,
		PvCreateArg: b.PvCreateArguments, VgCreateArg: b.VgCreateArguments, LvCreateArg: b.LvCreateArguments, ZpoolArg: b.ZpoolCreateArgs}}
	if sp := b.WithStoragePool; sp != nil && sp.Name != "" {
		if err := spNameRule.check(sp.Name, op, obj); err != nil {
			return nil, err
		}
		in.StoragePool = &store.StoragePoolSpec{Name: sp.Name, Provider: provider, Props: sp.Props, SharedSpace: sp.SharedSpace, ExternalLocking: sp.ExternalLocking}
	}
	return s.run(ctx, operation{op: op, obj: obj, id: workflows.DevicePoolID(n.NodeDspName, b.PoolName), workflow: workflows.DevicePool, input: in,
		what: fmt.Sprintf("Creating device pool '%s' on node '%s'", b.PoolName, n.NodeDspName), refs: map[string]string{"Node": n.NodeDspName}}, wait)
}
