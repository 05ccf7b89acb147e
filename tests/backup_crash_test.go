package tests

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// fillVolume writes random data over the whole volume of every replica
// of rd and returns its checksum.
func fillVolume(t *testing.T, c *harness.Controller, rd string, rng *rand.Rand) [32]byte {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	var sum [32]byte
	for _, v := range deployed(t, c, rd) {
		f, err := os.OpenFile(v.device, os.O_WRONLY, 0)
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.CopyN(io.MultiWriter(f, h), rand.NewChaCha8(seed), v.usable<<10)
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
		copy(sum[:], h.Sum(nil))
	}
	return sum
}

// volumeSums are the checksums of every replica's whole volume.
func volumeSums(t *testing.T, c *harness.Controller, rd string) map[string][32]byte {
	out := map[string][32]byte{}
	for _, v := range deployed(t, c, rd) {
		f, err := os.Open(v.device)
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.CopyN(h, f, v.usable<<10)
		require.NoError(t, err)
		f.Close()
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		out[v.node] = sum
	}
	return out
}

// The controller, the shipping or restoring node's agent, and MinIO
// killed at a random moment of a backup's create and of its restore, five
// times each: every backup ends Success or cleanly Failed or Aborted;
// what is listed as successful restores; nothing is left over (no
// snapshot file, no received part, no multipart upload); and every
// restore that finished holds the data of its backup.
func TestBackupsSurviveCrashes(t *testing.T) {
	ctx := context.Background()
	c, dirs, agents, cli := snapshotCluster(t)
	s3, mc := backupRemote(t, c)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	kill := map[string]func(){
		// The operator enters the master passphrase again after the
		// restart (or has it in the configuration): until then shipments
		// wait, retrying.
		"controller": func() {
			c.Kill()
			c.Start()
			must(t, c, http.MethodPatch, "/v1/encryption/passphrase", "backup-test-passphrase", http.StatusOK)
		},
		"agent": func() {
			for _, n := range []string{"alpha", "bravo"} { // the shipping and the restoring node
				agents[n].Kill()
				agents[n].Start()
			}
		},
		"minio": func() { s3.Kill(); time.Sleep(time.Second); s3.Start() },
	}
	killAfter := func(what string) time.Duration {
		d := time.Duration(rng.IntN(700)) * time.Millisecond
		time.Sleep(d)
		kill[what]()
		return d
	}

	shipped := map[string][32]byte{} // backup id → the data it holds
	for _, what := range []string{"controller", "agent", "minio"} {
		for i := range 5 {
			sum := fillVolume(t, c, "db", rng)
			snap := fmt.Sprintf("%s%d", what[:1], i)
			id := start(t, c, http.MethodPost, "/v1/remotes/s3r/backups", map[string]any{"rsc_name": "db", "snap_name": snap, "node_name": "alpha"})
			d := killAfter(what)
			op := finished(t, c, id)
			sn, err := cli.Resources.GetSnapshot(ctx, "db", snap)
			if err != nil {
				require.Equal(t, "failed", op.State, "%s killed after %v: the snapshot is gone only with the operation failed", what, d)
				continue
			}
			status := sn.Props["BackupShipping/Source/s3r/ShippingStatus"]
			t.Logf("backup %s, %s killed after %v: %s, %s: %s", snap, what, d, op.State, status, op.Replies[len(op.Replies)-1].Message)
			if op.snapshotFailed() {
				require.Empty(t, status, "%s killed after %v: no shipment started", what, d)
			} else if op.State == "done" {
				require.Equal(t, "Success", status)
				b := waitForBackup(t, cli, "db", snap)
				require.True(t, b.Restorable)
				shipped[b.Id] = sum
			} else {
				require.Contains(t, []string{"Failed", "Aborted"}, status, "%s killed after %v: %+v", what, d, op.Replies)
			}
			// The backup is in the bucket now; its snapshot is not needed.
			must(t, c, http.MethodDelete, "/v1/resource-definitions/db/snapshots/"+snap, nil, http.StatusOK)
		}
	}
	require.GreaterOrEqual(t, len(shipped), 10, "most backups survive the crashes")

	ids := slices.Sorted(maps.Keys(shipped))
	n := 0
	for _, what := range []string{"controller", "agent", "minio"} {
		for i := range 5 {
			backup, target := ids[n%len(ids)], fmt.Sprintf("restored-%s%d", what[:1], i)
			n++
			id := start(t, c, http.MethodPost, "/v1/remotes/s3r/backups/restore", map[string]any{"last_backup": backup, "target_rsc_name": target, "node_name": "bravo"})
			d := killAfter(what)
			op := finished(t, c, id)
			t.Logf("restore of %s, %s killed after %v: %s", backup, what, d, op.State)
			if op.State == "done" {
				eventually(t, 60*time.Second, target+" deployed", func() bool { return ready(t, c, target, 1) })
				require.Equal(t, map[string][32]byte{"bravo": shipped[backup]}, volumeSums(t, c, target), "%s holds the data of %s (%s killed after %v)", target, backup, what, d)
			}
			deleteDefinition(t, c, target)
		}
	}

	// Nothing is left over: no backup is half listed, every successful
	// one restores, no upload is open, and the pools hold no snapshot or
	// received part that is not a snapshot of the database.
	l, err := cli.Backup.GetAll(ctx, "s3r", "", "")
	require.NoError(t, err)
	for id, b := range l.Linstor {
		require.True(t, b.Success && b.Restorable, "%s is listed as %+v", id, b)
		_, ok := shipped[id]
		require.True(t, ok, "%s is a backup whose create succeeded", id)
	}
	require.Len(t, l.Linstor, len(shipped))
	for u := range mc.ListIncompleteUploads(ctx, "backups", "", true) {
		require.NoError(t, u.Err)
		t.Errorf("open multipart upload %s of %s", u.UploadID, u.Key)
	}
	snapshotsSettled(t, c, dirs)
	eventually(t, 30*time.Second, "no received part is left", func() bool {
		var partial []string
		for _, d := range dirs {
			p, err := filepath.Glob(filepath.Join(d, "*.partial*"))
			require.NoError(t, err)
			partial = append(partial, p...)
		}
		return len(partial) == 0
	})
	require.NoError(t, cli.Backup.DeleteAll(ctx, "s3r", lapi.BackupDeleteOpts{All: true}))
	for obj := range mc.ListObjects(ctx, "backups", minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, obj.Err)
		t.Errorf("%s is left in the bucket after deleting every backup", obj.Key)
	}
}

// deleteDefinition deletes rd with its snapshots and waits until it is
// gone.
func deleteDefinition(t *testing.T, c *harness.Controller, rd string) {
	var snaps []struct {
		Name string `json:"name"`
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/resource-definitions/"+rd+"/snapshots", nil, &snaps)
	require.NoError(t, err)
	if status == http.StatusNotFound {
		return
	}
	for _, s := range snaps {
		must(t, c, http.MethodDelete, "/v1/resource-definitions/"+rd+"/snapshots/"+s.Name, nil, http.StatusOK)
	}
	must(t, c, http.MethodDelete, "/v1/resource-definitions/"+rd, nil, http.StatusOK)
	eventually(t, 60*time.Second, rd+" deleted", func() bool {
		status, err := c.Do(context.Background(), http.MethodGet, "/v1/resource-definitions/"+rd, nil, nil)
		require.NoError(t, err)
		return status == http.StatusNotFound
	})
}
