package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/sys/unix"

	"strata/tests/harness"
)

// snapshotCluster is three agents with FILE pools on one XFS with
// reflinks, and definition db of 64 MiB on all three nodes, each replica
// holding the same 4 MiB pattern (without DRBD the replicas are
// independent, so each is written).
func snapshotCluster(t testing.TB) (*harness.Controller, map[string]string, map[string]*harness.Agent, *lapi.Client) {
	root := harness.ReflinkDir(t, 1024)
	c, dirs, agents := threeNodeClusterIn(t, harness.ControllerOptions{}, root)
	must(t, c, http.MethodPost, "/v1/resource-groups", map[string]any{"name": "db3", "select_filter": map[string]any{"place_count": 3, "storage_pool": "pool1"}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-groups/db3/volume-groups", map[string]any{}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-groups/db3/spawn", map[string]any{"resource_definition_name": "db", "volume_sizes": []int64{64 << 10}}, http.StatusCreated)
	eventually(t, 30*time.Second, "db deployed on three nodes", func() bool { return ready(t, c, "db", 3) })
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)), lapi.HTTPClient(c.HTTPClient()))
	require.NoError(t, err)
	return c, dirs, agents, cli
}

// fill writes the pattern to every replica of rd and returns its checksum.
func fill(t *testing.T, c *harness.Controller, rd string, pattern byte) [32]byte {
	data := bytes.Repeat([]byte{pattern, pattern ^ 0x5A, 'x', 'y'}, 1<<20)
	for _, v := range deployed(t, c, rd) {
		f, err := os.OpenFile(v.device, os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(data, 0)
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
	}
	return sha256.Sum256(data)
}

// checksums are the checksums of the first 4 MiB of each replica of rd.
func checksums(t *testing.T, c *harness.Controller, rd string) map[string][32]byte {
	out := map[string][32]byte{}
	for _, v := range deployed(t, c, rd) {
		f, err := os.Open(v.device)
		require.NoError(t, err)
		b := make([]byte, 4<<20)
		_, err = f.ReadAt(b, 0)
		require.NoError(t, err)
		f.Close()
		out[v.node] = sha256.Sum256(b)
	}
	return out
}

// snapshotFiles are the snapshot files in the nodes' pools.
func snapshotFiles(t *testing.T, dirs map[string]string) []string {
	var out []string
	for n, d := range dirs {
		files, err := filepath.Glob(filepath.Join(d, "*.snap"))
		require.NoError(t, err)
		for _, f := range files {
			out = append(out, n+":"+filepath.Base(f))
		}
	}
	return out
}

func freeKiB(t *testing.T, dir string) int64 {
	var fs unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &fs))
	return int64(fs.Bavail) * int64(fs.Bsize) / 1024
}

