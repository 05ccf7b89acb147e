package agent

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"strata/agent/proto"
)

// BenchmarkApply1000Volumes measures the apply of a node state with 1,000
// FILE_THIN volumes of 64 MiB (created, with loop devices where the
// machine has them), a second apply of the same state (nothing to do), and
// the process's RSS afterwards.
func BenchmarkApply1000Volumes(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	var vols []proto.Volume
	for i := range 1000 {
		vols = append(vols, proto.Volume{Resource: "pvc-" + strconv.Itoa(i), VlmNr: 0, Pool: "pool1", SizeKib: 64 << 10})
	}
	a := newAgent()
	b.Cleanup(func() { a.Apply(ctx, state(dir)) })
	var first, again time.Duration
	for b.Loop() {
		start := time.Now()
		rep := a.Apply(ctx, state(dir, vols...))
		first = time.Since(start)
		for _, v := range rep.Volumes {
			if v.Error != "" {
				b.Fatal(v.Error)
			}
		}
		start = time.Now()
		a.Apply(ctx, state(dir, vols...))
		again = time.Since(start)
		b.StopTimer()
		a.Apply(ctx, state(dir)) // remove them for the next round
		b.StartTimer()
	}
	b.ReportMetric(first.Seconds(), "s-create-1000")
	b.ReportMetric(again.Seconds(), "s-reapply-1000")
	b.ReportMetric(rssMiB(), "MiB-RSS")
}

func rssMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
