package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/agent/backup"
	"strata/tests/harness"
)

// The same bytes give the same digest whether the file system keeps
// their zeros as holes or as written blocks, and the holes are not read;
// one byte changed changes it. A sparse copy reads and writes only what
// holds data and arrives bit for bit.
func TestChecksumAndCopyOfSparseVolumes(t *testing.T) {
	ctx := context.Background()
	dir := harness.ReflinkDir(t, 512)
	const size = 16<<20 + 1000 // not a whole number of blocks
	content := make([]byte, size)
	_, _ = rand.Read(content[2<<20 : 3<<20])
	_, _ = rand.Read(content[9<<20+10 : 9<<20+110])
	_, _ = rand.Read(content[size-5:])

	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	for _, s := range [][2]int{{2 << 20, 3 << 20}, {9<<20 + 10, 9<<20 + 110}, {size - 5, size}} {
		_, err := f.WriteAt(content[s[0]:s[1]], int64(s[0]))
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	written := filepath.Join(dir, "written")
	require.NoError(t, os.WriteFile(written, content, 0o600))

	sum := func(path string) backup.Progress {
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		p, err := checksum(ctx, f, size, func(backup.Progress) {})
		require.NoError(t, err)
		require.Equal(t, int64(size), p.DoneBytes)
		return p
	}
	a, b := sum(sparse), sum(written)
	require.Equal(t, a.Digest, b.Digest, "holes and written zeros hash alike")
	require.Less(t, a.ReadBytes, int64(2<<20), "only the spans with data are read")
	require.Equal(t, int64(size), b.ReadBytes)

	content[12<<20] = 1
	require.NoError(t, os.WriteFile(written, content, 0o600))
	require.NotEqual(t, a.Digest, sum(written).Digest, "one byte changed")
	content[12<<20] = 0

	copied := filepath.Join(dir, "copied")
	f, err = os.Create(copied)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	p, err := copyDevice(ctx, sparse, copied, size, true, func(backup.Progress) {})
	require.NoError(t, err)
	require.Less(t, p.ReadBytes, int64(2<<20))
	require.Less(t, p.SentBytes, int64(2<<20))
	got, err := os.ReadFile(copied)
	require.NoError(t, err)
	require.True(t, bytes.Equal(content, got), "the copy holds the same bytes")
	require.Equal(t, a.Digest, sum(copied).Digest)
}