// A user's whole round with linstor-csi's calls through golinstor: a
// snapshot of three replicas on reflink pools (taking no space), a
// restore into a new definition that holds the data of snapshot time
// while the original changed, a rollback, and an idempotent delete that
// leaves no snapshot file behind.
func TestSnapshotRestoreRollbackDeleteOnReflinkPools(t *testing.T) {
	ctx := context.Background()
	c, dirs, _, cli := snapshotCluster(t)
	then := fill(t, c, "db", 0xA1)
	free := freeKiB(t, dirs["alpha"])

	require.NoError(t, cli.Resources.CreateSnapshots(ctx, lapi.Snapshot{Name: "snap1", ResourceName: "db"}), "linstor-csi's actions/snapshot/multi")
	require.Less(t, free-freeKiB(t, dirs["alpha"]), int64(2048), "three 64 MiB snapshots take less than 2 MiB: reflinks")
	view, err := cli.Resources.GetSnapshotView(ctx)
	require.NoError(t, err)
	require.Len(t, view, 1)
	sn := view[0]
	require.Equal(t, "snap1", sn.Name)
	require.Contains(t, sn.Flags, "SUCCESSFUL")
	require.ElementsMatch(t, []string{"alpha", "bravo", "charlie"}, sn.Nodes)
	require.EqualValues(t, 64<<10, sn.VolumeDefinitions[0].SizeKib)
	require.NotNil(t, sn.Snapshots[0].CreateTimestamp)
	require.WithinDuration(t, time.Now(), sn.Snapshots[0].CreateTimestamp.Time, time.Minute)
	require.Len(t, snapshotFiles(t, dirs), 3)

	now := fill(t, c, "db", 0xB2)
	require.NotEqual(t, then, now)

	// Restore as linstor-csi does: a definition, its volume definitions,
	// then its resources on one node that holds the snapshot.
	require.NoError(t, cli.ResourceDefinitions.Create(ctx, lapi.ResourceDefinitionCreate{ResourceDefinition: lapi.ResourceDefinition{Name: "db-copy"}}))
	require.NoError(t, cli.Resources.RestoreVolumeDefinitionSnapshot(ctx, "db", "snap1", lapi.SnapshotRestore{ToResource: "db-copy"}))
	err = cli.Resources.RestoreVolumeDefinitionSnapshot(ctx, "db", "snap1", lapi.SnapshotRestore{ToResource: "db-copy"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailExistsVlmDfn), "again: FAIL_EXISTS_VLM_DFN, which linstor-csi takes as done: %v", err)
	require.NoError(t, cli.Resources.RestoreSnapshot(ctx, "db", "snap1", lapi.SnapshotRestore{ToResource: "db-copy", Nodes: []string{"bravo"}}))
	eventually(t, 30*time.Second, "db-copy deployed", func() bool { return ready(t, c, "db-copy", 1) })
	require.Equal(t, map[string][32]byte{"bravo": then}, checksums(t, c, "db-copy"), "the restored volume holds the data of snapshot time")
	err = cli.Resources.RestoreSnapshot(ctx, "db", "snap1", lapi.SnapshotRestore{ToResource: "db-copy"})
	require.True(t, lapi.IsApiCallError(err, linstor.FailExistsRsc), "into a definition with resources: FAIL_EXISTS_RSC: %v", err)
	r, err := cli.Resources.Get(ctx, "db-copy", "bravo")
	require.NoError(t, err)
	require.NotContains(t, r.Flags, "RESTORE_FROM_SNAPSHOT", "the restore marks go once it is deployed")

	// Rollback: every replica has the snapshot's data again.
	require.NoError(t, cli.Resources.RollbackSnapshot(ctx, "db", "snap1"))
	eventually(t, 30*time.Second, "db deployed again", func() bool { return ready(t, c, "db", 3) })
	for node, sum := range checksums(t, c, "db") {
		require.Equal(t, then, sum, "replica on %s rolled back", node)
	}

	// The definition cannot go while it has snapshots.
	status, err := c.Do(ctx, http.MethodDelete, "/v1/resource-definitions/db", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, status)

	require.NoError(t, cli.Resources.DeleteSnapshot(ctx, "db", "snap1"))
	require.Empty(t, snapshotFiles(t, dirs), "no snapshot file is left on any node")
	var rcs []struct {
		RetCode int64  `json:"ret_code"`
		Message string `json:"message"`
	}
	status, err = c.Do(ctx, http.MethodDelete, "/v1/resource-definitions/db/snapshots/snap1", nil, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "deleting a snapshot that is gone is no error")
	require.Equal(t, signed(linstor.WarnNotFound|linstor.MaskDel|linstor.MaskSnapshot), rcs[0].RetCode)
	require.Equal(t, "Snapshot definition snap1 of resource db not found.", rcs[0].Message)
	_, err = cli.Resources.GetSnapshot(ctx, "db", "snap1")
	require.ErrorIs(t, err, lapi.NotFoundError)
}

// Bad input gets LINSTOR's answers and changes nothing.
func TestSnapshotBadInput(t *testing.T) {
	ctx := context.Background()
	c, _, _, cli := snapshotCluster(t)
	require.NoError(t, cli.Resources.CreateSnapshot(ctx, lapi.Snapshot{Name: "snap1", ResourceName: "db"}))
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code               uint64
		text               string
	}{
		{"duplicate", http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "SNAP1"}, 500, linstor.FailExistsSnapshotDfn | linstor.MaskCrt | linstor.MaskSnapshot,
			"A snapshot definition with the name 'SNAP1' already exists in resource definition 'db'."},
		{"bad name", http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "1x"}, 500, linstor.FailInvldSnapshotName | linstor.MaskCrt | linstor.MaskSnapshot, "Invalid snapshot name '1x'"},
		{"missing definition", http.MethodPost, "/v1/resource-definitions/nope/snapshots", map[string]any{"name": "s1"}, 404, linstor.FailNotFoundRscDfn | linstor.MaskCrt | linstor.MaskSnapshot, "Resource definition 'nope' not found."},
		{"missing snapshot", http.MethodGet, "/v1/resource-definitions/db/snapshots/nope", nil, 404, linstor.FailNotFoundSnapshot, "Snapshot 'nope' of resource 'db' not found."},
		{"restore into a missing definition", http.MethodPost, "/v1/resource-definitions/db/snapshot-restore-resource/snap1", map[string]any{"to_resource": "nope"}, 404, linstor.FailNotFoundRscDfn | linstor.MaskCrt | linstor.MaskRsc, "Resource definition 'nope' not found."},
		{"rollback to a missing snapshot", http.MethodPost, "/v1/resource-definitions/db/snapshot-rollback/nope", map[string]any{}, 404, linstor.FailNotFoundSnapshot | linstor.MaskMod | linstor.MaskSnapshot, "Snapshot 'nope' of resource 'db' not found."},
	} {
		var rcs []struct {
			RetCode int64  `json:"ret_code"`
			Message string `json:"message"`
		}
		status, err := c.Do(ctx, tc.method, tc.path, tc.body, &rcs)
		require.NoError(t, err)
		require.Equal(t, tc.status, status, "%s: %+v", tc.name, rcs)
		require.NotEmpty(t, rcs, tc.name)
		require.Equal(t, signed(tc.code), rcs[0].RetCode, "%s: %s", tc.name, rcs[0].Message)
		require.True(t, strings.HasPrefix(rcs[0].Message, tc.text), "%s: %s", tc.name, rcs[0].Message)
	}
	view, err := cli.Resources.GetSnapshotView(ctx)
	require.NoError(t, err)
	require.Len(t, view, 1, "refusals changed nothing")

	// The client's view of it.
	host := strings.TrimPrefix(c.URL, "http://")
	out, errOut, code := cliRun(t, []string{"LS_CONTROLLERS=" + host}, "snapshot", "list", "-r", "db")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "snap1")
	require.Contains(t, out, "Successful")
}

