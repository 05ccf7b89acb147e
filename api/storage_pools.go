package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

type SpdPath struct {
	StoragePool string `path:"storagepool" doc:"Storage pool name"`
}

type SpPath struct {
	NodePath
	SpdPath
}

func (s *server) registerStoragePools(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "storagePoolDfnList", Method: http.MethodGet, Path: "/v1/storage-pool-definitions", Summary: "list storage pool definitions", Tags: []string{"developers"}},
		func(ctx context.Context, in *ListParams) (*struct {
			Body []restapi.StoragePoolDefinition
		}, error) {
			spds, err := s.Store.ListStorPoolDefinitions(ctx, nil)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskStorPoolDfn, nil)
			}
			spds = page(filter(spds, func(d store.StorPoolDefinition) map[string]string { return d.Props }, in.Props), *in)
			out := make([]restapi.StoragePoolDefinition, len(spds))
			for i, d := range spds {
				out[i] = restapi.StoragePoolDefinition{StoragePoolName: d.PoolDspName, Props: d.Props}
			}
			return &struct {
				Body []restapi.StoragePoolDefinition
			}{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "storagePoolDfnGet", Method: http.MethodGet, Path: "/v1/storage-pool-definitions/{storagepool}", Summary: "show one storage pool definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *SpdPath) (*struct{ Body restapi.StoragePoolDefinition }, error) {
			spds, err := s.Store.ListStorPoolDefinitions(ctx, []string{in.StoragePool})
			if err != nil {
				return nil, failure(err, 0, 0, nil)
			}
			if len(spds) == 0 {
				return nil, missing(store.KindStorPoolDefinition, "Storage pool definition '%s' not found.", in.StoragePool)
			}
			return &struct{ Body restapi.StoragePoolDefinition }{restapi.StoragePoolDefinition{StoragePoolName: spds[0].PoolDspName, Props: spds[0].Props}}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "storagePoolDfnAdd", Method: http.MethodPost, Path: "/v1/storage-pool-definitions", Summary: "add a storage pool definition", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct{ Body restapi.StoragePoolDefinition }) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskStorPoolDfn
			refs := map[string]string{"StorPoolDfn": in.Body.StoragePoolName}
			if err := spNameRule.check(in.Body.StoragePoolName, op, obj); err != nil {
				return nil, err
			}
			row, err := s.Store.CreateStorPoolDefinition(ctx, in.Body.StoragePoolName, in.Body.Props)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Created, op, obj, fmt.Sprintf("New storage pool definition '%s' created.", row.PoolDspName), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "storPoolDfnModify", Method: http.MethodPut, Path: "/v1/storage-pool-definitions/{storagepool}", Summary: "modify a storage pool definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			SpdPath
			Body restapi.PropsModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskStorPoolDfn
			refs := map[string]string{"StorPoolDfn": in.StoragePool}
			row, err := s.Store.ModifyStorPoolDefinition(ctx, in.StoragePool, propsModify(in.Body))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Storage pool definition '%s' modified.", row.PoolDspName), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "storagePoolDefinitionDelete", Method: http.MethodDelete, Path: "/v1/storage-pool-definitions/{storagepool}", Summary: "delete a storage pool definition", Tags: []string{"developers"}},
		func(ctx context.Context, in *SpdPath) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskStorPoolDfn
			refs := map[string]string{"StorPoolDfn": in.StoragePool}
			row, err := s.Store.DeleteStorPoolDefinition(ctx, in.StoragePool)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Deleted, op, obj, fmt.Sprintf("Storage pool definition '%s' deleted.", row.PoolDspName), row.UUID, refs), nil
		})

	listPools := func(ctx context.Context, f store.StoragePoolFilter, p ListParams) ([]restapi.StoragePool, error) {
		pools, err := s.Store.ListStoragePools(ctx, f)
		if err != nil {
			return nil, failure(err, 0, apicall.MaskStorPool, nil)
		}
		pools = page(filter(pools, func(p store.StoragePool) map[string]string { return p.Props }, p.Props), p)
		out := make([]restapi.StoragePool, len(pools))
		for i, p := range pools {
			out[i] = storagePoolJSON(p)
		}
		return out, nil
	}
	type poolFilter struct {
		ListParams
		Nodes        []string `query:"nodes,explode"`
		StoragePools []string `query:"storage_pools,explode"`
		Cached       bool     `query:"cached"`
	}
	huma.Register(h, huma.Operation{OperationID: "viewStoragePools", Method: http.MethodGet, Path: "/v1/view/storage-pools", Summary: "query all storage pools", Tags: []string{"developers"}},
		func(ctx context.Context, in *poolFilter) (*struct{ Body []restapi.StoragePool }, error) {
			out, err := listPools(ctx, store.StoragePoolFilter{Nodes: in.Nodes, Pools: in.StoragePools}, in.ListParams)
			return &struct{ Body []restapi.StoragePool }{out}, err
		})
	huma.Register(h, huma.Operation{OperationID: "nodeStoragePoolList", Method: http.MethodGet, Path: "/v1/nodes/{node}/storage-pools", Summary: "list a node's storage pools", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodePath
			poolFilter
		}) (*struct{ Body []restapi.StoragePool }, error) {
			if _, err := s.Store.GetNode(ctx, in.Node); err != nil {
				return nil, notFoundOnly(err)
			}
			out, err := listPools(ctx, store.StoragePoolFilter{Nodes: []string{in.Node}, Pools: in.StoragePools}, in.ListParams)
			return &struct{ Body []restapi.StoragePool }{out}, err
		})
	huma.Register(h, huma.Operation{OperationID: "nodeStoragePoolGet", Method: http.MethodGet, Path: "/v1/nodes/{node}/storage-pools/{storagepool}", Summary: "show one storage pool", Tags: []string{"developers"}},
		func(ctx context.Context, in *SpPath) (*struct{ Body restapi.StoragePool }, error) {
			if _, err := s.Store.GetNode(ctx, in.Node); err != nil {
				return nil, notFoundOnly(err)
			}
			out, err := listPools(ctx, store.StoragePoolFilter{Nodes: []string{in.Node}, Pools: []string{in.StoragePool}}, ListParams{})
			if err != nil {
				return nil, err
			}
			if len(out) == 0 {
				return nil, missing(store.KindStoragePool, "Storage pool '%s' on node '%s' not found.", in.StoragePool, in.Node)
			}
			return &struct{ Body restapi.StoragePool }{out[0]}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "nodeStoragePoolCreate", Method: http.MethodPost, Path: "/v1/nodes/{node}/storage-pools", Summary: "create a storage pool on a node", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
			Body restapi.StoragePool
		}) (*rcOutput, error) {
			return s.createStoragePool(ctx, in.Node, in.Body, in.wait(s.OperationWait))
		})
	huma.Register(h, huma.Operation{OperationID: "nodeStoragePoolModify", Method: http.MethodPut, Path: "/v1/nodes/{node}/storage-pools/{storagepool}", Summary: "modify a storage pool", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			SpPath
			Body restapi.PropsModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskStorPool
			refs := map[string]string{"Node": in.Node, "StorPoolDfn": in.StoragePool}
			row, err := s.Store.ModifyStoragePool(ctx, in.Node, in.StoragePool, propsModify(in.Body))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Storage pool '%s' on node '%s' modified.", in.StoragePool, in.Node), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "nodeStoragePoolDelete", Method: http.MethodDelete, Path: "/v1/nodes/{node}/storage-pools/{storagepool}", Summary: "delete a storage pool", Tags: []string{"developers"}},
		func(ctx context.Context, in *SpPath) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskStorPool
			refs := map[string]string{"Node": in.Node, "StorPoolDfn": in.StoragePool}
			row, err := s.Store.DeleteStoragePool(ctx, in.Node, in.StoragePool)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Deleted, op, obj, fmt.Sprintf("Storage pool '%s' on node '%s' deleted.", in.StoragePool, in.Node), row.UUID, refs), nil
		})
}

