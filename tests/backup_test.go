package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// backupRemote starts MinIO, sets the master passphrase and creates the
// S3 remote s3r on its bucket.
func backupRemote(t testing.TB, c *harness.Controller) (*harness.MinIO, *minio.Client) {
	s3 := harness.StartMinIO(t, "backups")
	must(t, c, http.MethodPost, "/v1/encryption/passphrase", map[string]string{"new_passphrase": harness.Secret("backup-test-passphrase")}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/remotes/s3", map[string]any{"remote_name": "s3r", "endpoint": s3.Endpoint, "bucket": "backups", "region": "us-east-1",
		"access_key": s3.AccessKey, "secret_key": s3.SecretKey, "use_path_style": true}, http.StatusOK)
	mc, err := minio.New(strings.TrimPrefix(s3.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: "us-east-1"})
	require.NoError(t, err)
	return s3, mc
}

// changeBlocks writes random data over a share of the 4 KiB blocks of
// rd's volume, the same on every replica.
func changeBlocks(t *testing.T, c *harness.Controller, rd string, rng *rand.Rand, share float64) {
	vols := deployed(t, c, rd)
	blocks := vols[0].usable / 4
	data := make([]byte, 4096*int(float64(blocks)*share))
	at := make([]int64, len(data)/4096)
	for i := range at {
		at[i] = rng.Int64N(blocks) * 4096
	}
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, v := range vols {
		f, err := os.OpenFile(v.device, os.O_WRONLY, 0)
		require.NoError(t, err)
		for i, off := range at {
			_, err = f.WriteAt(data[i*4096:(i+1)*4096], off)
			require.NoError(t, err)
		}
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
	}
}

// waitForBackup waits until the backup of snapshot snap of rd is listed
// as successful and returns it.
func waitForBackup(t *testing.T, cli *lapi.Client, rd, snap string) lapi.Backup {
	var found lapi.Backup
	eventually(t, 60*time.Second, "backup of "+snap+" successful", func() bool {
		l, err := cli.Backup.GetAll(context.Background(), "s3r", rd, snap)
		require.NoError(t, err)
		for _, b := range l.Linstor {
			if b.OriginSnap == snap && b.Success {
				found = b
				return true
			}
		}
		return false
	})
	return found
}

