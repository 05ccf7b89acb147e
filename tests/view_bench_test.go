package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/store"
	"strata/tests/harness"
)

// BenchmarkViewResources measures GET /v1/view/resources (what `resource
// list` calls) on a controller holding 10,000 resource definitions with 3
// resources each, one volume per resource, on SQLite and on PostgreSQL:
// latency p50/p99 over sequential requests, the first list after the
// start, lists right after a write, and the controller's RSS.
func BenchmarkViewResources(b *testing.B) {
	const definitions, replicas = 10000, 3
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			opts := harness.ControllerOptions{}
			if dialect == store.DialectPostgres {
				opts.PostgresURL = harness.PostgresDatabase(b)
			}
			c := harness.StartController(b, opts) // migrates the database
			if err := c.Stop(); err != nil {
				b.Fatal(err)
			}
			cfg := store.Config{ConnectionURL: opts.PostgresURL, SQLitePath: filepath.Join(c.DataDir, "strata.db")}
			seed(b, cfg, definitions, replicas, false)
			c.Start()
			if err := c.WaitHealthy(time.Minute); err != nil {
				b.Fatal(err)
			}

			path := func(round int) string {
				return fmt.Sprintf("/v1/resource-definitions/pvc-%05d/resources/node-0", round*997%definitions)
			}
			lists := listRounds(b, c, "/v1/view/resources", definitions*replicas*100, path)
			rss, err := rssMiB(c.PID())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rss, "MiB-RSS")
			b.ReportMetric(float64(lists), "requests")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// listRounds measures a list that clients poll: the first list after the
// start (which reads everything), then rounds of 10 repeated lists and
// one list right after a property change on the object at change(round),
// which rebuilds that object's definition. Each answer must have at least
// minBytes. It reports the latencies and returns how many lists it made.
func listRounds(b *testing.B, c *harness.Controller, list string, minBytes int64, change func(round int) string) int {
	get := func() time.Duration {
		start := time.Now()
		resp, err := http.Get(c.URL + list)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < minBytes {
			b.Fatalf("answer %d with %d bytes", resp.StatusCode, n)
		}
		return time.Since(start)
	}
	first := get()
	var lat, afterWrite []time.Duration
	for b.Loop() {
		for range 10 {
			lat = append(lat, get())
		}
		if status, err := c.Do(context.Background(), http.MethodPut, change(len(afterWrite)),
			map[string]any{"override_props": map[string]string{"Aux/bench": time.Now().String()}}, nil); err != nil || status != http.StatusOK {
			b.Fatalf("set a property: %d %v", status, err)
		}
		afterWrite = append(afterWrite, get())
	}
	slices.Sort(lat)
	slices.Sort(afterWrite)
	b.ReportMetric(ms(first), "first-list-ms") // after b.Loop, which drops metrics reported before it
	b.ReportMetric(ms(afterWrite[len(afterWrite)/2]), "after-write-p50-ms")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	return len(lat) + len(afterWrite) + 1
}

// seed writes nodes with a FILE_THIN pool each, and definitions with one
// 1 GiB volume definition and a resource on each node, in bulk; with
// snapshots, also one successful snapshot of each definition on every
// node.
func seed(b *testing.B, cfg store.Config, definitions, replicas int, snapshots bool) {
	ctx := context.Background()
	s, err := store.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nodes := make([]string, replicas)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("node-%d", i)
		if _, err := s.CreateNode(ctx, store.NodeSpec{Name: nodes[i], Type: store.NodeTypeSatellite,
			NetInterfaces: []store.NetInterfaceRow{{NodeNetDspName: "default", InetAddress: fmt.Sprintf("10.0.0.%d", i+1)}}}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateStoragePool(ctx, nodes[i], store.StoragePoolSpec{Name: "pool1", Provider: store.ProviderFileThin,
			Props: map[string]string{"StorDriver/StorPoolName": "/srv/pool1"}}); err != nil {
			b.Fatal(err)
		}
	}
	var rds []store.ResourceDefinitionRow
	var vds []store.VolumeDefinitionRow
	var rscs []store.ResourceRow
	var vlms []store.VolumeRow
	var snapDefs []store.SnapshotDefinitionRow
	var snapVDs []store.SnapshotVolumeDefinitionRow
	var snapParts []store.SnapshotRow
	var snapVols []store.SnapshotVolumeRow
	now := time.Now().UnixMilli()
	for i := range definitions {
		name := fmt.Sprintf("pvc-%05d", i)
		port, minor := int32(7000+i), int32(1000+i)
		rds = append(rds, store.ResourceDefinitionRow{ResourceName: store.Key(name), ResourceDspName: name, UUID: uuid.NewString(),
			ResourceGroupName: store.Key(store.DfltRscGrp), DrbdPort: &port, DrbdSecret: "secret", DrbdPeerSlots: 7, DrbdTransportType: "IP", CreateTimestamp: now})
		vds = append(vds, store.VolumeDefinitionRow{ResourceName: store.Key(name), UUID: uuid.NewString(), VlmSize: 1 << 20, DrbdMinor: &minor})
		for id, n := range nodes {
			rscs = append(rscs, store.ResourceRow{ResourceName: store.Key(name), NodeName: store.Key(n), UUID: uuid.NewString(), DrbdNodeID: int32(id), CreateTimestamp: now})
			vlms = append(vlms, store.VolumeRow{ResourceName: store.Key(name), NodeName: store.Key(n), UUID: uuid.NewString(), StorPoolName: "POOL1"})
		}
		if !snapshots {
			continue
		}
		rd, snap := store.Key(name), "SNAPSHOT-1"
		snapDefs = append(snapDefs, store.SnapshotDefinitionRow{ResourceName: rd, SnapshotName: snap, SnapshotDspName: "snapshot-1", UUID: uuid.NewString(),
			Flags: store.NewFlags(store.SnapshotSuccessful), ResourceDefinitionProps: map[string]string{"Aux/csi-volume-name": name}})
		snapVDs = append(snapVDs, store.SnapshotVolumeDefinitionRow{ResourceName: rd, SnapshotName: snap, UUID: uuid.NewString(), SizeKib: 1 << 20})
		for _, n := range nodes {
			snapParts = append(snapParts, store.SnapshotRow{ResourceName: rd, SnapshotName: snap, NodeName: store.Key(n), UUID: uuid.NewString(), CreateTimestamp: now})
			snapVols = append(snapVols, store.SnapshotVolumeRow{ResourceName: rd, SnapshotName: snap, NodeName: store.Key(n), UUID: uuid.NewString(), StorPoolName: "POOL1"})
		}
	}
	if err := s.Write(ctx, func(tx *gorm.DB) error {
		for _, rows := range []any{rds, vds, rscs, vlms, snapDefs, snapVDs, snapParts, snapVols} {
			if reflect.ValueOf(rows).Len() == 0 {
				continue
			}
			if err := tx.CreateInBatches(rows, 500).Error; err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}
