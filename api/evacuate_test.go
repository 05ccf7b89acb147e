package api

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// upToDate records what the DRBD kernel would report through an agent (the
// API tests run none): every volume of rd on the nodes is UpToDate.
func upToDate(t *testing.T, c *apiClient, rd string, nodes ...string) {
	for _, n := range nodes {
		require.NoError(t, c.store.SetVolumeActual(t.Context(), n, map[string]map[int32]store.VolumeActual{store.Key(rd): {0: {DiskState: "UpToDate"}}}))
	}
}

// finished waits for the operation id to finish and returns it.
func finished(t *testing.T, c *apiClient, id string) restapi.Operation {
	var op restapi.Operation
	require.Eventually(t, func() bool {
		c.get("/v1/operations/"+id, &op)
		return op.Finished
	}, 30*time.Second, 200*time.Millisecond, id)
	return op
}

// replicatedCluster is the guide's cluster with pvc-1 spawned from the
// group csi: UpToDate on alpha and bravo, charlie its tie-breaker.
func replicatedCluster(t *testing.T, c *apiClient) {
	cluster(c)
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		require.NoError(t, c.store.SetStoragePoolCapacity(t.Context(), n, "pool1", 50<<20, 100<<20, nil))
	}
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "csi", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/csi/volume-groups", `{}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/csi/spawn", `{"resource_definition_name": "pvc-1", "volume_sizes": [1048576]}`)
	require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "pvc-1"))
	upToDate(t, c, "pvc-1", "alpha", "bravo")
}