// Backups of a definition on reflink pools, as linstor-csi's S3
// snapshot class makes them through golinstor: a full backup, then an
// incremental one that is based on it and ships only what changed,
// listed with LINSTOR's ids, props and flags; a backup without its meta
// is never listed as successful; delete refuses a base without
// cascading and collects the chunks nothing uses.
func TestBackupsToMinIO(t *testing.T) {
	ctx := context.Background()
	c, _, _, cli := snapshotCluster(t)
	_, mc := backupRemote(t, c)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	sums := []map[string][32]byte{}
	fill(t, c, "db", 0xA1) // 4 MiB of data, the rest holes
	sums = append(sums, volumeSums(t, c, "db"))

	snap, err := cli.Backup.Create(ctx, "s3r", lapi.BackupCreate{RscName: "db", SnapName: "full1"})
	require.NoError(t, err, "golinstor reads obj_refs.Snapshot")
	require.Equal(t, "full1", snap)
	full := waitForBackup(t, cli, "db", "full1")
	require.True(t, full.Restorable)
	require.Empty(t, full.BasedOnId)
	require.Regexp(t, `^db_back_[0-9]{8}_[0-9]{6}\^full1$`, full.Id)
	require.Equal(t, full.Id+".meta", full.S3.MetaName)
	require.Len(t, full.Vlms, 1)
	sn, err := cli.Resources.GetSnapshot(ctx, "db", "full1")
	require.NoError(t, err)
	require.Equal(t, "Success", sn.Props["BackupShipping/Source/s3r/ShippingStatus"], "linstor-csi's readiness")
	require.Equal(t, "s3r", sn.Props["BackupShipping/Source/s3r/BackupTargetRemote"])
	rd, err := cli.ResourceDefinitions.Get(ctx, "db")
	require.NoError(t, err)
	require.Equal(t, "full1", rd.Props["BackupShipping/Source/s3r/BackupLastStartedOrQueued"])

	// 1 % of the 4 KiB blocks changed, then 10 %: two incremental
	// backups, each based on the one before.
	chain := []lapi.Backup{full}
	for i, share := range []float64{0.01, 0.10} {
		time.Sleep(time.Second) // backup ids have seconds
		changeBlocks(t, c, "db", rng, share)
		sums = append(sums, volumeSums(t, c, "db"))
		name := fmt.Sprintf("inc%d", i+1)
		snap, err = cli.Backup.Create(ctx, "s3r", lapi.BackupCreate{RscName: "db", SnapName: name, Incremental: true})
		require.NoError(t, err)
		require.Equal(t, name, snap)
		inc := waitForBackup(t, cli, "db", name)
		require.Equal(t, chain[i].Id+".meta", inc.BasedOnId, "LINSTOR's based_on_id is the base's meta key")
		chain = append(chain, inc)
	}
	inc1, inc2 := chain[1], chain[2]

	// linstor-csi asks info before it ships (404: absent) and restores.
	_, err = cli.Backup.Info(ctx, "s3r", lapi.BackupInfoRequest{SrcRscName: "db", SrcSnapName: "nosuch"})
	require.ErrorIs(t, err, lapi.NotFoundError, "FAIL_NOT_FOUND_BACKUP")
	info, err := cli.Backup.Info(ctx, "s3r", lapi.BackupInfoRequest{SrcRscName: "db", SrcSnapName: "inc2", NodeName: "bravo"})
	require.NoError(t, err)
	require.Equal(t, inc2.Id, info.Latest)
	require.Equal(t, full.Id, info.Full)
	require.Equal(t, "pool1", info.Storpools[0].TargetName)
	require.Positive(t, info.Storpools[0].RemainingSpaceKib)

	// Each backup restores on its own into a new definition, with the
	// data of its time.
	restore := func(b lapi.Backup, target, node string, sum map[string][32]byte) {
		t.Helper()
		require.NoError(t, cli.Backup.Restore(ctx, "s3r", lapi.BackupRestoreRequest{LastBackup: b.Id, TargetRscName: target, NodeName: node}))
		eventually(t, 60*time.Second, target+" restored", func() bool { return ready(t, c, target, 1) })
		require.Equal(t, map[string][32]byte{node: sum["alpha"]}, volumeSums(t, c, target), "%s holds the data of %s", target, b.Id)
	}
	restore(full, "db-full", "bravo", sums[0])
	restore(inc1, "db-inc1", "charlie", sums[1])
	restore(inc2, "db-inc2", "bravo", sums[2])
	err = cli.Backup.Restore(ctx, "s3r", lapi.BackupRestoreRequest{LastBackup: full.Id, TargetRscName: "db-full", NodeName: "bravo"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailExistsSnapshotDfn), "downloaded before: %v", err)
	// Bad ids: LINSTOR's answers, and no definition is made for them.
	err = cli.Backup.Restore(ctx, "s3r", lapi.BackupRestoreRequest{LastBackup: "db_yesterday", TargetRscName: "db-bad", NodeName: "bravo"})
	require.ErrorContains(t, err, "The target backup db_yesterday is invalid since it does not match the pattern")
	err = cli.Backup.Restore(ctx, "s3r", lapi.BackupRestoreRequest{LastBackup: "db_back_20200101_000000", TargetRscName: "db-bad", NodeName: "bravo"})
	require.ErrorIs(t, err, lapi.NotFoundError, "The target backup db_back_20200101_000000 does not exist in the given remote.")
	_, err = cli.ResourceDefinitions.Get(ctx, "db-bad")
	require.ErrorIs(t, err, lapi.NotFoundError, "a refused restore makes nothing")

	// The middle backup goes alone: the last is based on the full one
	// now, both still restore, and its local snapshot goes with it.
	require.NoError(t, cli.Backup.DeleteAll(ctx, "s3r", lapi.BackupDeleteOpts{ID: inc1.Id}))
	require.Equal(t, full.Id+".meta", waitForBackup(t, cli, "db", "inc2").BasedOnId)
	eventually(t, 30*time.Second, "the snapshot inc1 shipped from is deleted", func() bool {
		_, err := cli.Resources.GetSnapshot(ctx, "db", "inc1")
		return errors.Is(err, lapi.NotFoundError)
	})
	restore(inc2, "db-inc2-again", "charlie", sums[2])
	restore(full, "db-full-again", "charlie", sums[0])

	// What moved shows in the metrics.
	m := scrape(t, c.URL)
	for _, dir := range []string{"read", "sent"} {
		v, ok := metricValue(m["strata_backup_bytes_total"], map[string]string{"direction": dir})
		require.True(t, ok, dir)
		require.Positive(t, v, dir)
	}

	// A data object without its meta (an interrupted shipment) is not a
	// successful backup.
	_, err = mc.PutObject(ctx, "backups", "db_00000_back_20200101_000000", strings.NewReader("{}"), 2, minio.PutObjectOptions{})
	require.NoError(t, err)
	l, err := cli.Backup.GetAll(ctx, "s3r", "", "")
	require.NoError(t, err)
	require.Len(t, l.Linstor, 3)
	require.False(t, l.Linstor["db_back_20200101_000000"].Success)
	require.False(t, l.Linstor["db_back_20200101_000000"].Restorable)

	// Onto a deployed resource a backup is only downloaded, with
	// LINSTOR's warning, and the data stays; forced onto the one diskful
	// resource there is, it replaces the data.
	op := finished(t, c, start(t, c, http.MethodPost, "/v1/remotes/s3r/backups/restore", map[string]any{"last_backup": full.Id, "target_rsc_name": "db-inc2-again", "node_name": "charlie"}))
	require.Equal(t, "done", op.State)
	require.Equal(t, uint64(linstor.WarnBackupDlOnly), uint64(op.Replies[0].RetCode)&linstor.WarnBackupDlOnly, "%+v", op.Replies)
	require.Equal(t, map[string][32]byte{"charlie": sums[2]["alpha"]}, volumeSums(t, c, "db-inc2-again"), "not restored over")
	op = finished(t, c, start(t, c, http.MethodPost, "/v1/remotes/s3r/backups/restore", map[string]any{"last_backup": inc2.Id, "target_rsc_name": "db-full-again", "node_name": "charlie", "force_restore": true}))
	require.Equal(t, "done", op.State, "%+v", op.Replies)
	require.Contains(t, op.Replies[len(op.Replies)-1].Message, "rolled back to snapshot 'inc2'")
	eventually(t, 60*time.Second, "db-full-again up again", func() bool { return ready(t, c, "db-full-again", 1) })
	require.Equal(t, map[string][32]byte{"charlie": sums[2]["alpha"]}, volumeSums(t, c, "db-full-again"), "forced: the backup's data")
	var rcs []struct {
		RetCode int64  `json:"ret_code"`
		Message string `json:"message"`
	}
	status, err := c.Do(ctx, http.MethodDelete, "/v1/remotes/s3r/backups", nil, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, status, "LINSTOR's mapping of FAIL_INVLD_REQUEST")
	require.Equal(t, "You have to specify which backups you want to delete. Use 'all' to delete all backups in the specified bucket", rcs[0].Message)
	status, err = c.Do(ctx, http.MethodDelete, "/v1/remotes/s3r/backups?id=x&all=true", nil, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, status)
	require.True(t, strings.HasPrefix(rcs[0].Message, "Too many parameters given."), rcs[0].Message)

	objects := func() int {
		n := 0
		for obj := range mc.ListObjects(ctx, "backups", minio.ListObjectsOptions{Prefix: "strata/", Recursive: true}) {
			require.NoError(t, obj.Err)
			n++
		}
		return n
	}
	before := objects()
	status, err = c.Do(ctx, http.MethodDelete, "/v1/remotes/s3r/backups?keep_snaps=true&id="+url.QueryEscape(inc2.Id), nil, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%+v", rcs)
	require.Less(t, objects(), before, "the objects only the incremental backup used are collected")
	_, err = cli.Resources.GetSnapshot(ctx, "db", "inc2")
	require.NoError(t, err, "keep_snaps keeps the snapshot it was shipped from")
	require.NoError(t, cli.Backup.DeleteAll(ctx, "s3r", lapi.BackupDeleteOpts{All: true}))
	l, err = cli.Backup.GetAll(ctx, "s3r", "", "")
	require.NoError(t, err)
	require.Empty(t, l.Linstor)
	require.Zero(t, objects(), "nothing is left in the bucket")

	// Without a free shipping slot a backup waits, durably, and abort
	// ends it: Aborted, never listed as successful.
	must(t, c, http.MethodPost, "/v1/controller/properties", map[string]any{"override_props": map[string]string{"BackupShipping/MaxConcurrentBackupsPerNode": "0"}}, http.StatusCreated)
	_, err = cli.Backup.Create(ctx, "s3r", lapi.BackupCreate{RscName: "db", SnapName: "queued"})
	require.NoError(t, err)
	sn, err = cli.Resources.GetSnapshot(ctx, "db", "queued")
	require.NoError(t, err)
	require.Equal(t, "Prepare Shipping", sn.Props["BackupShipping/Source/s3r/ShippingStatus"])
	// The queue shows it waiting on each node that holds the snapshot.
	var queues struct {
		NodeQueues []struct {
			NodeName string `json:"node_name"`
			Queue    []struct {
				ResourceName string `json:"resource_name"`
				SnapshotName string `json:"snapshot_name"`
				RemoteName   string `json:"remote_name"`
				Start        int64  `json:"start_timestamp"`
			} `json:"queue"`
		} `json:"node_queues"`
		SnapQueues []struct {
			SnapshotName string `json:"snapshot_name"`
			Queue        []struct {
				NodeName string `json:"node_name"`
			} `json:"queue"`
		} `json:"snap_queues"`
	}
	_, err = c.Do(ctx, http.MethodGet, "/v1/view/backup/queue", nil, &queues)
	require.NoError(t, err)
	require.Len(t, queues.NodeQueues, 3)
	for _, n := range queues.NodeQueues {
		require.Len(t, n.Queue, 1, n.NodeName)
		require.Equal(t, []string{"db", "queued", "s3r"}, []string{n.Queue[0].ResourceName, n.Queue[0].SnapshotName, n.Queue[0].RemoteName})
		require.Positive(t, n.Queue[0].Start)
	}
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	out, _, code := cliRun(t, env, "backup", "queue", "--nodes", "alpha")
	require.Zero(t, code)
	require.Regexp(t, `alpha .*db .*queued .*s3r`, out)
	_, err = c.Do(ctx, http.MethodGet, "/v1/view/backup/queue?snap_to_node=true&nodes=bravo", nil, &queues)
	require.NoError(t, err)
	require.Len(t, queues.SnapQueues, 1)
	require.Equal(t, "bravo", queues.SnapQueues[0].Queue[0].NodeName)
	require.Len(t, queues.SnapQueues[0].Queue, 1, "only the nodes asked for")
	require.NoError(t, cli.Backup.Abort(ctx, "s3r", lapi.BackupAbortRequest{RscName: "db"}))
	eventually(t, 30*time.Second, "the queued backup aborted", func() bool {
		sn, err := cli.Resources.GetSnapshot(ctx, "db", "queued")
		require.NoError(t, err)
		return sn.Props["BackupShipping/Source/s3r/ShippingStatus"] == "Aborted"
	})
	l, err = cli.Backup.GetAll(ctx, "s3r", "db", "queued")
	require.NoError(t, err)
	require.Empty(t, l.Linstor, "an aborted backup is not listed")
	queues.NodeQueues = nil
	_, err = c.Do(ctx, http.MethodGet, "/v1/view/backup/queue", nil, &queues)
	require.NoError(t, err)
	require.Empty(t, queues.NodeQueues, "nothing waits any more")

	// strata follows a shipment with --wait, showing bytes as it goes.
	must(t, c, http.MethodPost, "/v1/controller/properties", map[string]any{"delete_props": []string{"BackupShipping/MaxConcurrentBackupsPerNode"}}, http.StatusCreated)
	out, errOut, code := cliRun(t, env, "backup", "create", "s3r", "db", "-s", "cli1", "--wait")
	require.Zero(t, code, "%s\n%s", out, errOut)
	require.Contains(t, errOut, "100% done (workflow backup-create:s3r:db:cli1)")
	read := regexp.MustCompile(`shipped to remote s3r: ([0-9]+) KiB read and [0-9]+ KiB sent of 65536 KiB`).FindStringSubmatch(out)
	require.NotNil(t, read, out)
	kib, err := strconv.Atoi(read[1])
	require.NoError(t, err)
	require.Less(t, kib, 65536/4, "the holes of the 64 MiB volume are not read")
	out, _, code = cliRun(t, env, "backup", "list", "s3r", "-r", "db")
	require.Zero(t, code)
	require.Regexp(t, `cli1 .*Success`, out)
}

// Bad input gets LINSTOR's answers and starts nothing.
func TestBackupBadInput(t *testing.T) {
	ctx := context.Background()
	c := harness.StartController(t, harness.ControllerOptions{})
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)), lapi.HTTPClient(c.HTTPClient()))
	require.NoError(t, err)
	_, err = cli.Backup.Create(ctx, "nowhere", lapi.BackupCreate{RscName: "db"})
	require.ErrorIs(t, err, lapi.NotFoundError, "FAIL_NOT_FOUND_REMOTE answers 404, which golinstor reads as not found")
	must(t, c, http.MethodPost, "/v1/encryption/passphrase", map[string]string{"new_passphrase": harness.Secret("backup-test-passphrase")}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "other", "url": "http://10.0.0.9:3370"}, http.StatusOK)
	_, err = cli.Backup.Create(ctx, "other", lapi.BackupCreate{RscName: "db"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailInvldRemoteName), "%v", err)
	require.ErrorContains(t, err, "The remote other is not an s3 remote.")
}
