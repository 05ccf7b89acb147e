package api

import (
	"errors"
	"net/http"
	"testing"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/apicall"
)

// Key-value stores as golinstor (linstor-csi, the Proxmox plug-in) uses
// them: created by the first change, gone with their last property.
func TestKeyValueStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cli := c.golinstor()

		all, err := cli.KeyValueStore.List(ctx)
		require.NoError(t, err)
		require.Empty(t, all)
		_, err = cli.KeyValueStore.Get(ctx, "csi-state")
		require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
		rc := c.fail(http.StatusNotFound, apicall.FailNotFoundKvs, http.MethodGet, "/v1/key-value-store/csi-state", nil)
		require.Equal(t, "Could not find key value store instance 'csi-state'.", rc.Message)

		require.NoError(t, cli.KeyValueStore.CreateOrModify(ctx, "Csi-State", lapi.GenericPropsModify{OverrideProps: map[string]string{
			"volumes/pvc-1": `{"fs":"ext4"}`, "volumes/pvc-2": "x", "owner": "csi"}}))
		kv, err := cli.KeyValueStore.Get(ctx, "csi-state") // names match without regard to case
		require.NoError(t, err)
		require.Equal(t, "Csi-State", kv.Name)
		require.Equal(t, map[string]string{"volumes/pvc-1": `{"fs":"ext4"}`, "volumes/pvc-2": "x", "owner": "csi"}, kv.Props)

		require.NoError(t, cli.KeyValueStore.CreateOrModify(ctx, "csi-state", lapi.GenericPropsModify{DeleteNamespaces: []string{"volumes"}}))
		kv, err = cli.KeyValueStore.Get(ctx, "csi-state")
		require.NoError(t, err)
		require.Equal(t, map[string]string{"owner": "csi"}, kv.Props)

		require.NoError(t, cli.KeyValueStore.CreateOrModify(ctx, "proxmox", lapi.GenericPropsModify{OverrideProps: map[string]string{"a": "1"}}))
		all, err = cli.KeyValueStore.List(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)

		// the last property deleted takes the store with it, as in LINSTOR
		require.NoError(t, cli.KeyValueStore.CreateOrModify(ctx, "proxmox", lapi.GenericPropsModify{DeleteProps: []string{"a"}}))
		_, err = cli.KeyValueStore.Get(ctx, "proxmox")
		require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)

		require.NoError(t, cli.KeyValueStore.Delete(ctx, "csi-state"))
		all, err = cli.KeyValueStore.List(ctx)
		require.NoError(t, err)
		require.Empty(t, all)
		rcs := c.ok(http.StatusOK, http.MethodDelete, "/v1/key-value-store/csi-state", nil)
		require.Equal(t, apicall.WarnNotFound, uint64(rcs[0].RetCode))

		// bad input changes nothing
		err = cli.KeyValueStore.CreateOrModify(ctx, "-bad", lapi.GenericPropsModify{OverrideProps: map[string]string{"a": "1"}})
		require.True(t, lapi.IsApiCallError(err, linstor.FailInvldKvsName), "%v", err)
		c.fail(http.StatusInternalServerError, apicall.FailInvldProp, http.MethodPut, "/v1/key-value-store/good", `{"override_props": {"/abs": "1"}}`)
		c.fail(http.StatusBadRequest, apicall.APICallParseError&apicall.MaskCode, http.MethodPut, "/v1/key-value-store/good", `{"override_props": []}`)
		all, err = cli.KeyValueStore.List(ctx)
		require.NoError(t, err)
		require.Empty(t, all)
	})
}
