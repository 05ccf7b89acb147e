package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"strata/store"
	"strata/tests/harness"
)

var heldRE = regexp.MustCompile(`I/O was held for at most (\d+) ms`)

// BenchmarkSnapshotCreate measures snapshot create of one resource with
// three replicas on reflink pools, end to end through the API (the
// answer comes after I/O resumed): latency p50 and p90, and the window
// I/O was held, as the answer reports it (from before the suspend push
// to after the resume push).
func BenchmarkSnapshotCreate(b *testing.B) {
	ctx := context.Background()
	c, _, _, _ := snapshotCluster(b)
	var lat, held []time.Duration
	for b.Loop() {
		var rcs []struct {
			Message string `json:"message"`
			Details string `json:"details"`
		}
		start := time.Now()
		status, err := c.Do(ctx, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": fmt.Sprintf("bench%05d", len(lat))}, &rcs)
		lat = append(lat, time.Since(start))
		if err != nil || status != http.StatusCreated {
			b.Fatalf("snapshot create: %d %v %v", status, err, rcs)
		}
		var window time.Duration
		for _, rc := range rcs {
			if m := heldRE.FindStringSubmatch(rc.Details); m != nil {
				n, _ := strconv.Atoi(m[1])
				window = max(window, time.Duration(n)*time.Millisecond)
			}
		}
		held = append(held, window)
	}
	slices.Sort(lat)
	slices.Sort(held)
	b.ReportMetric(ms(lat[len(lat)/2]), "ms-p50")
	b.ReportMetric(ms(lat[len(lat)*9/10]), "ms-p90")
	b.ReportMetric(ms(held[len(held)/2]), "held-ms-p50")
}

// BenchmarkViewSnapshots measures GET /v1/view/snapshots (what snapshot
// list and linstor-csi call, unfiltered) on a controller holding 10,000
// snapshots of 10,000 definitions on 3 nodes, one volume each: the first
// list after the start, latency p50 and p99 over sequential requests,
// and lists right after one snapshot changed.
func BenchmarkViewSnapshots(b *testing.B) {
	const snapshots, replicas = 10000, 3
	c := harness.StartController(b, harness.ControllerOptions{}) // migrates the database
	if err := c.Stop(); err != nil {
		b.Fatal(err)
	}
	cfg := store.Config{SQLitePath: filepath.Join(c.DataDir, "strata.db")}
	seed(b, cfg, snapshots, replicas, true)
	c.Start()
	if err := c.WaitHealthy(time.Minute); err != nil {
		b.Fatal(err)
	}
	listRounds(b, c, "/v1/view/snapshots", snapshots*replicas*100, func(round int) string {
		return fmt.Sprintf("/v1/resource-definitions/pvc-%05d/snapshots/snapshot-1", round*997%snapshots)
	})
}
