package tests

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
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

func rssMiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