func (s *server) createStoragePool(ctx context.Context, node string, p restapi.StoragePool, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskStorPool
	refs := map[string]string{"Node": node, "StorPoolDfn": p.StoragePoolName}
	if err := spNameRule.check(p.StoragePoolName, op, obj); err != nil {
		return nil, err
	}
	provider, ok := upperEnum(p.ProviderKind, store.Providers)
	if !ok {
		return nil, invalid(apicall.FailInvldProvider, op, obj, fmt.Sprintf("Invalid storage provider '%s'.", apicall.Clip(p.ProviderKind)), "", "Use one of: "+strings.Join(store.Providers, ", ")+".")
	}
	row, err := s.Store.CreateStoragePool(ctx, node, store.StoragePoolSpec{Name: p.StoragePoolName, Provider: provider, Props: p.Props,
		SharedSpace: p.SharedSpace, ExternalLocking: p.ExternalLocking})
	if err != nil {
		return nil, failure(err, op, obj, refs)
	}
	out := success(apicall.Created, op, obj, fmt.Sprintf("New storage pool '%s' on node '%s' registered.", p.StoragePoolName, node), row.UUID, refs)
	out.Body = append(out.Body, s.syncNode(ctx, node, workflows.PoolSyncID(node, p.StoragePoolName), wait)...)
	return out, nil
}

