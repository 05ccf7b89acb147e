package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/placement"
	"strata/restapi"
	"strata/store"
)

type Candidate struct {
	StoragePool      string   `json:"storage_pool,omitempty"`
	MaxVolumeSizeKib int64    `json:"max_volume_size_kib,omitempty"`
	NodeNames        []string `json:"node_names,omitempty"`
	AllThin          bool     `json:"all_thin" required:"false"`
}

type MaxVolumeSizes struct {
	Candidates                      []Candidate `json:"candidates,omitempty"`
	DefaultMaxOversubscriptionRatio float64     `json:"default_max_oversubscription_ratio,omitempty"`
}

type QuerySizeInfoRequest struct {
	SelectFilter            *restapi.AutoSelectFilter `json:"select_filter,omitempty"`
	IgnoreCacheOlderThanSec *int32                    `json:"ignore_cache_older_than_sec,omitempty"`
}

type QuerySizeInfoSpawnResult struct {
	NodeName     string `json:"node_name"`
	StorPoolName string `json:"stor_pool_name"`
}

type QuerySizeInfoResponseSpaceInfo struct {
	MaxVlmSizeInKib                 int64                      `json:"max_vlm_size_in_kib"`
	AvailableSizeInKib              *int64                     `json:"available_size_in_kib,omitempty"`
	CapacityInKib                   *int64                     `json:"capacity_in_kib,omitempty"`
	DefaultMaxOversubscriptionRatio float64                    `json:"default_max_oversubscription_ratio,omitempty"`
	NextSpawnResult                 []QuerySizeInfoSpawnResult `json:"next_spawn_result,omitempty"`
}

type QuerySizeInfoResponse struct {
	SpaceInfo *QuerySizeInfoResponseSpaceInfo `json:"space_info,omitempty"`
	Reports   []apicall.ApiCallRc             `json:"reports,omitempty"`
}

func (s *server) maxVolumeSizes(ctx context.Context, f store.SelectFilter) (*struct{ Body MaxVolumeSizes }, error) {
	view, err := s.Store.CapacityView(ctx)
	if err != nil {
		return nil, failure(err, 0, apicall.MaskRscGrp, nil)
	}
	pf, count := f.Placement()
	out := MaxVolumeSizes{DefaultMaxOversubscriptionRatio: view.DefaultRatio}
	for _, c := range placement.Candidates(placement.Select(view.Cluster.Pools, pf), count) {
		out.Candidates = append(out.Candidates, Candidate{StoragePool: c.StoragePool, MaxVolumeSizeKib: c.MaxKib, NodeNames: c.Nodes, AllThin: c.AllThin})
	}
	return &struct{ Body MaxVolumeSizes }{out}, nil
}

func (s *server) registerSizing(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "queryMaxVolumeSizeFromRscGrp", Method: http.MethodGet, Path: "/v1/resource-groups/{resource_group}/query-max-volume-size",
		Summary: "query the maximum volume size from a given resource group", Tags: []string{"developers"}},
		func(ctx context.Context, in *RgPath) (*struct{ Body MaxVolumeSizes }, error) {
			g, err := s.Store.GetResourceGroup(ctx, in.ResourceGroup)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return s.maxVolumeSizes(ctx, g.SelectFilter)
		})
	huma.Register(h, huma.Operation{OperationID: "queryMaxVolumeSize", Method: http.MethodOptions, Path: "/v1/query-max-volume-size",
		Summary: "query the maximum volume size", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct{ Body *restapi.AutoSelectFilter }) (*struct{ Body MaxVolumeSizes }, error) {
			f, err := checkSelectFilter(in.Body, 0, apicall.MaskRscGrp)
			if err != nil {
				return nil, err
			}
			return s.maxVolumeSizes(ctx, f)
		})
	huma.Register(h, huma.Operation{OperationID: "querySizeInfo", Method: http.MethodPost, Path: "/v1/resource-groups/{resource_group}/query-size-info",
		Summary: "query size information of the current resource group", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RgPath
			Body *QuerySizeInfoRequest
		}) (*struct{ Body QuerySizeInfoResponse }, error) {
			g, err := s.Store.GetResourceGroup(ctx, in.ResourceGroup)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			f := g.SelectFilter
			if in.Body != nil && in.Body.SelectFilter != nil {
				given, err := checkSelectFilter(in.Body.SelectFilter, 0, apicall.MaskRscGrp)
				if err != nil {
					return nil, err
				}
				f.Merge(given)
			}
			return s.querySizeInfo(ctx, f)
		})
}

// querySizeInfo answers for the next spawn: the pools the default
// strategy (most free space) would choose and the largest volume they hold.
func (s *server) querySizeInfo(ctx context.Context, f store.SelectFilter) (*struct{ Body QuerySizeInfoResponse }, error) {
	view, err := s.Store.CapacityView(ctx)
	if err != nil {
		return nil, failure(err, 0, apicall.MaskRscGrp, nil)
	}
	pf, count := f.Placement()
	info := &QuerySizeInfoResponseSpaceInfo{DefaultMaxOversubscriptionRatio: view.DefaultRatio}
	out := QuerySizeInfoResponse{SpaceInfo: info}
	candidates := placement.Select(view.Cluster.Pools, pf)
	chosen, maxKib, ok := placement.Choose(candidates, count)
	if !ok {
		rc := apicall.NewRc(apicall.WarnNotEnoughNodes, 0, apicall.MaskRscGrp, fmt.Sprintf("Not enough storage pools to place %d replicas.", count))
		rc.Cause = fmt.Sprintf("%d nodes have a diskful storage pool that passes the filter, may be used by the autoplacer and has reported its capacity.", distinctNodes(candidates))
		rc.Correction = "Add storage pools, widen the resource group's filter, or lower its place count."
		out.Reports = []apicall.ApiCallRc{rc}
		return &struct{ Body QuerySizeInfoResponse }{out}, nil
	}
	var avail, capacity int64
	for _, p := range chosen {
		avail += *p.FreeKib
		capacity += *p.TotalKib
		info.NextSpawnResult = append(info.NextSpawnResult, QuerySizeInfoSpawnResult{NodeName: p.Node, StorPoolName: p.Name})
	}
	info.MaxVlmSizeInKib, info.AvailableSizeInKib, info.CapacityInKib = maxKib, &avail, &capacity
	return &struct{ Body QuerySizeInfoResponse }{out}, nil
}

func distinctNodes(pools []placement.Pool) int {
	seen := map[string]bool{}
	for _, p := range pools {
		seen[strings.ToUpper(p.Node)] = true
	}
	return len(seen)
}
