package tests

import (
	"context"
	"net/http"
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
	must(t, c, http.MethodPost, "/v1/encryption/passphrase", map[string]string{"new_passphrase": "backup-test-passphrase"}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/remotes/s3", map[string]any{"remote_name": "s3r", "endpoint": s3.Endpoint, "bucket": "backups", "region": "us-east-1",
		"access_key": s3.AccessKey, "secret_key": s3.SecretKey, "use_path_style": true}, http.StatusOK)
	mc, err := minio.New(strings.TrimPrefix(s3.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: "us-east-1"})
	require.NoError(t, err)
	return s3, mc
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
	then := fill(t, c, "db", 0xA1)

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

	time.Sleep(time.Second) // backup ids have seconds
	now := fill(t, c, "db", 0xB2)
	snap, err = cli.Backup.Create(ctx, "s3r", lapi.BackupCreate{RscName: "db", SnapName: "inc1", Incremental: true})
	require.NoError(t, err)
	inc := waitForBackup(t, cli, "db", "inc1")
	require.Equal(t, full.Id+".meta", inc.BasedOnId, "LINSTOR's based_on_id is the base's meta key")
	require.Equal(t, "inc1", snap)

	// linstor-csi asks info before it ships (404: absent) and restores.
	_, err = cli.Backup.Info(ctx, "s3r", lapi.BackupInfoRequest{SrcRscName: "db", SrcSnapName: "nosuch"})
	require.ErrorIs(t, err, lapi.NotFoundError, "FAIL_NOT_FOUND_BACKUP")
	info, err := cli.Backup.Info(ctx, "s3r", lapi.BackupInfoRequest{SrcRscName: "db", SrcSnapName: "inc1", NodeName: "bravo"})
	require.NoError(t, err)
	require.Equal(t, inc.Id, info.Latest)
	require.Equal(t, full.Id, info.Full)
	require.Equal(t, "pool1", info.Storpools[0].TargetName)
	require.Positive(t, info.Storpools[0].RemainingSpaceKib)

	// Each backup restores on its own into a new definition, with the
	// data of its time.
	for _, r := range []struct {
		id, target, node string
		sum              [32]byte
	}{{full.Id, "db-full", "bravo", then}, {inc.Id, "db-inc", "charlie", now}} {
		require.NoError(t, cli.Backup.Restore(ctx, "s3r", lapi.BackupRestoreRequest{LastBackup: r.id, TargetRscName: r.target, NodeName: r.node}))
		eventually(t, 60*time.Second, r.target+" restored", func() bool { return ready(t, c, r.target, 1) })
		require.Equal(t, map[string][32]byte{r.node: r.sum}, checksums(t, c, r.target), "%s holds the data of %s", r.target, r.id)
	}
	err = cli.Backup.Restore(ctx, "s3r", lapi.BackupRestoreRequest{LastBackup: full.Id, TargetRscName: "db-full", NodeName: "bravo"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailExistsSnapshotDfn), "downloaded before: %v", err)

	// A data object without its meta (an interrupted shipment) is not a
	// successful backup.
	_, err = mc.PutObject(ctx, "backups", "db_00000_back_20200101_000000", strings.NewReader("{}"), 2, minio.PutObjectOptions{})
	require.NoError(t, err)
	l, err := cli.Backup.GetAll(ctx, "s3r", "", "")
	require.NoError(t, err)
	require.Len(t, l.Linstor, 3)
	require.False(t, l.Linstor["db_back_20200101_000000"].Success)
	require.False(t, l.Linstor["db_back_20200101_000000"].Restorable)

	// The base of another backup goes only with cascading.
	err = cli.Backup.DeleteAll(ctx, "s3r", lapi.BackupDeleteOpts{ID: full.Id})
	require.True(t, lapi.IsApiCallError(err, linstor.FailDependendBackup), "%v", err)
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
	require.NoError(t, cli.Backup.DeleteAll(ctx, "s3r", lapi.BackupDeleteOpts{ID: inc.Id}))
	require.Less(t, objects(), before, "the objects only the incremental backup used are collected")
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
	require.Regexp(t, `shipped to remote s3r: 4096 KiB read and [0-9]+ KiB sent of 65536 KiB`, out, "4 MiB of data in the 64 MiB volume")
	out, _, code = cliRun(t, env, "backup", "list", "s3r", "-r", "db")
	require.Zero(t, code)
	require.Regexp(t, `cli1 .*Success`, out)
}

// Bad input gets LINSTOR's answers and starts nothing.
func TestBackupBadInput(t *testing.T) {
	ctx := context.Background()
	c := harness.StartController(t, harness.ControllerOptions{})
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)))
	require.NoError(t, err)
	_, err = cli.Backup.Create(ctx, "nowhere", lapi.BackupCreate{RscName: "db"})
	require.ErrorIs(t, err, lapi.NotFoundError, "FAIL_NOT_FOUND_REMOTE answers 404, which golinstor reads as not found")
	must(t, c, http.MethodPost, "/v1/encryption/passphrase", map[string]string{"new_passphrase": "backup-test-passphrase"}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "other", "url": "http://10.0.0.9:3370"}, http.StatusOK)
	_, err = cli.Backup.Create(ctx, "other", lapi.BackupCreate{RscName: "db"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailInvldRemoteName), "%v", err)
	require.ErrorContains(t, err, "The remote other is not an s3 remote.")
}