// syncNode sends a node its state and waits up to wait for its report,
// so that what the node now has (a new pool's capacity) is known when the
// request is answered: a spawn right after a storage-pool create finds
// the pool. A node that is not reached gets its state when it connects.
func (s *server) syncNode(ctx context.Context, node, id string, wait time.Duration) apicall.RcList {
	if s.Temporal == nil {
		return nil
	}
	_, err := startOrJoin(ctx, s.Temporal, s.taskQueue(), id, workflows.NodeSync, node)
	if err == nil && wait == 0 {
		return nil
	}
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		var o workflows.Outcome
		if err = s.Temporal.GetWorkflow(wctx, id, "").Get(wctx, &o); err == nil {
			return o.Replies
		}
	}
	rc := apicall.NewRc(apicall.WarnNodeNotReached, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Node '%s' was not reached; it gets its state when it connects.", node))
	rc.Details, rc.ObjRefs = err.Error(), map[string]string{"Node": node, "WorkflowId": id}
	return apicall.RcList{rc}
}

func storagePoolJSON(p store.StoragePool) restapi.StoragePool {
	out := restapi.StoragePool{StoragePoolName: p.PoolDspName, NodeName: p.NodeDspName, ProviderKind: p.DriverName, Props: p.Props,
		FreeCapacity: p.FreeCapacity, TotalCapacity: p.TotalCapacity, FreeSpaceMgrName: p.FreeSpaceMgrName, UUID: p.UUID,
		SupportsSnapshots: store.CanSnapshot(p.StoragePoolRow), ExternalLocking: p.ExternalLocking,
		StaticTraits: map[string]string{"Provisioning": "Fat", "SupportsSnapshots": fmt.Sprint(store.CanSnapshot(p.StoragePoolRow))}}
	if p.StateError != "" {
		out.Reports = []apicall.ApiCallRc{stateReport(apicall.MaskStorPool, p.StateError, p.StateReport)}
	}
	if p.FreeSpaceMgrName != p.NodeDspName+";"+p.PoolDspName {
		out.SharedSpace = p.FreeSpaceMgrName
	}
	switch p.DriverName {
	case store.ProviderLVMThin, store.ProviderZFSThin, store.ProviderFileThin:
		out.StaticTraits["Provisioning"] = "Thin"
	}
	return out
}
