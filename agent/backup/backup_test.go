package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"strata/agent/proto/bucket"
	"strata/tests/harness"
)

const volSize = 64 << 20

func testBucket(t *testing.T) Bucket {
	m := harness.StartMinIO(t, "backups")
	c, err := minio.New(strings.TrimPrefix(m.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1"})
	require.NoError(t, err)
	return Bucket{Client: c, Name: "backups"}
}

// reflink snapshots the volume file as the FILE_THIN provider does.
func reflink(t *testing.T, src, dst string) {
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(dst)
	require.NoError(t, err)
	defer out.Close()
	require.NoError(t, unix.IoctlFileClone(int(out.Fd()), int(in.Fd())))
}

func digest(t *testing.T, path string) [32]byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// writeBlocks writes random data into count random 4 KiB blocks.
func writeBlocks(t *testing.T, path string, count int, rng *mrand.Rand) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, bucket.BlockSize)
	for range count {
		_, _ = rand.Read(buf)
		_, err := f.WriteAt(buf, int64(rng.IntN(volSize/bucket.BlockSize))*bucket.BlockSize)
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
}

// Data that compresses is stored compressed; random data, which does
// not, as it is.
func TestEncodeCompressesWhatPays(t *testing.T) {
	text := bytes.Repeat([]byte("a volume's worth of log lines, repeated. "), bucket.ChunkSize/41)
	body, kind := encode(text)
	require.Equal(t, bucket.ContentZstd, kind)
	require.Less(t, len(body), len(text)/10)
	random := make([]byte, bucket.ChunkSize)
	_, _ = rand.Read(random)
	body, kind = encode(random)
	require.Equal(t, bucket.ContentRaw, kind)
	require.Equal(t, random, body)
}

func TestFullIncrementalAndRestoreOnReflinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for an XFS loop mount")
	}
	ctx := context.Background()
	b := testBucket(t)
	dir := harness.ReflinkDir(t, 512)
	vol := filepath.Join(dir, "r1_00000.img")
	// 48 MiB of data and a 16 MiB hole at the end.
	f, err := os.Create(vol)
	require.NoError(t, err)
	_, err = io.CopyN(f, rand.Reader, 48<<20)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(volSize))
	require.NoError(t, f.Close())

	snap := func(name string) string {
		p := filepath.Join(dir, "r1_00000@"+name+".snap")
		reflink(t, vol, p)
		return p
	}
	ship := func(path, key string, base *bucket.Manifest, basePath string) (bucket.Manifest, Progress) {
		man, p, err := Upload{Bucket: b, Path: path, Base: base, BasePath: basePath, DataKey: key,
			Manifest: bucket.Manifest{Resource: "r1", Snapshot: filepath.Base(path)}}.Run(ctx)
		require.NoError(t, err)
		return man, p
	}
	s1 := snap("s1")
	full, p := ship(s1, "r1_00000_back_20261202_100000", nil, "")
	require.Len(t, full.Chunks, 12, "the hole is not shipped")
	require.Equal(t, int64(48<<20), p.ReadBytes, "the hole is not read")
	require.Equal(t, int64(48<<20), p.SentBytes, "random data is sent as it is")

	rng := mrand.New(mrand.NewPCG(1, 2))
	writeBlocks(t, vol, volSize/bucket.BlockSize/100, rng) // 1 % of the blocks
	s2 := snap("s2")
	inc, p := ship(s2, "r1_00000_back_20261202_110000", &full, s1)
	t.Logf("incremental after 1 %% of blocks changed: read %d, sent %d of %d", p.ReadBytes, p.SentBytes, int64(volSize))
	require.LessOrEqual(t, p.ReadBytes, int64(volSize)*5/100, "only changed blocks are read")
	require.LessOrEqual(t, p.SentBytes, int64(volSize)*2/100, "only changed blocks are sent")

	writeBlocks(t, vol, volSize/bucket.BlockSize/10, rng) // 10 % more
	s3 := snap("s3")
	// The base's snapshot is gone from the node: the chunks are compared
	// by reading both... and here the base file is not given at all.
	inc2, _ := ship(s3, "r1_00000_back_20261202_120000", &inc, "")

	for i, c := range []struct {
		man  bucket.Manifest
		path string
	}{{full, s1}, {inc, s2}, {inc2, s3}} {
		out := filepath.Join(t.TempDir(), "restored")
		_, err := Restore{Bucket: b, Manifest: c.man, Path: out}.Run(ctx)
		require.NoError(t, err)
		require.Equal(t, digest(t, c.path), digest(t, out), "backup %d restores its snapshot's bytes", i)
	}

	// A corrupt object fails the restore loudly, naming it.
	key := bucket.ChainKey(inc.Chunks[0].Chain, len(inc.Chunks[0].Chain)-1)
	junk := encoder.EncodeAll([]byte("not the chunk"), nil)
	_, err = b.Client.PutObject(ctx, b.Name, key, bytes.NewReader(junk), int64(len(junk)), minio.PutObjectOptions{})
	require.NoError(t, err)
	_, err = Restore{Bucket: b, Manifest: inc, Path: filepath.Join(t.TempDir(), "bad")}.Run(ctx)
	require.ErrorContains(t, err, key)
	require.ErrorContains(t, err, "corrupt")
}

func TestRestoreResumesFromItsLog(t *testing.T) {
	ctx := context.Background()
	b := testBucket(t)
	dir := t.TempDir()
	vol := filepath.Join(dir, "r2_00000.img")
	f, err := os.Create(vol)
	require.NoError(t, err)
	_, err = io.CopyN(f, rand.Reader, 3*bucket.ChunkSize+100)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	man, _, err := Upload{Bucket: b, Path: vol, DataKey: "r2_00000_back_20261202_100000", Manifest: bucket.Manifest{Resource: "r2"}}.Run(ctx)
	require.NoError(t, err)
	require.Len(t, man.Chunks, 4)

	// Shipping the same data again sends nothing: the bucket has it.
	_, p, err := Upload{Bucket: b, Path: vol, DataKey: "r2_00000_back_20261202_100001", Manifest: bucket.Manifest{Resource: "r2"}}.Run(ctx)
	require.NoError(t, err)
	require.Zero(t, p.SentBytes)

	// A restore that wrote two chunks before it stopped fetches the rest.
	out := filepath.Join(t.TempDir(), "restored")
	data, err := os.ReadFile(vol)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, data[:2*bucket.ChunkSize], 0o600))
	require.NoError(t, os.WriteFile(out+".done", []byte("0\n4194304\n"), 0o600))
	p, err = Restore{Bucket: b, Manifest: man, Path: out}.Run(ctx)
	require.NoError(t, err)
	require.Less(t, p.ReadBytes, int64(2*bucket.ChunkSize+200), "the chunks written before are not fetched again")
	require.Equal(t, digest(t, vol), digest(t, out))
	require.NoFileExists(t, out+".done")
}
