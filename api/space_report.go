package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/store"
)

// SpaceReport is LINSTOR's answer to space-reporting query: one text.
type SpaceReport struct {
	ReportText string `json:"reportText"`
}

// registerSpaceReport serves linstor space-reporting query: the storage
// the cluster has and uses, pool by pool, as its agents last reported it.
func (s *server) registerSpaceReport(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "querySpaceReport", Method: http.MethodGet, Path: "/v1/space-report", Summary: "report the cluster's storage space", Tags: []string{"developers"}},
		func(ctx context.Context, _ *struct{}) (*struct{ Body SpaceReport }, error) {
			pools, err := s.Store.ListStoragePools(ctx, store.StoragePoolFilter{})
			if err != nil {
				return nil, failure(err, 0, apicall.MaskStorPool, nil)
			}
			return &struct{ Body SpaceReport }{SpaceReport{ReportText: spaceReport(pools, time.Now().UTC())}}, nil
		})
}

func spaceReport(pools []store.StoragePool, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Report created: %s\n\n", at.Format(time.RFC3339))
	fmt.Fprintf(&b, "%-24s %-24s %-10s %16s %16s\n", "Node", "Storage pool", "Provider", "Total KiB", "Free KiB")
	var total, free int64
	unknown := 0
	for _, p := range pools {
		if p.DriverName == store.ProviderDiskless {
			continue
		}
		if p.TotalCapacity == nil || p.FreeCapacity == nil {
			unknown++
			fmt.Fprintf(&b, "%-24s %-24s %-10s %16s %16s\n", p.NodeDspName, p.PoolDspName, p.DriverName, "unknown", "unknown")
			continue
		}
		total += *p.TotalCapacity
		free += *p.FreeCapacity
		fmt.Fprintf(&b, "%-24s %-24s %-10s %16d %16d\n", p.NodeDspName, p.PoolDspName, p.DriverName, *p.TotalCapacity, *p.FreeCapacity)
	}
	fmt.Fprintf(&b, "\nTotal capacity: %d KiB, free: %d KiB, used: %d KiB\n", total, free, total-free)
	if unknown > 0 {
		fmt.Fprintf(&b, "%d storage pools have not reported their capacity yet.\n", unknown)
	}
	return b.String()
}
