package tests

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"strata/tests/harness"
)

// backupBench is one node with a FILE_THIN pool on a reflink file system,
// a volume "vol" of the size asked for on it, and the S3 remote s3r on a
// MinIO of its own.
type backupBench struct {
	c     *harness.Controller
	agent *harness.Agent
	dir   string // the node's pool
	mc    *minio.Client
	size  int64
}

func newBackupBench(b *testing.B, size int64) *backupBench {
	root := harness.ReflinkDir(b, int(3*size>>20)+1024) // volume, restored copy, slack
	bb := &backupBench{dir: filepath.Join(root, "alpha"), size: size}
	require.NoError(b, os.Mkdir(bb.dir, 0o755))
	b.Cleanup(func() { detachLoops(map[string]string{"alpha": bb.dir}) })
	bb.c = harness.StartController(b, harness.ControllerOptions{})
	bb.agent = harness.StartAgent(b)
	must(b, bb.c, http.MethodPost, "/v1/nodes", map[string]any{"name": "alpha", "type": "satellite",
		"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": bb.agent.Port}}}, http.StatusCreated)
	must(b, bb.c, http.MethodPost, "/v1/nodes/alpha/storage-pools", map[string]any{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN",
		"props": map[string]string{"StorDriver/StorPoolName": bb.dir}}, http.StatusCreated)
	poolsReported(b, bb.c, 1)
	must(b, bb.c, http.MethodPost, "/v1/resource-groups", map[string]any{"name": "one", "select_filter": map[string]any{"place_count": 1, "storage_pool": "pool1"}}, http.StatusCreated)
	must(b, bb.c, http.MethodPost, "/v1/resource-groups/one/volume-groups", map[string]any{}, http.StatusCreated)
	must(b, bb.c, http.MethodPost, "/v1/resource-groups/one/spawn", map[string]any{"resource_definition_name": "vol", "volume_sizes": []int64{size >> 10}}, http.StatusCreated)
	eventually(b, time.Minute, "vol deployed", func() bool { return ready(b, bb.c, "vol", 1) })
	_, bb.mc = backupRemote(b, bb.c)
	return bb
}

// fillRandom writes new random bytes over the whole volume, so that no
// chunk of an earlier round is in the bucket.
func (bb *backupBench) fillRandom(b *testing.B, seed uint64) {
	f, err := os.OpenFile(deployed(b, bb.c, "vol")[0].device, os.O_WRONLY, 0)
	require.NoError(b, err)
	defer f.Close()
	_, err = io.CopyN(f, rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), bb.size)
	require.NoError(b, err)
	require.NoError(b, f.Sync())
}

// dropCaches empties the page cache, so that each timed transfer reads
// what it sends from the disk, as a backup of a cold volume does.
func dropCaches(b *testing.B) {
	unix.Sync()
	require.NoError(b, os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200))
}

// backupRound writes new data to vol, takes a full backup of it and
// restores that (download only) into a new definition, each from a cold
// page cache and timed end to end through the API; between the two,
// between(snapshot file) runs. Then it removes what it made.
func (bb *backupBench) backupRound(b *testing.B, round int, between func(snapFile string)) (backup, restore time.Duration) {
	b.StopTimer()
	bb.fillRandom(b, uint64(round))
	snap := fmt.Sprintf("bench%d", round)
	dropCaches(b)
	b.StartTimer()
	t0 := time.Now()
	op := finished(b, bb.c, start(b, bb.c, http.MethodPost, "/v1/remotes/s3r/backups", map[string]any{"rsc_name": "vol", "snap_name": snap}))
	backup = time.Since(t0)
	require.Equal(b, "done", op.State, "%+v", op)
	between(filepath.Join(bb.dir, "vol_00000@"+snap+".snap"))
	target := fmt.Sprintf("restored%d", round)
	dropCaches(b)
	t0 = time.Now()
	op = finished(b, bb.c, start(b, bb.c, http.MethodPost, "/v1/remotes/s3r/backups/restore",
		map[string]any{"src_rsc_name": "vol", "src_snap_name": snap, "target_rsc_name": target, "node_name": "alpha", "download_only": true}))
	restore = time.Since(t0)
	require.Equal(b, "done", op.State, "%+v", op)

	b.StopTimer()
	for _, del := range []string{"/v1/resource-definitions/" + target + "/snapshots/" + snap, "/v1/resource-definitions/" + target,
		"/v1/resource-definitions/vol/snapshots/" + snap, "/v1/remotes/s3r/backups?all=true"} {
		must(b, bb.c, http.MethodDelete, del, nil, http.StatusOK)
	}
	b.StartTimer()
	return backup, restore
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / 1e6 / d.Seconds() }

