package file

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golang.org/x/sys/unix"

	"strata/agent/execrun"
	"strata/agent/storage"
	"strata/tests/harness"
)

// The provider runs on real files here, with real loop devices where the
// machine has them.
func newPool(t *testing.T, thin bool) (*Pool, string) {
	dir := t.TempDir()
	p := New(context.Background(), dir, thin, execrun.Exec{})
	t.Cleanup(func() {
		vols, _ := p.Volumes(context.Background())
		for _, v := range vols {
			_ = p.Delete(context.Background(), v.Name)
		}
	})
	return p, dir
}

func writeAt(t *testing.T, dev string, off int64, data []byte) {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, off)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

func readAt(t *testing.T, dev string, off int64, n int) []byte {
	f, err := os.Open(dev)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, n)
	_, err = f.ReadAt(buf, off)
	require.NoError(t, err)
	return buf
}

func deviceSize(t *testing.T, dev string) int64 {
	f, err := os.Open(dev)
	require.NoError(t, err)
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	return size
}

func TestVolumesHoldBytes(t *testing.T) {
	for _, thin := range []bool{true, false} {
		p, dir := newPool(t, thin)
		t.Run(p.Kind(), func(t *testing.T) {
			ctx := context.Background()
			name := storage.VolumeName("res1", 0)
			st, err := p.Create(ctx, storage.Volume{Name: name, SizeKib: 16 << 10})
			require.NoError(t, err)
			require.EqualValues(t, 16<<10, st.UsableKib)
			require.Equal(t, filepath.Join(dir, "res1_00000.img"), st.BackingPath)
			if p.loop {
				require.Regexp(t, `^/dev/loop[0-9]+$`, st.DevicePath)
			} else {
				require.Equal(t, st.BackingPath, st.DevicePath, "without loop devices the file is the device")
			}
			require.EqualValues(t, 16<<20, deviceSize(t, st.DevicePath))
			if thin {
				require.Less(t, st.AllocatedKib, int64(1<<10), "a thin volume takes no space before it is written")
			} else {
				require.GreaterOrEqual(t, st.AllocatedKib, int64(16<<10), "a thick volume is allocated whole")
			}

			data := bytes.Repeat([]byte("strata"), 1000)
			writeAt(t, st.DevicePath, 4096, data)
			again, err := p.Create(ctx, storage.Volume{Name: name, SizeKib: 16 << 10})
			require.NoError(t, err, "creating an existing volume adopts it")
			require.Equal(t, st.DevicePath, again.DevicePath)
			require.Equal(t, data, readAt(t, again.DevicePath, 4096, len(data)), "and keeps its data")

			// Snapshot, overwrite, roll back: the old bytes are back on
			// the same device.
			require.NoError(t, p.Snapshot(ctx, name, "snap1"))
			writeAt(t, st.DevicePath, 4096, bytes.Repeat([]byte("X"), len(data)))
			require.NoError(t, p.Rollback(ctx, name, "snap1"))
			require.Equal(t, data, readAt(t, st.DevicePath, 4096, len(data)))

			// Clone, send and receive carry the data to new volumes.
			clone, err := p.Clone(ctx, name, "snap1", storage.VolumeName("res2", 0))
			require.NoError(t, err)
			require.Equal(t, data, readAt(t, clone.DevicePath, 4096, len(data)))
			var stream bytes.Buffer
			require.NoError(t, p.Send(ctx, name, "snap1", &stream))
			recv, err := p.Receive(ctx, storage.Volume{Name: storage.VolumeName("res3", 0)}, &stream)
			require.NoError(t, err)
			require.Equal(t, data, readAt(t, recv.DevicePath, 4096, len(data)))
			require.EqualValues(t, 16<<10, recv.UsableKib)
			require.Less(t, recv.AllocatedKib, int64(1<<10), "a received volume keeps the holes")

			// Grow online: an existing volume is adopted as it is, and
			// Resize grows it, its loop device too.
			adopted, err := p.Create(ctx, storage.Volume{Name: name, SizeKib: 32 << 10})
			require.NoError(t, err)
			require.EqualValues(t, 16<<10, adopted.UsableKib, "Create leaves growing to Resize")
			grown, err := p.Resize(ctx, storage.Volume{Name: name, SizeKib: 32 << 10})
			require.NoError(t, err)
			require.EqualValues(t, 32<<20, deviceSize(t, grown.DevicePath))

			// A device held exclusively, as a mount holds it, is in use.
			require.False(t, storage.DeviceInUse(st.DevicePath))
			if p.loop {
				fd, err := unix.Open(st.DevicePath, unix.O_RDONLY|unix.O_EXCL, 0)
				require.NoError(t, err)
				require.True(t, storage.DeviceInUse(st.DevicePath))
				require.NoError(t, unix.Close(fd))
				require.False(t, storage.DeviceInUse(st.DevicePath))
			}

			require.NoError(t, p.DeleteSnapshot(ctx, name, "snap1"))
			require.NoError(t, p.DeleteSnapshot(ctx, name, "snap1"), "deleting twice is no error")
			require.NoError(t, p.Delete(ctx, name))
			require.NoError(t, p.Delete(ctx, name), "deleting twice is no error")
			vols, err := p.Volumes(ctx)
			require.NoError(t, err)
			require.Len(t, vols, 2, "res2 and res3 are left")
		})
	}
}