// node evacuate as golinstor's Nodes.Evacuate calls it: the replica moves
// to the node LINSTOR's rules pick (here the tie-breaker is given a
// disk), the old one goes once the new one is UpToDate, a second call
// joins the running evacuation, and the node stays EVACUATE until node
// restore.
func TestNodeEvacuate(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cli := c.golinstor()
		replicatedCluster(t, c)
		// A storage-only resource in a pool that takes no snapshots stays,
		// with LINSTOR's warning.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "local", "resource_group_name": "csi", "layer_data": [{"type": "STORAGE"}]}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/local/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/local/resources", `[{"resource": {"node_name": "alpha", "props": {"StorPoolName": "pool1"}}}]`)

		// Bad input changes nothing.
		c.fail(http.StatusNotFound, apicall.FailNotFound, http.MethodPut, "/v1/nodes/nobody/evacuate", `{}`)
		c.fail(http.StatusNotFound, apicall.FailNotFound, http.MethodPut, "/v1/nodes/alpha/evacuate", `{"target": ["nobody"]}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldNodeName, http.MethodPut, "/v1/nodes/alpha/evacuate", `{"do_not_target": ["not a name"]}`)
		rc := c.fail(http.StatusInternalServerError, apicall.MaskError, http.MethodPut, "/v1/nodes/alpha/restore", `{}`)
		require.Equal(t, "Node 'alpha' is neither evicted nor evacuated.", rc.Message)
		var n restapi.Node
		c.get("/v1/nodes/alpha", &n)
		require.NotContains(t, n.Flags, store.FlagEvacuate)

		require.NoError(t, cli.Nodes.Evacuate(ctx, "alpha", lapi.NodeEvacuate{}))
		c.get("/v1/nodes/alpha", &n)
		require.Contains(t, n.Flags, store.FlagEvacuate)
		id := workflows.NodeEvacuateID("alpha")
		require.Eventually(t, func() bool { return slices.Equal(placed(c, "pvc-1"), []string{"alpha", "bravo", "charlie"}) }, 20*time.Second, 100*time.Millisecond,
			"the tie-breaker gets a disk: %v", placed(c, "pvc-1"))
		var charlie restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/pvc-1/resources/charlie", &charlie)
		require.Equal(t, "alpha", charlie.Props[store.KeyMigrateFrom])
		require.Equal(t, "auto-placer", charlie.Props[store.KeyDiskfulBy])
		// Evacuate again while it waits for the sync: it joins.
		rcs := c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/alpha/evacuate?wait=false", nil)
		require.Equal(t, id, rcs[0].ObjRefs["WorkflowId"])
		require.Equal(t, []string{"alpha", "bravo", "charlie"}, placed(c, "pvc-1"), "no second replica")
		var op restapi.Operation
		c.get("/v1/operations/"+id, &op)
		require.False(t, op.Finished)
		require.Equal(t, 2, op.ItemsTotal)
		require.Contains(t, op.Current, "pvc-1")

		upToDate(t, c, "pvc-1", "charlie")
		op = finished(t, c, id)
		require.Equal(t, "done", op.State)
		var old restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/pvc-1/resources/alpha", &old)
		require.Contains(t, old.Flags, store.FlagDelete, "gone once its (offline) node removed it")
		c.get("/v1/resource-definitions/pvc-1/resources/charlie", &charlie)
		require.Empty(t, charlie.Props[store.KeyMigrateFrom])
		var texts []string
		for _, r := range op.Replies {
			texts = append(texts, r.Message)
		}
		all := strings.Join(texts, "\n")
		require.Contains(t, all, "Resource 'local' cannot be evacuated as it is not a DRBD resource")
		require.Contains(t, all, "Resource 'pvc-1' on node 'alpha' deleted: it moved to node 'charlie'.")
		require.Equal(t, []string{"alpha"}, placed(c, "local"))
		c.get("/v1/nodes/alpha", &n)
		require.Contains(t, n.Flags, store.FlagEvacuate, "until node delete or restore")

		// The evacuated node takes no new replicas.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/csi/spawn", `{"resource_definition_name": "pvc-2", "volume_sizes": [1048576]}`)
		require.NotContains(t, placed(c, "pvc-2"), "alpha")

		// Restore, deleting what can go: local is alpha's last diskful one.
		rcs = c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/alpha/restore", `{"delete_resources": true}`)
		texts = nil
		for _, r := range rcs {
			texts = append(texts, r.Message)
		}
		require.Contains(t, texts, "Not deleting resource local since it is the last non-deleting diskful resource of this resource-definition")
		require.Contains(t, texts, "Successfully restored node alpha")
		c.get("/v1/nodes/alpha", &n)
		require.NotContains(t, n.Flags, store.FlagEvacuate)
		var local restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/local/resources/alpha", &local)
		require.NotContains(t, local.Flags, store.FlagEvacuate)
	})
}

// toggle-disk --migrate-from as LINSTOR's client sends it (migrate-disk):
// the diskless resource gets a disk naming the old node in MigrateFrom,
// and the old one goes once the new one is UpToDate; what cannot migrate
// is refused with LINSTOR's texts and changes nothing.
func TestMigrateDisk(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	replicatedCluster(t, c)

	base := "/v1/resource-definitions/pvc-1/resources/"
	rc := c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, base+"bravo/migrate-disk/alpha", nil)
	require.Equal(t, "Resource 'pvc-1' on node 'bravo' already has a disk.", rc.Message)
	rc = c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, base+"charlie/migrate-disk/charlie", nil)
	require.Equal(t, "Resource 'pvc-1' on node 'charlie' has no disk to migrate from.", rc.Message)
	c.fail(http.StatusNotFound, apicall.FailNotFound+3, http.MethodPut, base+"nobody/migrate-disk/alpha", nil)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "local", "resource_group_name": "csi", "layer_data": [{"type": "STORAGE"}]}}`)
	rc = c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, "/v1/resource-definitions/local/resources/alpha/migrate-disk/bravo", nil)
	require.Equal(t, "Toggle disk is only supported in combination with DRBD", rc.Message)
	rc = c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, base+"charlie/toggle-disk", `{"operation": "SIDEWAYS"}`)
	require.Equal(t, "Unknown toggle-disk operation 'SIDEWAYS'.", rc.Message)
	rc = c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, base+"charlie/toggle-disk", `{"operation": "INTO_DRBD_DISKLESS", "migrate_from": "alpha"}`)
	require.Equal(t, "A disk can only be migrated into a diskful resource.", rc.Message)
	require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "pvc-1"), "refusals change nothing")

	// LINSTOR's newer body form of the same request.
	rcs := c.ok(http.StatusOK, http.MethodPut, base+"charlie/toggle-disk?wait=false", `{"migrate_from": "alpha", "storage_pool": "pool1"}`)
	id := rcs[0].ObjRefs["WorkflowId"]
	require.Equal(t, workflows.MigrateDiskID("pvc-1", "charlie"), id)
	require.Eventually(t, func() bool { return slices.Equal(placed(c, "pvc-1"), []string{"alpha", "bravo", "charlie"}) }, 20*time.Second, 100*time.Millisecond)
	var charlie restapi.ResourceWithVolumes
	c.get(base+"charlie", &charlie)
	require.Equal(t, "alpha", charlie.Props[store.KeyMigrateFrom])
	require.Equal(t, "user", charlie.Props[store.KeyDiskfulBy])
	var op restapi.Operation
	c.get("/v1/operations/"+id, &op)
	require.False(t, op.Finished, "waits for the new disk to be UpToDate")
	// As charlie's agent reports its sync from alpha: the operation and
	// the volume's state show how far it is.
	done := 42.5
	require.NoError(t, c.store.SetVolumeActual(t.Context(), "charlie", map[string]map[int32]store.VolumeActual{store.Key("pvc-1"): {0: {DiskState: "Inconsistent",
		ReplicationStates: map[string]store.ReplicationState{"alpha": {State: "SyncTarget", Done: &done}, "bravo": {State: "Established"}}}}}))
	require.Eventually(t, func() bool {
		c.get("/v1/operations/"+id, &op)
		return op.Percent == 42
	}, 10*time.Second, 100*time.Millisecond, "%+v", op)
	require.Contains(t, op.State, "Inconsistent, 42.5 % synced")
	c.get(base+"charlie", &charlie)
	require.Equal(t, &done, charlie.Volumes[0].State.ReplicationStates["alpha"].DonePercentage)
	require.Equal(t, "Established", charlie.Volumes[0].State.ReplicationStates["bravo"].ReplicationState)
	upToDate(t, c, "pvc-1", "charlie")
	op = finished(t, c, id)
	require.Equal(t, "done", op.State, "%+v", op.Replies)
	var old restapi.ResourceWithVolumes
	c.get(base+"alpha", &old)
	require.Contains(t, old.Flags, store.FlagDelete)
	c.get(base+"charlie", &charlie)
	require.Empty(t, charlie.Props[store.KeyMigrateFrom])
	c.ok(http.StatusOK, http.MethodPut, base+"bravo/toggle-disk", `{"operation": "INTO_DRBD_CLIENT"}`)
	var bravo restapi.ResourceWithVolumes
	c.get(base+"bravo", &bravo)
	require.Contains(t, bravo.Flags, "DRBD_DISKLESS", "a DRBD client is a diskless resource")
}

// A resource with nowhere to go (its tie-breaker's node excluded, no
// other node left) stays where it is, with LINSTOR's warning; the node is
// EVACUATE all the same.
func TestNodeEvacuateWithNowhereToGo(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	replicatedCluster(t, c)
	rcs := c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/alpha/evacuate?wait=false", `{"do_not_target": ["charlie"]}`)
	op := finished(t, c, rcs[0].ObjRefs["WorkflowId"])
	require.Equal(t, "done", op.State)
	var texts []string
	for _, r := range op.Replies {
		texts = append(texts, r.Message)
	}
	require.Contains(t, texts, "Resource 'pvc-1' cannot be evacuated as no available storage pool was found")
	require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "pvc-1"), "nothing changed")
	var alpha restapi.ResourceWithVolumes
	c.get("/v1/resource-definitions/pvc-1/resources/alpha", &alpha)
	require.NotContains(t, alpha.Flags, store.FlagDelete)
	var n restapi.Node
	c.get("/v1/nodes/alpha", &n)
	require.Contains(t, n.Flags, store.FlagEvacuate)
}
