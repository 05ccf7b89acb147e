package tests

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// BenchmarkEvacuation evacuates a node holding 100 storage-only FILE_THIN
// resources of 64 MiB (36 MiB of random data each, with a hole) to the
// two other nodes on reflink pools, once with the default evacuation
// slots and once with one at a time, in the same run: the wall time of
// each, the speed-up, the bytes the agents read and sent against the
// bytes the volumes had allocated, and the controller's resident memory
// during the evacuations.
func BenchmarkEvacuation(b *testing.B) {
	const sizeKib = 64 << 10
	resources := 100
	if n, err := strconv.Atoi(os.Getenv("STRATA_BENCH_RESOURCES")); err == nil {
		resources = n // a quicker look
	}
	root := harness.ReflinkDir(b, 12<<10)
	c, dirs, _ := threeNodeClusterIn(b, harness.ControllerOptions{}, root)
	var peak atomic.Int64 // KiB
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			if mib, err := rssMiB(c.PID()); err == nil && int64(mib*1024) > peak.Load() {
				peak.Store(int64(mib * 1024))
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	dataMiB := 32
	if n, err := strconv.Atoi(os.Getenv("STRATA_BENCH_DATA_MIB")); err == nil {
		dataMiB = n
	}
	data := make([]byte, dataMiB<<20)
	_, _ = crand.Read(data)
	tail := data[:min(len(data), 4<<20)]
	evacuate := func(slots string) (time.Duration, float64, float64, int64) {
		if slots != "" {
			must(b, c, http.MethodPost, "/v1/controller/properties", map[string]any{"override_props": map[string]string{"Evacuation/MaxConcurrentMovesPerNode": slots}}, http.StatusCreated)
		} else {
			must(b, c, http.MethodPost, "/v1/controller/properties", map[string]any{"delete_props": []string{"Evacuation/MaxConcurrentMovesPerNode"}}, http.StatusCreated)
		}
		var rds []string
		for i := range resources {
			rd := fmt.Sprintf("move%03d", i)
			rds = append(rds, rd)
			must(b, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "resource_group_name": "web",
				"layer_data": []map[string]string{{"type": "STORAGE"}}}}, http.StatusCreated)
			must(b, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": sizeKib}}, http.StatusCreated)
			must(b, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", []map[string]any{{"resource": map[string]any{"node_name": "alpha",
				"props": map[string]string{"StorPoolName": "pool1"}}}}, http.StatusCreated)
		}
		var allocated int64
		for _, rd := range rds {
			eventually(b, time.Minute, rd+" deployed", func() bool { return ready(b, c, rd, 1) })
			vols := deployed(b, c, rd)
			f, err := os.OpenFile(vols[0].device, os.O_WRONLY, 0)
			require.NoError(b, err)
			binary.BigEndian.PutUint64(data, uint64(len(rd))<<32|uint64(allocated))
			_, err = f.WriteAt(data, 0)
			require.NoError(b, err)
			_, err = f.WriteAt(tail, 48<<20)
			require.NoError(b, err)
			require.NoError(b, f.Sync())
			require.NoError(b, f.Close())
			allocated += int64(len(data) + len(tail))
		}
		families := scrape(b, c.URL)
		read0, _ := metricValue(families["strata_backup_bytes_total"], map[string]string{"direction": "read"})
		sent0, _ := metricValue(families["strata_backup_bytes_total"], map[string]string{"direction": "sent"})
		began := time.Now()
		id := start(b, c, http.MethodPut, "/v1/nodes/alpha/evacuate", map[string]any{})
		var op operationView
		eventually(b, 30*time.Minute, "the evacuation ends", func() bool {
			op = operation(b, c, id)
			return op.Finished
		})
		took := time.Since(began)
		pushes := scrape(b, c.URL)["strata_agent_push_duration_seconds"]
		for _, m := range pushes.GetMetric() {
			b.Logf("slots %q: %d pushes, %.3f s in all", slots, m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum())
		}
		require.Equal(b, "done", op.State)
		families = scrape(b, c.URL)
		read1, _ := metricValue(families["strata_backup_bytes_total"], map[string]string{"direction": "read"})
		sent1, _ := metricValue(families["strata_backup_bytes_total"], map[string]string{"direction": "sent"})
		for _, rd := range rds {
			vols := deployed(b, c, rd)
			require.Len(b, vols, 1)
			require.NotEqual(b, "alpha", vols[0].node)
			must(b, c, http.MethodDelete, "/v1/resource-definitions/"+rd, nil, http.StatusOK)
		}
		must(b, c, http.MethodPut, "/v1/nodes/alpha/restore", map[string]any{}, http.StatusOK)
		eventually(b, time.Minute, "the pools are empty", func() bool {
			for _, d := range dirs {
				if left, _ := os.ReadDir(d); len(left) > 0 {
					return false
				}
			}
			return true
		})
		return took, read1 - read0, sent1 - sent0, allocated
	}
	for b.Loop() {
		parallel, read, sent, allocated := evacuate("")
		serial, _, _, _ := evacuate("1")
		b.ReportMetric(parallel.Seconds(), "s-default-slots")
		b.ReportMetric(serial.Seconds(), "s-one-at-a-time")
		b.ReportMetric(serial.Seconds()/parallel.Seconds(), "x-faster")
		b.ReportMetric(read/float64(allocated), "read-per-allocated")
		b.ReportMetric(sent/float64(allocated), "sent-per-allocated")
		b.ReportMetric(float64(peak.Load())/1024, "MiB-controller-RSS-max")
	}
}
