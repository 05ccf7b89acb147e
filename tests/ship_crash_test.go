package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// Each of the four processes of a shipment to another cluster — the
// sending and the receiving controller, the sending and the receiving
// agent — killed at a random moment of it, three times each: every
// shipment ends Success or cleanly Failed; every one that succeeded
// arrived bit for bit (the received snapshot's file against the sent
// one's); the receiving cluster keeps no receive running, no snapshot
// half received and no received part.
func TestShipmentsSurviveCrashes(t *testing.T) {
	ctx := context.Background()
	src, srcDirs, srcAgents, cli := snapshotCluster(t)
	dst, dstDirs, dstAgents := threeNodeClusterIn(t, harness.ControllerOptions{}, harness.ReflinkDir(t, 1024))
	dstCli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, dst.URL)), lapi.HTTPClient(dst.HTTPClient()))
	require.NoError(t, err)
	must(t, src, http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "dst", "url": dst.URL}, http.StatusOK)
	must(t, dst, http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "src", "url": src.URL, "cluster_id": clusterID(t, src)}, http.StatusOK)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))

	kill := map[string]func(){
		"sending controller":   func() { src.Kill(); src.Start() },
		"receiving controller": func() { dst.Kill(); dst.Start() },
		"sending agent":        func() { srcAgents["alpha"].Kill(); srcAgents["alpha"].Start() },
		"receiving agent":      func() { dstAgents["bravo"].Kill(); dstAgents["bravo"].Start() },
	}
	succeeded := 0
	for _, what := range []string{"sending controller", "receiving controller", "sending agent", "receiving agent"} {
		for i := range 3 {
			if i%2 == 0 {
				fillVolume(t, src, "db", rng) // a full volume of new data
			} else {
				changeBlocks(t, src, "db", rng, 0.05)
			}
			snap := fmt.Sprintf("%s%d", strings.ReplaceAll(what, " ", "-"), i)
			id := start(t, src, http.MethodPost, "/v1/remotes/dst/backups/ship",
				map[string]any{"src_rsc_name": "db", "src_snap_name": snap, "src_node_name": "alpha", "dst_rsc_name": "db2", "dst_node_name": "bravo"})
			d := time.Duration(rng.IntN(1500)) * time.Millisecond
			time.Sleep(d)
			kill[what]()
			op := finished(t, src, id)
			sn, err := cli.Resources.GetSnapshot(ctx, "db", snap)
			require.NoError(t, err)
			status := sn.Props["BackupShipping/Source/dst/ShippingStatus"]
			t.Logf("shipment %s, %s killed after %v: %s, %s: %s", snap, what, d, op.State, status, op.Replies[len(op.Replies)-1].Message)
			if failed := op.snapshotFailed(); failed || op.State != "done" {
				if failed {
					require.Empty(t, status, "%s killed after %v: no shipment started", what, d)
				} else {
					require.Contains(t, []string{"Failed", "Aborted"}, status)
				}
				must(t, src, http.MethodDelete, "/v1/resource-definitions/db/snapshots/"+snap, nil, http.StatusOK)
				continue
			}
			require.Equal(t, "Success", status)
			succeeded++
			var got *lapi.Snapshot
			received, err := dstCli.Resources.GetSnapshots(ctx, "db2")
			require.NoError(t, err)
			for i := range received {
				if strings.HasPrefix(received[i].Name, snap+"_") {
					got = &received[i]
				}
			}
			require.NotNil(t, got, "%s is received", snap)
			require.Equal(t, "Success", got.Props["BackupShipping/Target/ShippingStatus"])
			sent := filepath.Join(srcDirs["alpha"], "db_00000@"+snap+".snap")
			size := fileSize(t, sent)
			require.Equal(t, fileSum(t, sent, size), fileSum(t, filepath.Join(dstDirs["bravo"], "db2_00000@"+got.Name+".snap"), size),
				"%s arrived bit for bit (%s killed after %v)", snap, what, d)
			// Only the newest stays on both sides, the next one's base: the
			// pools are small.
			dropSnapshotsBut(t, src, "db", snap)
			dropSnapshotsBut(t, dst, "db2", got.Name)
		}
	}
	require.GreaterOrEqual(t, succeeded, 9, "most shipments survive the crashes")

	// The receiving cluster settles: every snapshot successful or cleanly
	// failed, its files exactly those of the successful ones, no part.
	snapshotsSettled(t, dst, dstDirs)
	eventually(t, 30*time.Second, "no received part is left", func() bool {
		var partial []string
		for _, d := range dstDirs {
			p, err := filepath.Glob(filepath.Join(d, "*.partial*"))
			require.NoError(t, err)
			partial = append(partial, p...)
		}
		return len(partial) == 0
	})
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

// dropSnapshotsBut deletes every snapshot of rd except keep.
func dropSnapshotsBut(t *testing.T, c *harness.Controller, rd, keep string) {
	var snaps []struct {
		Name string `json:"name"`
	}
	_, err := c.Do(context.Background(), http.MethodGet, "/v1/resource-definitions/"+rd+"/snapshots", nil, &snaps)
	require.NoError(t, err)
	for _, s := range snaps {
		if s.Name != keep {
			must(t, c, http.MethodDelete, "/v1/resource-definitions/"+rd+"/snapshots/"+s.Name, nil, http.StatusOK)
		}
	}
}