func mustURL(t testing.TB, raw string) *url.URL {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

// signed is a ret_code as JSON carries it.
func signed(code uint64) int64 { return int64(code) }

// Auto-snapshots on the definition's Temporal Schedule: setting
// AutoSnapshot/RunEvery takes one at once, each tick takes the next
// autoSnapNNNNN, AutoSnapshot/Keep deletes the oldest automatic ones (a
// manual one stays), and removing RunEvery removes the schedule. Requests
// for the same snapshot at once have one effect; different ones queue on
// the definition's lock and all succeed.
func TestAutoSnapshotsAndConcurrentCreates(t *testing.T) {
	ctx := context.Background()
	c, dirs, _, cli := snapshotCluster(t)
	tc := temporalClient(t, c)

	var wg sync.WaitGroup
	statuses, errs := make([]int, 8), make([]error, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "same"
			if i >= 4 {
				name = fmt.Sprintf("other%d", i)
			}
			statuses[i], errs[i] = c.Do(ctx, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": name}, nil)
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusCreated, s, "request %d", i)
	}
	flags := snapshotsSettled(t, c, dirs)
	require.Len(t, flags, 5, "one 'same' and four others: %v", flags)
	for name, f := range flags {
		require.Contains(t, f, "SUCCESSFUL", name)
	}

	autos := func() []string {
		var out []string
		view, err := cli.Resources.GetSnapshots(ctx, "db")
		require.NoError(t, err)
		for _, s := range view {
			if slices.Contains(s.Flags, "AUTO_SNAPSHOT") && slices.Contains(s.Flags, "SUCCESSFUL") {
				out = append(out, s.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	must(t, c, http.MethodPut, "/v1/resource-definitions/db", map[string]any{"override_props": map[string]string{"AutoSnapshot/RunEvery": "60", "AutoSnapshot/Keep": "2"}}, http.StatusOK)
	eventually(t, 60*time.Second, "the first auto-snapshot at once", func() bool { return slices.Equal(autos(), []string{"autoSnap00001"}) })
	schedule := tc.ScheduleClient().GetHandle(ctx, "auto-snapshot:db")
	desc, err := schedule.Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, time.Hour, desc.Schedule.Spec.Intervals[0].Every, "every RunEvery minutes")
	for _, want := range [][]string{{"autoSnap00001", "autoSnap00002"}, {"autoSnap00002", "autoSnap00003"}} {
		require.NoError(t, schedule.Trigger(ctx, client.ScheduleTriggerOptions{}), "a tick of the schedule")
		eventually(t, 60*time.Second, fmt.Sprint("auto-snapshots ", want), func() bool { return slices.Equal(autos(), want) })
	}
	_, err = cli.Resources.GetSnapshot(ctx, "db", "same")
	require.NoError(t, err, "a manual snapshot is never cleaned up")

	must(t, c, http.MethodPut, "/v1/resource-definitions/db", map[string]any{"delete_props": []string{"AutoSnapshot/RunEvery"}}, http.StatusOK)
	eventually(t, 60*time.Second, "the schedule is gone", func() bool {
		_, err := schedule.Describe(ctx)
		var nf *serviceerror.NotFound
		return errors.As(err, &nf)
	})
	snapshotsSettled(t, c, dirs)
}
