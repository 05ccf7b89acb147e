package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// BenchmarkScheduledShippingBurst enables one schedule on a resource
// group of 200 definitions spread over 3 nodes, with
// BackupShipping/MaxConcurrentBackupsPerNode 2, and has every one of
// their Temporal Schedules tick at once (linstor-server #303: LINSTOR
// starts them all together). It reports the time until all 200 are
// shipped, the most shipments seen at once on one node (the snapshots'
// own Shipping state, sampled every 50 ms), and `resource list` (GET
// /v1/view/resources) latency p50/p99 during the burst and on the idle
// cluster before it.
func BenchmarkScheduledShippingBurst(b *testing.B) {
	const definitions, capPerNode = 200, 2
	ctx := context.Background()
	c, _, _, _ := snapshotCluster(b)
	backupRemote(b, c)
	must(b, c, http.MethodPost, "/v1/controller/properties", map[string]any{"override_props": map[string]string{"BackupShipping/MaxConcurrentBackupsPerNode": fmt.Sprint(capPerNode)}}, http.StatusCreated)
	must(b, c, http.MethodPost, "/v1/resource-groups", map[string]any{"name": "burst", "select_filter": map[string]any{"place_count": 1, "storage_pool": "pool1"}}, http.StatusCreated)
	must(b, c, http.MethodPost, "/v1/resource-groups/burst/volume-groups", map[string]any{}, http.StatusCreated)
	for i := range definitions {
		must(b, c, http.MethodPost, "/v1/resource-groups/burst/spawn", map[string]any{"resource_definition_name": fmt.Sprintf("vol%03d", i), "volume_sizes": []int64{4 << 10}}, http.StatusCreated)
	}
	tc, err := client.Dial(client.Options{HostPort: c.TemporalAddr, Namespace: "default"})
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()

	list := func() time.Duration {
		start := time.Now()
		resp, err := http.Get(c.URL + "/v1/view/resources")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	quantiles := func(lat []time.Duration) (p50, p99 float64) {
		slices.Sort(lat)
		return ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100])
	}
	var idle []time.Duration
	for range 200 {
		idle = append(idle, list())
	}

	must(b, c, http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "burst", "full_cron": "0 0 1 1 *"}, http.StatusOK)
	must(b, c, http.MethodPut, "/v1/remotes/s3r/backups/schedule/burst/enable", map[string]any{"grp_name": "burst"}, http.StatusOK)
	ids := make([]string, definitions)
	for i := range ids {
		ids[i] = fmt.Sprintf("backup-schedule:vol%03d:s3r:burst", i)
	}
	eventually(b, 2*time.Minute, "every definition's schedule", func() bool {
		for _, id := range ids {
			if _, err := tc.ScheduleClient().GetHandle(ctx, id).Describe(ctx); err != nil {
				return false
			}
		}
		return true
	})

	type snapView struct {
		Name  string            `json:"name"`
		Props map[string]string `json:"props"`
	}
	shipping := func() (perNode map[string]int, done int) {
		var snaps []snapView
		if _, err := c.Do(ctx, http.MethodGet, "/v1/view/snapshots", nil, &snaps); err != nil {
			b.Fatal(err)
		}
		perNode = map[string]int{}
		for _, s := range snaps {
			switch s.Props["BackupShipping/Source/s3r/ShippingStatus"] {
			case "Shipping":
				perNode[s.Props["BackupShipping/Source/s3r/SrcNode"]]++
			case "Success":
				done++
			}
		}
		return perNode, done
	}

	var (
		during  []time.Duration
		most    int
		shipped time.Duration
	)
	for round := 1; b.Loop(); round++ {
		start := time.Now()
		for _, id := range ids {
			if err := tc.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := list()
				mu.Lock()
				during = append(during, d)
				mu.Unlock()
			}
		}()
		for {
			perNode, done := shipping()
			for _, n := range perNode {
				most = max(most, n)
			}
			if done >= definitions*round {
				shipped = time.Since(start)
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("after 10 minutes %d of %d shipped", done-definitions*(round-1), definitions)
			}
			time.Sleep(50 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
		time.Sleep(time.Second) // the next round's backup ids are new
	}
	idle50, idle99 := quantiles(idle)
	burst50, burst99 := quantiles(during)
	b.ReportMetric(shipped.Seconds(), "s-until-all-shipped") // the last round
	b.ReportMetric(float64(most), "most-shipping-on-a-node")
	b.ReportMetric(idle50, "idle-list-p50-ms")
	b.ReportMetric(idle99, "idle-list-p99-ms")
	b.ReportMetric(burst50, "burst-list-p50-ms")
	b.ReportMetric(burst99, "burst-list-p99-ms")
	if most > capPerNode {
		b.Errorf("%d shipments ran at once on one node, above the cap of %d", most, capPerNode)
	}
}
