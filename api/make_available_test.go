package api

import (
	"errors"
	"net/http"
	"testing"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/LINBIT/golinstor/devicelayerkind"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
)

// make-available as linstor-csi's ControllerPublishVolume calls it
// (golinstor's Resources.MakeAvailable), with LINSTOR's outcomes.
func TestMakeAvailable(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cli := c.golinstor()
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("delta", "10.0.0.4"))
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("echo", "10.0.0.5")) // no storage pool
		for _, n := range []string{"alpha", "bravo", "charlie"} {
			require.NoError(t, c.store.SetStoragePoolCapacity(ctx, n, "pool1", 50<<20, 100<<20, nil))
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "csi", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/csi/volume-groups", `{}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/csi/spawn", `{"resource_definition_name": "pvc-1", "volume_sizes": [1048576]}`)
		require.Equal(t, []string{"alpha", "bravo", "charlie(d)"}, placed(c, "pvc-1"), "two replicas and auto-quorum's tie-breaker")

		// The tie-breaker attached to stays, as a wanted diskless resource.
		require.NoError(t, cli.Resources.MakeAvailable(ctx, "pvc-1", "charlie", lapi.ResourceMakeAvailable{}))
		var r restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/pvc-1/resources/charlie", &r)
		require.Contains(t, r.Flags, "DRBD_DISKLESS")
		require.NotContains(t, r.Flags, "TIE_BREAKER")
		// A node without the resource gets it diskless: DRBD, with diskful
		// peers; charlie is no tie-breaker that auto-quorum could drop now.
		require.NoError(t, cli.Resources.MakeAvailable(ctx, "pvc-1", "echo", lapi.ResourceMakeAvailable{Diskful: false}))
		require.Equal(t, []string{"alpha", "bravo", "charlie(d)", "echo(d)"}, placed(c, "pvc-1"))
		// Again: nothing to do.
		rcs := c.ok(http.StatusOK, http.MethodPost, "/v1/resource-definitions/pvc-1/resources/echo/make-available", `{"diskful": false}`)
		require.Equal(t, "Resource already deployed as requested", rcs[0].Message)
		// Diskful asked: the diskless resource is toggled.
		require.NoError(t, cli.Resources.MakeAvailable(ctx, "pvc-1", "charlie", lapi.ResourceMakeAvailable{Diskful: true}))
		require.Equal(t, []string{"alpha", "bravo", "charlie", "echo(d)"}, placed(c, "pvc-1"))
		// Deactivated: made available is activated.
		c.ok(http.StatusOK, http.MethodPost, "/v1/resource-definitions/pvc-1/resources/bravo/deactivate", nil)
		require.NoError(t, cli.Resources.MakeAvailable(ctx, "pvc-1", "bravo", lapi.ResourceMakeAvailable{}))
		c.get("/v1/resource-definitions/pvc-1/resources/bravo", &r)
		require.NotContains(t, r.Flags, "INACTIVE")

		// Storage only: a new resource is diskful, in the pool the autoplacer picks.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "local", "resource_group_name": "csi", "layer_data": [{"type": "STORAGE"}]}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/local/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		require.NoError(t, cli.Resources.MakeAvailable(ctx, "local", "alpha", lapi.ResourceMakeAvailable{}))
		c.get("/v1/resource-definitions/local/resources/alpha", &r)
		require.Equal(t, "pool1", r.Volumes[0].StoragePoolName)
		require.Equal(t, []string{"alpha"}, placed(c, "local"))

		// Refusals change nothing. A node with no pool that fits answers
		// LINSTOR's not-found, on which linstor-csi falls back.
		err := cli.Resources.MakeAvailable(ctx, "local", "echo", lapi.ResourceMakeAvailable{})
		require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
		rc := c.fail(http.StatusNotFound, apicall.FailNotFound+10, http.MethodPost, "/v1/resource-definitions/local/resources/echo/make-available", `{}`)
		require.Equal(t, "Autoplacer could not find diskful stor pool on node echo matching resource-groups autoplace-settings", rc.Message)
		c.fail(http.StatusNotFound, apicall.FailNotFound+1, http.MethodPost, "/v1/resource-definitions/nope/resources/alpha/make-available", `{}`)
		c.fail(http.StatusNotFound, apicall.FailNotFound, http.MethodPost, "/v1/resource-definitions/local/resources/nobody/make-available", `{}`)
		err = cli.Resources.MakeAvailable(ctx, "local", "bravo", lapi.ResourceMakeAvailable{LayerList: []devicelayerkind.DeviceLayerKind{devicelayerkind.Drbd, devicelayerkind.Storage}})
		require.True(t, lapi.IsApiCallError(err, linstor.FailInvldLayerStack), "%v", err)
		c.fail(http.StatusInternalServerError, apicall.FailInvldLayerStack, http.MethodPost, "/v1/resource-definitions/local/resources/bravo/make-available", `{"layer_list": ["bogus"]}`)
		require.Equal(t, []string{"alpha"}, placed(c, "local"))
		require.Equal(t, []string{"alpha", "bravo", "charlie", "echo(d)"}, placed(c, "pvc-1"))
	})
}