// BenchmarkBackupThroughput: a full backup of a 1 GiB volume of random
// data to MinIO and its restore, end to end through the API, beside
// minio-go's PutObject and GetObject of the same bytes to the same
// MinIO in the same round (what the issue compares against).
func BenchmarkBackupThroughput(b *testing.B) {
	ctx := context.Background()
	bb := newBackupBench(b, 1<<30)
	var up, down, put, get time.Duration
	round := 0
	for b.Loop() {
		// The same bytes with minio-go alone, from the same cold cache:
		// the snapshot's file that the backup read.
		u, d := bb.backupRound(b, round, func(snapFile string) {
			src, err := os.Open(snapFile)
			require.NoError(b, err)
			defer src.Close()
			dropCaches(b)
			t0 := time.Now()
			_, err = bb.mc.PutObject(ctx, "backups", "plain", src, bb.size, minio.PutObjectOptions{})
			put += time.Since(t0)
			require.NoError(b, err)
		})
		up, down = up+u, down+d
		dst, err := os.Create(filepath.Join(bb.dir, "plain"))
		require.NoError(b, err)
		dropCaches(b)
		t0 := time.Now()
		obj, err := bb.mc.GetObject(ctx, "backups", "plain", minio.GetObjectOptions{})
		require.NoError(b, err)
		_, err = io.Copy(dst, obj)
		require.NoError(b, err)
		require.NoError(b, dst.Sync())
		get += time.Since(t0)
		obj.Close()
		dst.Close()
		require.NoError(b, os.Remove(dst.Name()))
		require.NoError(b, bb.mc.RemoveObject(ctx, "backups", "plain", minio.RemoveObjectOptions{}))
		round++
	}
	n := int64(round) * bb.size
	b.ReportMetric(mbps(n, up), "backup-MB/s")
	b.ReportMetric(mbps(n, put), "PutObject-MB/s")
	b.ReportMetric(100*put.Seconds()/up.Seconds(), "backup-%-of-PutObject")
	b.ReportMetric(mbps(n, down), "restore-MB/s")
	b.ReportMetric(mbps(n, get), "GetObject-MB/s")
	b.ReportMetric(100*get.Seconds()/down.Seconds(), "restore-%-of-GetObject")
}

// BenchmarkBackupAgentMemory: the agent's resident memory while it backs
// up and restores a 10 GiB volume of random data, sampled every 100 ms,
// and its peak (VmHWM) over the run.
func BenchmarkBackupAgentMemory(b *testing.B) {
	bb := newBackupBench(b, 10<<30)
	var peak atomic.Int64 // KiB
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if mib, err := rssMiB(bb.agent.PID()); err == nil && int64(mib*1024) > peak.Load() {
				peak.Store(int64(mib * 1024))
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	round := 0
	var up, down time.Duration
	for b.Loop() {
		u, d := bb.backupRound(b, round, func(string) {})
		up, down = up+u, down+d
		round++
	}
	close(stop)
	<-done
	hwm, err := procStatusMiB(bb.agent.PID(), "VmHWM")
	require.NoError(b, err)
	n := int64(round) * bb.size
	b.ReportMetric(float64(peak.Load())/1024, "MiB-RSS-sampled-max")
	b.ReportMetric(hwm, "MiB-RSS-peak")
	b.ReportMetric(mbps(n, up), "backup-MB/s")
	b.ReportMetric(mbps(n, down), "restore-MB/s")
}
