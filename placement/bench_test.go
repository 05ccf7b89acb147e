package placement

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkPlace places one resource with 3 replicas in clusters of
// 100, 1,000 and 5,000 nodes with 4 pools each (one of them diskless), in
// 10 zones with replicas-on-different, weights on all four strategies.
// The target is under 10 ms at 1,000 nodes.
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var c Cluster
			for i := range n {
				name := fmt.Sprintf("node-%05d", i)
				c.Nodes = append(c.Nodes, withResources(node(name, "zone", fmt.Sprint(i%10)), fmt.Sprintf("rsc-%d", i%97)))
				for j, provider := range []string{"LVM", "LVM_THIN", "ZFS_THIN"} {
					p := pool(name, fmt.Sprintf("pool%d", j), provider, int64(1e6+(i*7919+j*104729)%1000003), 4e6)
					p.ResourceCount, p.ReservedKib, p.Throughput = i%13, int64(i%17)*1000, float64(i%23)
					c.Pools = append(c.Pools, p)
				}
				c.Pools = append(c.Pools, pool(name, "DfltDisklessStorPool", "DISKLESS", 0, 0))
			}
			req := Request{Resource: "new", Count: 3, SizeKib: 1 << 20, ReplicasOnDifferent: []string{"zone"},
				DoNotPlaceWithRegex: "^rsc-1$", LayerStack: []string{"DRBD"},
				Weights: Weights{MaxFreeSpace: 1, MinReservedSpace: 0.5, MinRscCount: 0.5, MaxThroughput: 0.1}}
			start := time.Now()
			for b.Loop() {
				if _, err := Place(c, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/place")
		})
	}
}
