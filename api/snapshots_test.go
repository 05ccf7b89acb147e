package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

// Snapshot answers match LINSTOR's description (every answer is checked
// against it) and the fields linstor-csi reads; refusals come before
// anything changes. The agents are not running here: a create is refused
// as LINSTOR refuses one without a diskful online node, and the snapshot
// the lists show is recorded in the store.
func TestSnapshotAnswers(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := context.Background()
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "db", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/volume-definitions", `{"volume_definition": {"size_kib": 1024, "props": {"Aux/csi-volume-name": "pvc-1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo"}}]`)

		rc := c.fail(http.StatusInternalServerError, apicall.FailSnapshotsNotSupported, http.MethodPost, "/v1/resource-definitions/db/snapshots", `{"name": "s1"}`)
		require.Equal(t, "Storage driver 'FILE_THIN' does not support snapshots.", rc.Message, "no agent has probed the pools for reflinks")
		yes := true
		for _, n := range []string{"alpha", "bravo"} {
			require.NoError(t, c.store.SetStoragePoolCapacity(ctx, n, "pool1", 1<<20, 1<<20, &yes))
		}
		rc = c.fail(http.StatusInternalServerError, apicall.FailNotConnected, http.MethodPost, "/v1/actions/snapshot/multi", `{"snapshots": [{"name": "s1", "resource_name": "db"}]}`)
		require.Equal(t, "No diskful connected satellite for snapshot or no resources.", rc.Message)
		c.fail(http.StatusInternalServerError, apicall.FailInvldSnapshotName, http.MethodPost, "/v1/resource-definitions/db/snapshots", `{"name": "-x"}`)
		c.fail(http.StatusNotFound, apicall.FailNotFound+1, http.MethodGet, "/v1/resource-definitions/nope/snapshots", nil)
		var none []restapi.Snapshot
		c.get("/v1/view/snapshots", &none)
		require.Empty(t, none, "refusals changed nothing")

		ref := store.SnapshotRef{Resource: "db", Snapshot: "s1"}
		_, err := c.store.CreateSnapshots(ctx, []store.SnapshotSpec{{Resource: "db", Name: "s1", Props: map[string]string{"Aux/origin": "test"}}}, store.NodeAvailability{})
		require.NoError(t, err)
		require.NoError(t, c.store.FinishSnapshots(ctx, store.SnapshotSuccessful, 1700000000123, ref))
		var view []restapi.Snapshot
		c.get("/v1/view/snapshots?nodes=bravo&resources=DB", &view)
		require.Len(t, view, 1)
		sn := view[0]
		require.Equal(t, "s1", sn.Name)
		require.Equal(t, "db", sn.ResourceName)
		require.Equal(t, []string{"SUCCESSFUL"}, sn.Flags)
		require.Equal(t, []string{"alpha", "bravo"}, sn.Nodes)
		require.EqualValues(t, 1024, sn.VolumeDefinitions[0].SizeKib)
		require.Equal(t, "pvc-1", sn.VolumeDefinitions[0].VolumeDefinitionProps["Aux/csi-volume-name"])
		require.EqualValues(t, 1700000000123, sn.Snapshots[0].CreateTimestamp)
		require.Equal(t, "test", sn.SnapshotDefinitionProps["Aux/origin"])
		require.Equal(t, "pool1", sn.ResourceDefinitionProps["StorPoolName"])
		var one restapi.Snapshot
		c.get("/v1/resource-definitions/db/snapshots/S1", &one)
		require.Equal(t, sn.UUID, one.UUID)
		var listed []restapi.Snapshot
		c.get("/v1/resource-definitions/db/snapshots?limit=1&offset=0", &listed)
		require.Len(t, listed, 1)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/db/snapshots/s1", `{"override_props": {"Aux/note": "kept"}}`)
		c.get("/v1/view/snapshots", &view)
		require.Equal(t, "kept", view[0].SnapshotDefinitionProps["Aux/note"], "the kept view follows the change")

		c.fail(http.StatusNotFound, apicall.FailNotFoundSnapshot, http.MethodGet, "/v1/resource-definitions/db/snapshots/nope", nil)
		rcs := c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-definitions/db/snapshots/nope", nil)
		warn := apicall.WarnNotFound | apicall.MaskDel | apicall.MaskSnapshot
		require.Equal(t, int64(warn), rcs[0].RetCode, "deleting a missing snapshot is a warning")
		c.fail(http.StatusInternalServerError, apicall.FailExistsSnapshotDfn, http.MethodDelete, "/v1/resource-definitions/db", nil)
	})
}
