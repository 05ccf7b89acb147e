package backup

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"strata/tests/harness"
)

// BenchmarkShipStream ships 1 GiB of random data from one reflink pool
// to another over loopback, agent to agent as a LINSTOR-remote shipment
// does (TLS, the token, the commit), beside a plain TCP copy of the same
// file into a synced file; both start from a cold page cache.
func BenchmarkShipStream(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for an XFS loop mount and drop_caches")
	}
	const size = 1 << 30
	src, dst := harness.ReflinkDir(b, 1300), harness.ReflinkDir(b, 2300)
	vol := filepath.Join(src, "r1_00000@s1.snap")
	f, err := os.Create(vol)
	require.NoError(b, err)
	_, err = io.CopyN(f, rand.Reader, size)
	require.NoError(b, err)
	require.NoError(b, f.Close())
	cold := func() {
		unix.Sync()
		require.NoError(b, os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200))
	}
	var strata, plain time.Duration
	for i := 0; i < b.N; i++ {
		to := filepath.Join(dst, "r1_00000@s1.snap")
		_ = os.Remove(to)
		cold()
		ln, cert := receiver(b)
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			_, err := Receive{Path: to + ".partial", Token: "t", Log: slog.Default(), Commit: func() error { return os.Rename(to+".partial", to) }}.Run(context.Background(), ln)
			done <- err
		}()
		_, err := Send{Path: vol, Address: ln.Addr().String(), Token: "t", Fingerprint: cert.Fingerprint}.Run(context.Background())
		require.NoError(b, err)
		require.NoError(b, <-done)
		strata += time.Since(start)
		require.NoError(b, os.Remove(to))

		cold()
		start = time.Now()
		require.NoError(b, plainCopy(vol, to))
		plain += time.Since(start)
		require.NoError(b, os.Remove(to))
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(strata), "ship-MB/s")
	b.ReportMetric(mbps(plain), "tcp-copy-MB/s")
	b.ReportMetric(100*mbps(strata)/mbps(plain), "%-of-tcp-copy")
}

// plainCopy sends a file over a loopback TCP connection into a new,
// synced file.
func plainCopy(from, to string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		out, err := os.Create(to)
		if err == nil {
			_, err = io.Copy(out, c)
		}
		if err == nil {
			err = out.Sync()
		}
		if out != nil {
			out.Close()
		}
		done <- err
	}()
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	_, err = io.Copy(c, in)
	c.Close()
	if err != nil {
		return err
	}
	return <-done
}
