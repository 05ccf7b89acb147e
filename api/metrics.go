package api

import (
	"context"
	"encoding/json"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"strata/metrics"
	"strata/restapi"
	"strata/store"
)

// backingPoolKeys are where a pool's backing pool is named, by driver.
var backingPoolKeys = []string{"StorDriver/LvmVg", "StorDriver/ThinPool", "StorDriver/ZPool", "StorDriver/ZPoolThin", "StorDriver/FileDir"}

// cluster is what /metrics reports, read as the API lists it: the nodes'
// connection states, the resource view's states, the pools' capacity.
func (s *server) cluster(ctx context.Context) (metrics.Cluster, error) {
	out := metrics.Cluster{Version: s.Build.Version}
	nodes, err := s.Store.ListNodes(ctx, nil)
	if err != nil {
		return out, err
	}
	for _, n := range nodes {
		j := s.nodeJSON(n)
		out.Nodes = append(out.Nodes, metrics.Node{Name: j.Name, Type: j.Type, Connection: j.ConnectionStatus})
	}
	raw, err := s.resources.list(ctx, s.Store, viewFilter{})
	if err != nil {
		return out, err
	}
	var rscs []restapi.ResourceWithVolumes
	if err := json.Unmarshal(raw, &rscs); err != nil {
		return out, err
	}
	perDefinition := map[string]int{}
	for _, r := range rscs {
		perDefinition[store.Key(r.Name)]++
		m := metrics.Resource{Name: r.Name, Node: r.NodeName, Diskless: slices.Contains(r.Flags, "DISKLESS")}
		if r.State != nil {
			m.InUse = r.State.InUse
		}
		for _, v := range r.Volumes {
			mv := metrics.Volume{DevicePath: v.DevicePath, Pool: v.StoragePoolName}
			if v.VolumeNumber != nil {
				mv.Number = *v.VolumeNumber
			}
			if v.State != nil {
				mv.DiskState = v.State.DiskState
			}
			if v.AllocatedSizeKib != nil {
				b := *v.AllocatedSizeKib << 10
				mv.AllocatedBytes = &b
			}
			m.Volumes = append(m.Volumes, mv)
		}
		out.Resources = append(out.Resources, m)
	}
	rds, err := s.Store.ListResourceDefinitions(ctx, store.ResourceDefinitionFilter{WithVolumeDefinitions: true})
	if err != nil {
		return out, err
	}
	for _, d := range rds {
		md := metrics.Definition{Name: d.ResourceDspName, Group: d.ResourceGroupDspName, Resources: perDefinition[d.ResourceName], VolumeBytes: map[int32]int64{}}
		for _, vd := range d.VolumeDefinitions {
			md.VolumeBytes[vd.VlmNr] = vd.VlmSize << 10
		}
		out.Definitions = append(out.Definitions, md)
	}
	pools, err := s.Store.ListStoragePools(ctx, store.StoragePoolFilter{})
	if err != nil {
		return out, err
	}
	for _, p := range pools {
		j := storagePoolJSON(p)
		mp := metrics.Pool{Name: j.StoragePoolName, Node: j.NodeName, Driver: j.ProviderKind}
		for _, k := range backingPoolKeys {
			if v := p.Props[k]; v != "" && mp.Backing == "" {
				mp.Backing = v
			}
		}
		kib := func(v *int64) *int64 {
			if v == nil {
				return nil
			}
			b := *v << 10
			return &b
		}
		mp.FreeBytes, mp.TotalBytes = kib(j.FreeCapacity), kib(j.TotalCapacity)
		for _, rc := range j.Reports {
			if rc.IsError() {
				mp.Errors++
			}
		}
		out.Pools = append(out.Pools, mp)
	}
	reports, err := s.Store.ErrorReports(ctx, store.ErrorReportFilter{})
	if err != nil {
		return out, err
	}
	for _, r := range reports {
		out.ErrorReports = append(out.ErrorReports, metrics.ErrorReport{Node: r.NodeName, Module: r.Module})
	}
	out.Workflows, err = s.workflowCounts(ctx)
	return out, err
}

// workflowCounts counts the running and the failed workflows by type
// (Temporal's visibility store).
func (s *server) workflowCounts(ctx context.Context) (map[[2]string]int, error) {
	out := map[[2]string]int{}
	if s.Temporal == nil {
		return out, nil
	}
	for _, status := range []enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED} {
		name := map[enumspb.WorkflowExecutionStatus]string{enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING: "Running", enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: "Failed"}[status]
		var token []byte
		for {
			resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "ExecutionStatus = '" + name + "'", NextPageToken: token})
			if err != nil {
				return nil, err
			}
			for _, e := range resp.Executions {
				out[[2]string{e.GetType().GetName(), name}]++
			}
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
	}
	return out, nil
}
