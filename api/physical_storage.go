package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"strata/apicall"

	"github.com/danielgtaylor/huma/v2"

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
			groups := map[group]map[string][]PhysicalStorageDevice{}
			for _, n := range nodes {
				disks, err := s.disks(ctx, n.NodeName)
				if err != nil {
					continue // offline nodes have nothing to offer
				}
				for _, d := range disks {
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
			if _, err := s.Store.GetNode(ctx, in.Node); err != nil {
				return nil, notFoundOnly(err)
			}
			disks, err := s.disks(ctx, in.Node)
			if err != nil {
				return nil, apicall.Failure(apicall.FailUnknownError, 0, apicall.MaskNode, fmt.Sprintf("Physical storage of node '%s' could not be listed.", in.Node), err.Error(), "Check that the node's agent is online.")
			}
			out := []PhysicalStorageNode{}
			for _, d := range disks {
				out = append(out, PhysicalStorageNode{d.SizeBytes, d.Rotational, PhysicalStorageDevice{d.Device, d.Model, d.Serial, d.WWN}})
			}
			return &struct{ Body []PhysicalStorageNode }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "createDevicePool", Method: http.MethodPost, Path: "/v1/physical-storage/{node}", Summary: "creates an LVM, LVM-thin or ZFS pool", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			NodePath
			Body PhysicalStorageCreate
		}) (*rcOutput, error) {
			return s.createDevicePool(ctx, in.Node, in.Body)
		})
}

func (s *server) disks(ctx context.Context, node string) ([]proto.Disk, error) {
	if s.Agents == nil {
		return nil, fmt.Errorf("no agents are connected")
	}
	return s.Agents.Disks(ctx, node)
}

func (s *server) createDevicePool(ctx context.Context, node string, b PhysicalStorageCreate) (*rcOutput, error) {
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
	if s.Agents == nil {
		return nil, invalid(apicall.FailInvldRequest, op, obj, "No agents are connected.", "", "")
	}
	rep, err := s.Agents.CreateDevicePool(ctx, n.NodeName, proto.DevicePool{Provider: provider, Devices: b.DevicePaths, PoolName: b.PoolName,
		PvCreateArg: b.PvCreateArguments, VgCreateArg: b.VgCreateArguments, LvCreateArg: b.LvCreateArguments, ZpoolArg: b.ZpoolCreateArgs})
	if err == nil && rep.Error != "" {
		err = fmt.Errorf("%s", rep.Error)
	}
	if err != nil {
		return nil, apicall.Failure(apicall.FailUnknownError, op, obj, fmt.Sprintf("Device pool '%s' could not be created on node '%s'.", b.PoolName, n.NodeDspName), err.Error(), "")
	}
	out := success(apicall.Created, op, obj, fmt.Sprintf("Device pool '%s' of kind %s created on node '%s' (%s).", b.PoolName, provider, n.NodeDspName, rep.StorPoolName), "", map[string]string{"Node": n.NodeDspName})
	if sp := b.WithStoragePool; sp != nil && sp.Name != "" {
		created, err := s.createStoragePool(ctx, n.NodeDspName, StoragePool{StoragePoolName: sp.Name, ProviderKind: provider,
			Props: withProp(sp.Props, "StorDriver/StorPoolName", rep.StorPoolName), SharedSpace: sp.SharedSpace, ExternalLocking: sp.ExternalLocking})
		if err != nil {
			if l, ok := err.(apicall.RcList); ok {
				return &rcOutput{append(out.Body, l...)}, nil
			}
			return nil, err
		}
		out.Body = append(out.Body, created.Body...)
	}
	return out, nil
}
