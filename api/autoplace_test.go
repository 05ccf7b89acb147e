package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
)

// placed lists the nodes holding rd, with (d) for diskless ones.
func placed(c *apiClient, rd string) []string {
	var rscs []restapi.ResourceWithVolumes
	c.get("/v1/resource-definitions/"+rd+"/resources", &rscs)
	var out []string
	for _, r := range rscs {
		n := r.NodeName
		for _, f := range r.Flags {
			if f == "DRBD_DISKLESS" {
				n += "(d)"
			}
		}
		out = append(out, n)
	}
	return out
}

func TestSpawnAndAutoplace(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("delta", "10.0.0.4"))
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/delta/storage-pools",
			`{"storage_pool_name": "pool1", "provider_kind": "FILE", "props": {"StorDriver/StorPoolName": "/var/lib/strata/pool1"}}`)
		for i, n := range []string{"alpha", "bravo", "charlie", "delta"} { // as the agents would report
			require.NoError(t, c.store.SetStoragePoolCapacity(t.Context(), n, "pool1", int64(40-10*i)<<20, 100<<20, nil))
		}
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/alpha", `{"override_props": {"Aux/site": "x"}}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/bravo", `{"override_props": {"Aux/site": "y"}}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/charlie", `{"override_props": {"Aux/site": "y"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "web", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/web/volume-groups", `{}`)

		// The CLI's request: linstor resource-group spawn web site1 10G.
		rcs := c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/web/spawn",
			`{"resource_definition_name": "site1", "volume_sizes": [10485760], "partial": false, "definitions_only": false, "select_filter": {}}`)
		require.Contains(t, messages(rcs), "successfully autoplaced on 2 nodes")
		require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "site1"), "MaxFreeSpace: the two pools with most free space, and a tie-breaker")
		var rd restapi.ResourceDefinition
		c.get("/v1/resource-definitions/site1", &rd)
		require.Equal(t, "web", rd.ResourceGroupName)
		require.EqualValues(t, 10485760, rd.VolumeDefinitions[0].SizeKib)

		// +1 adds a replica whatever the place count; a dry run shows it first.
		rcs = c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/site1/autoplace?dry_run=true", `{"select_filter": {"additional_place_count": 1}}`)
		require.Contains(t, rcs[0].Message, "would be placed on charlie")
		require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "site1"), "a dry run changes nothing")
		rcs = c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/site1/autoplace", `{"select_filter": {"additional_place_count": 1}}`)
		require.Equal(t, []string{"alpha", "bravo", "charlie"}, placed(c, "site1"), "the replica replaces the tie-breaker")
		require.NotContains(t, messages(rcs), "Tie breaker")
		rcs = c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/site1/autoplace", `{"diskless_on_remaining": null, "select_filter": {"place_count": 3}}`)
		require.Contains(t, rcs[0].Message, "nothing to place")

		// Replicas on the same site, and diskless on the rest.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/web/spawn",
			`{"resource_definition_name": "site2", "volume_sizes": [1048576], "select_filter": {"replicas_on_same": ["site"], "diskless_on_remaining": true}}`)
		require.Equal(t, []string{"alpha(d)", "bravo", "charlie", "delta(d)"}, placed(c, "site2"))

		// Refusals change nothing and say why each node was left out.
		rc := c.fail(http.StatusInternalServerError, apicall.FailNotEnoughNodes, http.MethodPost, "/v1/resource-groups/web/spawn",
			`{"resource_definition_name": "big", "volume_sizes": [1073741824], "select_filter": {"place_count": 3}}`)
		require.Contains(t, rc.Cause, "3 replicas wanted, 0 nodes can take one", "1 TiB is more than 20 times the thin pools' free space")
		require.Contains(t, rc.Details, "bravo: pool pool1 has")
		c.fail(http.StatusNotFound, apicall.FailNotFound+1, http.MethodGet, "/v1/resource-definitions/big", nil)
		c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPost, "/v1/resource-groups/web/spawn",
			`{"resource_definition_name": "two", "volume_sizes": [1024, 2048]}`)
		c.fail(http.StatusNotFound, apicall.FailNotFound+1, http.MethodGet, "/v1/resource-definitions/two", nil)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/web/spawn", `{"resource_definition_name": "two", "volume_sizes": [1024, 2048], "partial": true, "definitions_only": true}`)
		require.Empty(t, placed(c, "two"), "definitions only")
		c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPost, "/v1/resource-definitions/two/autoplace", `{"select_filter": {"not_place_with_rsc_regex": "("}}`)
		c.fail(http.StatusNotFound, apicall.FailNotFound+1, http.MethodPost, "/v1/resource-definitions/nope/autoplace", `{"select_filter": {}}`)
		// The weights and a pool's Autoplacer/MaxThroughput decide.
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/delta/storage-pools/pool1", `{"override_props": {"Autoplacer/MaxThroughput": "1000"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"Autoplacer/Weights/MaxFreeSpace": "0", "Autoplacer/Weights/MaxThroughput": "1"}}`)
		rcs = c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/two/autoplace?dry_run=true", `{"select_filter": {"place_count": 1}}`)
		require.Contains(t, rcs[0].Message, "would be placed on delta", "the only pool with throughput to give")
		for _, body := range []string{`{"select_filter": {"place_count": -1}}`, `{"select_filter": {"provider_list": ["TAPE"]}}`, `{"select_filter": {}, "layer_list": ["drbd", "drbd"]}`} {
			_, out := c.do(http.MethodPost, "/v1/resource-definitions/two/autoplace", body)
			require.Contains(t, string(out), "ret_code", "%s: %s", body, out)
			require.Empty(t, placed(c, "two"), body)
		}
	})
}

