package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

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
	root := harness.ReflinkDir(b, 1024)
	c, _, _ := threeNodeClusterIn(b, harness.ControllerOptions{}, root)
	must(b, c, http.MethodPost, "/v1/resource-groups", map[string]any{"name": "db3", "select_filter": map[string]any{"place_count": 3, "storage_pool": "pool1"}}, http.StatusCreated)
	must(b, c, http.MethodPost, "/v1/resource-groups/db3/volume-groups", map[string]any{}, http.StatusCreated)
	must(b, c, http.MethodPost, "/v1/resource-groups/db3/spawn", map[string]any{"resource_definition_name": "db", "volume_sizes": []int64{64 << 10}}, http.StatusCreated)
	eventually(b, 30*time.Second, "db deployed", func() bool { return ready(b, c, "db", 3) })
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
	seed(b, cfg, snapshots, replicas)
	seedSnapshots(b, cfg, snapshots, replicas)
	c.Start()
	if err := c.WaitHealthy(time.Minute); err != nil {
		b.Fatal(err)
	}
	get := func() time.Duration {
		start := time.Now()
		resp, err := http.Get(c.URL + "/v1/view/snapshots")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < snapshots*replicas*100 {
			b.Fatalf("answer %d with %d bytes", resp.StatusCode, n)
		}
		return time.Since(start)
	}
	// The first list after the start reads everything; then repeated
	// lists, as linstor-csi polls them; and lists right after a change of
	// one snapshot, which rebuild that definition's part.
	first := get()
	var lat, afterWrite []time.Duration
	for b.Loop() {
		for range 10 {
			lat = append(lat, get())
		}
		path := fmt.Sprintf("/v1/resource-definitions/pvc-%05d/snapshots/snapshot-1", len(afterWrite)*997%snapshots)
		if status, err := c.Do(context.Background(), http.MethodPut, path,
			map[string]any{"override_props": map[string]string{"Aux/bench": time.Now().String()}}, nil); err != nil || status != http.StatusOK {
			b.Fatalf("set snapshot property: %d %v", status, err)
		}
		afterWrite = append(afterWrite, get())
	}
	slices.Sort(lat)
	slices.Sort(afterWrite)
	b.ReportMetric(ms(first), "first-list-ms")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(afterWrite[len(afterWrite)/2]), "after-write-p50-ms")
}

// seedSnapshots writes one successful snapshot of each seeded definition
// on every node, in bulk.
func seedSnapshots(b *testing.B, cfg store.Config, definitions, replicas int) {
	ctx := context.Background()
	s, err := store.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var defs []store.SnapshotDefinitionRow
	var vds []store.SnapshotVolumeDefinitionRow
	var parts []store.SnapshotRow
	var vols []store.SnapshotVolumeRow
	now := time.Now().UnixMilli()
	for i := range definitions {
		rd := store.Key(fmt.Sprintf("pvc-%05d", i))
		defs = append(defs, store.SnapshotDefinitionRow{ResourceName: rd, SnapshotName: "SNAPSHOT-1", SnapshotDspName: "snapshot-1", UUID: uuid.NewString(),
			Flags: store.NewFlags(store.SnapshotSuccessful), ResourceDefinitionProps: map[string]string{"Aux/csi-volume-name": rd}})
		vds = append(vds, store.SnapshotVolumeDefinitionRow{ResourceName: rd, SnapshotName: "SNAPSHOT-1", UUID: uuid.NewString(), SizeKib: 1 << 20})
		for n := range replicas {
			node := store.Key(fmt.Sprintf("node-%d", n))
			parts = append(parts, store.SnapshotRow{ResourceName: rd, SnapshotName: "SNAPSHOT-1", NodeName: node, UUID: uuid.NewString(), CreateTimestamp: now})
			vols = append(vols, store.SnapshotVolumeRow{ResourceName: rd, SnapshotName: "SNAPSHOT-1", NodeName: node, UUID: uuid.NewString(), StorPoolName: "POOL1"})
		}
	}
	if err := s.Write(ctx, func(tx *gorm.DB) error {
		for _, rows := range []any{defs, vds, parts, vols} {
			if err := tx.CreateInBatches(rows, 500).Error; err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}
