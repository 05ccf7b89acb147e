package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"strata/tests/harness"
)

// BenchmarkControllerStart measures a fresh controller on the embedded
// defaults from exec to a healthy /health, and its resident memory after
// ten idle seconds.
func BenchmarkControllerStart(b *testing.B) {
	harness.Binary(b, "strata-controller") // build outside the timing
	var totalStart time.Duration
	var totalRSS float64
	for b.Loop() {
		start := time.Now()
		c := harness.StartController(b, harness.ControllerOptions{})
		totalStart += time.Since(start)
		b.StopTimer()
		time.Sleep(10 * time.Second)
		rss, err := rssMiB(c.PID())
		if err != nil {
			b.Fatal(err)
		}
		totalRSS += rss
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(totalStart.Milliseconds())/float64(b.N), "ms-to-healthy")
	b.ReportMetric(totalRSS/float64(b.N), "MiB-idle-RSS")
}

func rssMiB(pid int) (float64, error) { return procStatusMiB(pid, "VmRSS") }

// procStatusMiB reads a memory figure of /proc/PID/status: VmRSS, VmHWM.
func procStatusMiB(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s for pid %d", field, pid)
}

// BenchmarkSpawn spawns resources (1 volume of 8 MiB, 2 replicas) from a
// resource group on three agents with FILE_THIN pools, each request
// answered once its workflow has made the volumes: one client after
// another, then eight clients at once. It reports the latency of one
// spawn (p50 and p90 of the sequential ones) and spawns per second.
func BenchmarkSpawn(b *testing.B) {
	c, _ := threeNodeCluster(b, harness.ControllerOptions{})
	const perRound, clients = 40, 8
	var mu sync.Mutex
	n := 0
	spawn := func() time.Duration {
		mu.Lock()
		n++
		name := fmt.Sprintf("bench%05d", n)
		mu.Unlock()
		var rcs json.RawMessage
		start := time.Now()
		status, err := c.Do(context.Background(), http.MethodPost, "/v1/resource-groups/web/spawn",
			map[string]any{"resource_definition_name": name, "volume_sizes": []int64{8192}}, &rcs)
		if err != nil || status != http.StatusCreated {
			b.Errorf("spawn %s: %d %v %s", name, status, err, rcs)
		}
		return time.Since(start)
	}
	var sequential, parallel time.Duration
	var latencies []time.Duration
	for b.Loop() {
		start := time.Now()
		for range perRound {
			latencies = append(latencies, spawn())
		}
		sequential += time.Since(start)

		start = time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range perRound / clients {
					spawn()
				}
			})
		}
		wg.Wait()
		parallel += time.Since(start)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(latencies[len(latencies)*9/10].Microseconds())/1000, "ms-p90")
	b.ReportMetric(float64(perRound*b.N)/sequential.Seconds(), "rsc/s-one-client")
	b.ReportMetric(float64(perRound*b.N)/parallel.Seconds(), "rsc/s-eight-clients")
}