// messages joins the messages of a reply list.
func messages(l apicall.RcList) string {
	var b strings.Builder
	for _, rc := range l {
		b.WriteString(rc.Message + "\n")
	}
	return b.String()
}

func TestToggleDiskAndActivate(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "backups", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo", "flags": ["DRBD_DISKLESS"]}}]`)
		pool := func(node string) string {
			var r restapi.ResourceWithVolumes
			c.get("/v1/resource-definitions/backups/resources/"+node, &r)
			return r.Volumes[0].StoragePoolName
		}
		// The guide's commands: linstor resource toggle-disk bravo backups --storage-pool pool1, then --diskless.
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups/resources/bravo/toggle-disk/diskful/pool1", nil)
		require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "backups"), "diskful now; two replicas get a tie-breaker")
		require.Equal(t, "pool1", pool("bravo"))
		c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, "/v1/resource-definitions/backups/resources/bravo/toggle-disk/diskful", nil)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups/resources/bravo/toggle-disk/diskless", nil)
		require.Equal(t, "DfltDisklessStorPool", pool("bravo"))
		rc := c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodPut, "/v1/resource-definitions/backups/resources/alpha/toggle-disk/diskless", nil)
		require.Contains(t, rc.Message, "last diskful replica")
		require.Equal(t, "pool1", pool("alpha"), "refused: nothing changed")
		c.fail(http.StatusNotFound, apicall.FailNotFound+2, http.MethodPut, "/v1/resource-definitions/backups/resources/delta/toggle-disk/diskful", nil)

		c.ok(http.StatusOK, http.MethodPost, "/v1/resource-definitions/backups/resources/alpha/deactivate", nil)
		var r restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/backups/resources/alpha", &r)
		require.Contains(t, r.Flags, "INACTIVE")
		c.ok(http.StatusOK, http.MethodPost, "/v1/resource-definitions/backups/resources/alpha/activate", nil)
		c.get("/v1/resource-definitions/backups/resources/alpha", &r)
		require.NotContains(t, r.Flags, "INACTIVE")
	})
}
