package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/agent/proto"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// devicePoolProviders are the kinds create-device-pool makes.
var devicePoolProviders = []string{store.ProviderLVM, store.ProviderLVMThin, store.ProviderZFS, store.ProviderZFSThin}

func (s *server) registerPhysicalStorage(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "viewPhysicaStorage", Method: http.MethodGet, Path: "/v1/physical-storage", Summary: "show physical storage on nodes, to be used with LINSTOR", Tags: []string{"developers"}},
		func(ctx context.Context, in *ListParams) (*struct{ Body []restapi.PhysicalStorage }, error) {
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
			groups := map[group]map[string][]restapi.PhysicalStorageDevice{}
			for _, n := range nodes {
				for _, d := range found.Disks[n.NodeDspName] { // offline nodes have nothing to offer
					g := group{d.SizeBytes, d.Rotational}
					if groups[g] == nil {
						groups[g] = map[string][]restapi.PhysicalStorageDevice{}
					}
					groups[g][n.NodeDspName] = append(groups[g][n.NodeDspName], device(d))
				}
			}
			out := []restapi.PhysicalStorage{}
			for g, byNode := range groups {
				out = append(out, restapi.PhysicalStorage{Size: g.size, Rotational: g.rota, Nodes: byNode})
			}
			sort.Slice(out, func(i, j int) bool {
				return out[i].Size < out[j].Size || out[i].Size == out[j].Size && !out[i].Rotational && out[j].Rotational
			})
			return &struct{ Body []restapi.PhysicalStorage }{page(out, *in)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "getPhysicalStorage", Method: http.MethodGet, Path: "/v1/physical-storage/{node}", Summary: "show physical storage on a single node", Tags: []string{"developers"}},
		func(ctx context.Context, in *NodePath) (*struct{ Body []restapi.PhysicalStorageNode }, error) {
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
			out := []restapi.PhysicalStorageNode{}
			for _, d := range found.Disks[n.NodeDspName] {
				out = append(out, restapi.PhysicalStorageNode{Size: d.SizeBytes, Rotational: d.Rotational, PhysicalStorageDevice: device(d)})
			}
			return &struct{ Body []restapi.PhysicalStorageNode }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "createDevicePool", Method: http.MethodPost, Path: "/v1/physical-storage/{node}", Summary: "creates an LVM, LVM-thin or ZFS pool", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
			Body restapi.PhysicalStorageCreate
		}) (*rcOutput, error) {
			return s.createDevicePool(ctx, in.Node, in.Body, in.wait(s.OperationWait))
		})
}

// physicalStorage asks the nodes' agents for their unused disks, by the
// PhysicalStorage workflow.
func (s *server) physicalStorage(ctx context.Context, nodes []string) (workflows.PhysicalStorageResult, error) {
	var res workflows.PhysicalStorageResult
	id := workflows.PhysicalStorageID(nodes)
	r, err := s.start(ctx, id, workflows.PhysicalStorage, nodes)
	if err == nil {
		err = r.Get(ctx, &res)
	}
	if err != nil {
		return res, apicall.Failure(apicall.FailUnknownError, 0, apicall.MaskNode, "The nodes' physical storage could not be listed.", err.Error(), "See workflow "+id+" in the Temporal UI.")
	}
	return res, nil
}

func (s *server) createDevicePool(ctx context.Context, node string, b restapi.PhysicalStorageCreate, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskStorPool
	n, err := s.Store.GetNode(ctx, node)
	if err != nil {
		return nil, failure(err, op, apicall.MaskNode, map[string]string{"Node": node})
	}
	// The linstor client sends LVMTHIN and ZFSTHIN.
	provider, ok := upperEnum(b.ProviderKind, devicePoolProviders)
	for _, p := range devicePoolProviders {
		if !ok && strings.EqualFold(strings.ReplaceAll(p, "_", ""), b.ProviderKind) {
			provider, ok = p, true
		}
	}
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

func device(d proto.Disk) restapi.PhysicalStorageDevice {
	return restapi.PhysicalStorageDevice{Device: d.Device, Model: d.Model, Serial: d.Serial, WWN: d.WWN}
}