// The agent keeps no state: what is on disk is found again, and files it
// did not name are never listed or touched.
func TestVolumesAreFoundAgain(t *testing.T) {
	p, dir := newPool(t, true)
	ctx := context.Background()
	for _, f := range []string{"notes.txt", "bad.name.img", "x_1.img"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o600))
	}
	_, err := p.Create(ctx, storage.Volume{Name: storage.VolumeName("res1", 3), SizeKib: 1024})
	require.NoError(t, err)

	restarted := New(ctx, dir, true, execrun.Exec{})
	vols, err := restarted.Volumes(ctx)
	require.NoError(t, err)
	require.Len(t, vols, 1)
	require.Equal(t, "res1_00003", vols[0].Name)
	require.Error(t, restarted.Delete(ctx, "notes"), "a name the agent does not give is refused")
	for _, f := range []string{"notes.txt", "bad.name.img", "x_1.img"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
	}

	capacity, err := p.Capacity(ctx)
	require.NoError(t, err)
	require.Positive(t, capacity.TotalKib)
	require.LessOrEqual(t, capacity.FreeKib, capacity.TotalKib)
}

func TestMissingPoolDirectory(t *testing.T) {
	p := New(context.Background(), filepath.Join(t.TempDir(), "gone"), false, execrun.Exec{})
	_, err := p.Create(context.Background(), storage.Volume{Name: "res1_00000", SizeKib: 1024})
	require.ErrorContains(t, err, "gone of the storage pool")
	_, err = p.Capacity(context.Background())
	require.ErrorContains(t, err, "no such file or directory")
}

// On a file system with reflinks a snapshot shares the volume's extents:
// it takes no space until the volume changes, and it keeps the data of
// its moment. Elsewhere the pool says it cannot take snapshots.
func TestReflinkSnapshotsTakeNoSpace(t *testing.T) {
	ctx := context.Background()
	plain, _ := newPool(t, true)
	require.False(t, plain.SupportsSnapshots(ctx), "the test's temporary directory has no reflinks")

	dir := harness.ReflinkDir(t, 512)
	p := New(ctx, dir, false, execrun.Exec{})
	t.Cleanup(func() { _ = p.Delete(ctx, "r1_00000") })
	require.True(t, p.SupportsSnapshots(ctx))
	st, err := p.Create(ctx, storage.Volume{Name: "r1_00000", SizeKib: 64 << 10})
	require.NoError(t, err)
	data := bytes.Repeat([]byte{0xAB}, 64<<20)
	writeAt(t, st.DevicePath, 0, data)
	before, err := p.Capacity(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Snapshot(ctx, "r1_00000", "s1"))
	after, err := p.Capacity(ctx)
	require.NoError(t, err)
	require.Less(t, before.FreeKib-after.FreeKib, int64(1024), "a 64 MiB snapshot takes less than 1 MiB")
	writeAt(t, st.DevicePath, 0, bytes.Repeat([]byte{0xCD}, 4096))
	snaps, err := p.Snapshots(ctx)
	require.NoError(t, err)
	require.Equal(t, []storage.SnapshotID{{Volume: "r1_00000", Snapshot: "s1"}}, snaps)
	var sent bytes.Buffer
	require.NoError(t, p.Send(ctx, "r1_00000", "s1", &sent))
	require.True(t, bytes.Equal(data, sent.Bytes()), "the snapshot kept the data of its moment")
	require.NoError(t, p.DeleteSnapshot(ctx, "r1_00000", "s1"))
}

// BenchmarkReflinkSnapshot measures a snapshot of a fully written
// volume on a file system with reflinks, at 64 MiB and 1 GiB: the time
// per snapshot and the pool space it takes, which should not grow with
// the volume's size.
func BenchmarkReflinkSnapshot(b *testing.B) {
	for _, mib := range []int64{64, 1024} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			ctx := context.Background()
			dir := harness.ReflinkDir(b, 4096)
			p := New(ctx, dir, false, execrun.Exec{})
			name := "bench_00000"
			b.Cleanup(func() { _ = p.Delete(ctx, name) })
			if _, err := p.Create(ctx, storage.Volume{Name: name, SizeKib: mib << 10}); err != nil {
				b.Fatal(err)
			}
			f, err := os.OpenFile(filepath.Join(dir, name+".img"), os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			chunk := bytes.Repeat([]byte{0x5A}, 1<<20)
			for i := int64(0); i < mib; i++ {
				if _, err := f.WriteAt(chunk, i<<20); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Sync(); err != nil { // on disk: a snapshot is not also the volume's writeback
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			var took time.Duration
			var usedKiB int64
			n := 0
			for b.Loop() {
				before, err := p.Capacity(ctx)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := p.Snapshot(ctx, name, fmt.Sprintf("s%d", n)); err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				after, err := p.Capacity(ctx)
				if err != nil {
					b.Fatal(err)
				}
				usedKiB += before.FreeKib - after.FreeKib
				n++
			}
			b.ReportMetric(float64(took.Microseconds())/1000/float64(n), "ms/snapshot")
			b.ReportMetric(float64(usedKiB)/float64(n), "KiB-used/snapshot")
		})
	}
}

// What an abandoned receive left goes; what is being received and the
// snapshots stay.
func TestDropPartialSnapshots(t *testing.T) {
	dir := t.TempDir()
	p := New(context.Background(), dir, true, execrun.Exec{})
	files := []string{"db_00000@gone.snap.partial", "db_00000@gone.snap.partial.done", "db_00000@coming.snap.partial", "db_00000@coming.snap.partial.done", "db_00000@kept.snap", "notes.partial"}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.DropPartialSnapshots(map[storage.SnapshotID]bool{{Volume: "db_00000", Snapshot: "coming"}: true}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"db_00000@coming.snap.partial", "db_00000@coming.snap.partial.done", "db_00000@kept.snap", "notes.partial"}
	if !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
}
