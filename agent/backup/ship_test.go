package backup

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"strata/agent/proto"
	"strata/agent/proto/bucket"
	"strata/tests/harness"
)

// receiver listens on a loopback port with a new certificate.
func receiver(t testing.TB) (net.Listener, proto.ShipCertificate) {
	c, err := proto.NewShipCertificate()
	require.NoError(t, err)
	kp, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS13})
	require.NoError(t, err)
	return ln, c
}

// A full shipment sends only what holds data; an incremental one, on a
// reflink file system, only the blocks that changed (holes that appeared
// included); both arrive bit for bit. A stranger without the token is
// turned away and the real sender still gets through; a sender that
// meets another certificate refuses to send.
func TestShipFullAndIncrementalBetweenAgents(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for an XFS loop mount")
	}
	ctx := context.Background()
	src, dst := harness.ReflinkDir(t, 512), harness.ReflinkDir(t, 512)
	vol := filepath.Join(src, "r1_00000.img")
	f, err := os.Create(vol)
	require.NoError(t, err)
	_, err = io.CopyN(f, rand.Reader, 24<<20)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(volSize))
	require.NoError(t, f.Close())
	snap := func(name string) string {
		p := filepath.Join(src, "r1_00000@"+name+".snap")
		reflink(t, vol, p)
		return p
	}
	ship := func(path, basePath, to, toBase string) (sent, received Progress) {
		ln, cert := receiver(t)
		done := make(chan error, 1)
		go func() {
			var err error
			received, err = Receive{Path: to + ".partial", BasePath: toBase, Token: "right", Wait: 10 * time.Second, Log: slog.Default(),
				Commit: func() error { return os.Rename(to+".partial", to) }}.Run(ctx, ln)
			done <- err
		}()
		// A stranger first: refused, and the listener stays for the sender.
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		require.NoError(t, err)
		_, _ = conn.Write([]byte(`{"token":"wrong","size_bytes":1}` + "\n"))
		_, err = conn.Read(make([]byte, 1))
		require.Error(t, err, "the stranger's connection is closed")
		conn.Close()
		sent, err = Send{Path: path, BasePath: basePath, Address: ln.Addr().String(), Token: "right", Fingerprint: cert.Fingerprint}.Run(ctx)
		require.NoError(t, err)
		require.NoError(t, <-done)
		require.Equal(t, digest(t, path), digest(t, to))
		return sent, received
	}
	s1 := snap("s1")
	t1 := filepath.Join(dst, "r1_00000@s1.snap")
	p, _ := ship(s1, "", t1, "")
	require.Equal(t, int64(24<<20), p.ReadBytes, "the hole is not read")
	require.Less(t, p.SentBytes, int64(25<<20), "nor sent")

	rng := mrand.New(mrand.NewPCG(1, 2))
	writeBlocks(t, vol, volSize/bucket.BlockSize/100, rng)
	// A hole punched where data was must arrive as a hole.
	vf, err := os.OpenFile(vol, os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, punch(vf, 1<<20, 1<<20))
	vf.Close()
	s2 := snap("s2")
	t2 := filepath.Join(dst, "r1_00000@s2.snap")
	p, _ = ship(s2, s1, t2, t1)
	t.Logf("incremental after 1 %% of blocks changed: read %d, sent %d of %d", p.ReadBytes, p.SentBytes, int64(volSize))
	require.LessOrEqual(t, p.SentBytes, int64(volSize)*3/100, "only changed blocks are sent")

	// Another certificate than the one the controller named.
	ln, _ := receiver(t)
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	_, err = Send{Path: s2, Address: ln.Addr().String(), Token: "right", Fingerprint: "00"}.Run(ctx)
	require.ErrorContains(t, err, "not the one its controller made")
}

func punch(f *os.File, off, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}
