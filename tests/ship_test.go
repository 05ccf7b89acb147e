package tests

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"strata/tests/harness"
)

// clusterID is a controller's Cluster/LocalID.
func clusterID(t *testing.T, c *harness.Controller) string {
	var props map[string]string
	_, err := c.Do(context.Background(), http.MethodGet, "/v1/controller/properties", nil, &props)
	require.NoError(t, err)
	require.NotEmpty(t, props["Cluster/LocalID"])
	return props["Cluster/LocalID"]
}

// fileSum is the SHA-256 of a file's first n bytes.
func fileSum(t *testing.T, path string, n int64) [32]byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.CopyN(h, f, n)
	require.NoError(t, err)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// waitShipped waits until the snapshot of rd says its shipment to remote
// ended, and returns how.
func waitShipped(t *testing.T, cli *lapi.Client, rd, snap, remote string) string {
	var status string
	eventually(t, 90*time.Second, "shipment of "+snap+" ended", func() bool {
		sn, err := cli.Resources.GetSnapshot(context.Background(), rd, snap)
		require.NoError(t, err)
		status = sn.Props["BackupShipping/Source/"+remote+"/ShippingStatus"]
		return status == "Success" || status == "Failed" || status == "Aborted"
	})
	return status
}

// sentBytes is what the agent log says the last send of snap sent.
func sentBytes(t *testing.T, agents map[string]*harness.Agent, snap string) int64 {
	re := regexp.MustCompile(`snapshot send done.*snapshot=` + regexp.QuoteMeta(snap) + `\b.*sent_bytes=([0-9]+)`)
	for _, a := range agents {
		if m := re.FindAllStringSubmatch(a.Log(), -1); m != nil {
			n, err := strconv.ParseInt(m[len(m)-1][1], 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no agent sent %s", snap)
	return 0
}

// Shipping to another Strata cluster as linstor-csi and the linstor
// client do it: the receiver must know the sender (Unknown Cluster
// otherwise, nothing taken); a full shipment creates the definition on
// the target, restores its resource with the source's bytes and names
// the snapshot after the source's with the sender's short id; after 1 %
// of the blocks changed the next shipment is incremental to it, sends
// about that much, and the received snapshot holds the new bytes; the
// target being deployed now, only the snapshot lands (LINSTOR's
// download-only). Shipping to the own cluster copies a resource.
func TestShipToAnotherCluster(t *testing.T) {
	ctx := context.Background()
	src, _, srcAgents, cli := snapshotCluster(t)
	dst, dstDirs, dstAgents := threeNodeClusterIn(t, harness.ControllerOptions{}, harness.ReflinkDir(t, 1024))
	dstCli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, dst.URL)), lapi.HTTPClient(dst.HTTPClient()))
	require.NoError(t, err)
	fill(t, src, "db", 0x5C)
	want := volumeSums(t, src, "db")
	var usable int64
	for _, v := range deployed(t, src, "db") {
		usable = v.usable << 10
	}

	// Bad input first: nothing may be taken or created by it.
	must(t, src, http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "dst", "url": dst.URL}, http.StatusOK)
	for _, c := range []struct {
		remote string
		body   map[string]any
		code   int
		msg    string
	}{
		{"nosuch", map[string]any{"src_rsc_name": "db", "dst_rsc_name": "db2"}, http.StatusNotFound, "The remote nosuch does not exist"},
		{"dst", map[string]any{"src_rsc_name": "db"}, http.StatusBadRequest, "Unable to parse input json."},
		{"dst", map[string]any{"src_rsc_name": "db", "dst_rsc_name": ""}, http.StatusInternalServerError, "src_rsc_name and dst_rsc_name are required."},
		{"dst", map[string]any{"src_rsc_name": "db", "dst_rsc_name": "db2", "download_only": true, "force_restore": true}, http.StatusInternalServerError, "mutually exclusive"},
		{"dst", map[string]any{"src_rsc_name": "nosuch", "dst_rsc_name": "db2"}, http.StatusNotFound, "nosuch"},
		{"dst", map[string]any{"src_rsc_name": "db", "dst_rsc_name": "db2"}, http.StatusInternalServerError, "Unknown Cluster"},
	} {
		var out []lapi.ApiCallRc
		status, err := src.Do(ctx, http.MethodPost, "/v1/remotes/"+c.remote+"/backups/ship", c.body, &out)
		require.NoError(t, err)
		require.Equal(t, c.code, status, "%v", c.body)
		require.NotEmpty(t, out)
		require.Contains(t, out[0].Message, c.msg)
	}
	snaps, err := cli.Resources.GetSnapshots(ctx, "db")
	require.NoError(t, err)
	require.Empty(t, snaps, "a refused shipment takes no snapshot")
	_, err = dstCli.ResourceDefinitions.Get(ctx, "db2")
	require.ErrorIs(t, err, lapi.NotFoundError)

	// The receiver knows the sender by its cluster id.
	must(t, dst, http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "src", "url": src.URL, "cluster_id": clusterID(t, src)}, http.StatusOK)
	snap, err := cli.Backup.Ship(ctx, "dst", lapi.BackupShipRequest{SrcRscName: "db", DstRscName: "db2"})
	require.NoError(t, err, "golinstor reads obj_refs.Snapshot")
	require.Regexp(t, `^back_[0-9]{8}_[0-9]{6}$`, snap)
	require.Equal(t, "Success", waitShipped(t, cli, "db", snap, "dst"))
	eventually(t, 60*time.Second, "db2 restored on the target", func() bool { return ready(t, dst, "db2", 1) })
	for _, sum := range volumeSums(t, dst, "db2") {
		require.Equal(t, want["alpha"], sum, "the target holds the source's bytes")
	}
	received, err := dstCli.Resources.GetSnapshots(ctx, "db2")
	require.NoError(t, err)
	require.Len(t, received, 1)
	first := received[0]
	require.Regexp(t, "^"+snap+`_[0-9a-z]+$`, first.Name, "named after the source's snapshot with the sender's short id")
	require.Equal(t, "Success", first.Props["BackupShipping/Target/ShippingStatus"], "linstor-csi's readiness on the target")
	require.Equal(t, "src", first.Props["BackupShipping/Target/BackupSrcRemote"])

	// 1 % of the blocks changed: incremental, and about that much sent.
	time.Sleep(time.Second) // snapshot names have seconds
	changeBlocks(t, src, "db", rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)), 0.01)
	want = volumeSums(t, src, "db")
	snap2, err := cli.Backup.Ship(ctx, "dst", lapi.BackupShipRequest{SrcRscName: "db", DstRscName: "db2"})
	require.NoError(t, err)
	require.Equal(t, "Success", waitShipped(t, cli, "db", snap2, "dst"))
	sent := sentBytes(t, srcAgents, snap2)
	t.Logf("incremental shipment after 1 %% of the blocks changed: %d of %d bytes sent", sent, usable)
	require.Less(t, sent, usable/20, "only what changed is sent")
	var second lapi.Snapshot
	eventually(t, 30*time.Second, "the second snapshot received", func() bool {
		received, err = dstCli.Resources.GetSnapshots(ctx, "db2")
		require.NoError(t, err)
		for _, s := range received {
			if strings.HasPrefix(s.Name, snap2) && s.Props["BackupShipping/Target/ShippingStatus"] == "Success" {
				second = s
				return true
			}
		}
		return false
	})
	require.Equal(t, first.Name, second.Props["BackupShipping/Target/BackupLastSnapshot"], "incremental to the first")
	node := second.Props["BackupShipping/Target/DstNode"]
	require.Equal(t, want["alpha"], fileSum(t, filepath.Join(dstDirs[node], "db2_00000@"+second.Name+".snap"), usable), "the received snapshot holds the new bytes")
	for _, sum := range volumeSums(t, dst, "db2") {
		require.NotEqual(t, want["alpha"], sum, "a deployed target gets the snapshot only")
	}

	// A schedule whose remote is the other cluster ships into the
	// definition of the same name there: full, then incremental.
	tc, err := client.Dial(client.Options{HostPort: src.TemporalAddr, Namespace: "default"})
	require.NoError(t, err)
	defer tc.Close()
	must(t, src, http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "hourly", "full_cron": "0 0 * * *", "inc_cron": "0 * * * *"}, http.StatusOK)
	must(t, src, http.MethodPut, "/v1/remotes/dst/backups/schedule/hourly/enable", map[string]any{"rsc_name": "db"}, http.StatusOK)
	const sched = "backup-schedule:db:dst:hourly"
	eventually(t, 30*time.Second, "the schedule exists", func() bool { return exists(t, tc, sched) })
	require.NoError(t, scheduledRun(t, tc, sched))
	eventually(t, 60*time.Second, "db restored on the target by the schedule", func() bool { return ready(t, dst, "db", 1) })
	for _, sum := range volumeSums(t, dst, "db") {
		require.Equal(t, want["alpha"], sum)
	}
	time.Sleep(time.Second)
	require.NoError(t, scheduledRun(t, tc, sched))
	byName, err := dstCli.Resources.GetSnapshots(ctx, "db")
	require.NoError(t, err)
	require.Len(t, byName, 2)
	bases := 0
	for _, s := range byName {
		require.Equal(t, "Success", s.Props["BackupShipping/Target/ShippingStatus"])
		if s.Props["BackupShipping/Target/BackupLastSnapshot"] != "" {
			bases++
		}
	}
	require.Equal(t, 1, bases, "the second scheduled shipment is incremental")
	must(t, src, http.MethodPut, "/v1/remotes/dst/backups/schedule/hourly/disable", map[string]any{"rsc_name": "db"}, http.StatusOK)

	// A copy within the cluster: a remote whose URL is this controller.
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(src.URL, "http://")}
	stdout, stderr, code := cliRun(t, env, "remote", "create", "linstor", "self", src.URL)
	require.Zero(t, code, stdout+stderr)
	stdout, stderr, code = cliRun(t, env, "backup", "ship", "self", "db", "dbcopy", "--target-node", "charlie", "--source-snapshot", "copy1")
	require.Zero(t, code, stdout+stderr)
	require.Contains(t, stdout, "Shipping of resource db to remote self in progress.")
	const copySnap = "copy1"
	require.Equal(t, "Success", waitShipped(t, cli, "db", copySnap, "self"))
	eventually(t, 60*time.Second, "dbcopy restored on charlie", func() bool { return ready(t, src, "dbcopy", 1) })
	copies := volumeSums(t, src, "dbcopy")
	require.Equal(t, want["alpha"], copies["charlie"])
	copied, err := cli.Resources.GetSnapshots(ctx, "dbcopy")
	require.NoError(t, err)
	require.Len(t, copied, 1)
	require.Equal(t, copySnap, copied[0].Name, "no suffix within the cluster")

	// Abort: a shipment whose receiving node is down waits; aborted, it
	// ends Aborted here and its receive ends there, the received snapshot
	// failed.
	dstAgents["charlie"].Kill()
	id := start(t, src, http.MethodPost, "/v1/remotes/dst/backups/ship", map[string]any{"src_rsc_name": "db", "src_snap_name": "stuck", "dst_rsc_name": "db2", "dst_node_name": "charlie"})
	eventually(t, 30*time.Second, "the stuck shipment is shipping", func() bool {
		sn, err := cli.Resources.GetSnapshot(ctx, "db", "stuck")
		return err == nil && sn.Props["BackupShipping/Source/dst/ShippingStatus"] == "Shipping"
	})
	require.NoError(t, cli.Backup.Abort(ctx, "dst", lapi.BackupAbortRequest{RscName: "db"}))
	op := finished(t, src, id)
	require.Equal(t, "failed", op.State)
	require.Equal(t, "Aborted", waitShipped(t, cli, "db", "stuck", "dst"))
	eventually(t, 30*time.Second, "the receive of stuck ended failed", func() bool {
		received, err := dstCli.Resources.GetSnapshots(ctx, "db2")
		require.NoError(t, err)
		for _, s := range received {
			if strings.HasPrefix(s.Name, "stuck_") {
				return s.Props["BackupShipping/Target/ShippingStatus"] == "Failed" && slices.Contains(s.Flags, "FAILED_DEPLOYMENT")
			}
		}
		return false
	})
}
