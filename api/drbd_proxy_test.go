package api

import (
	"net/http"
	"slices"
	"testing"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/nodestate"
	"strata/restapi"
)

// drbd-proxy as the user guide shows it (enable between two nodes,
// options, compression) through golinstor, with what the nodes are then
// sent, and LINSTOR's refusals, which change nothing.
func TestDrbdProxy(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cli := c.golinstor()
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "backups", "layer_data": [{"type": "DRBD"}, {"type": "STORAGE"}]}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		for _, n := range []string{"alpha", "charlie"} {
			c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/resources", `[{"resource": {"node_name": "`+n+`", "props": {"StorPoolName": "pool1"}}}]`)
		}

		// Bad input changes nothing: delta holds no resource of backups.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("delta", "10.0.0.4"))
		c.fail(http.StatusNotFound, apicall.FailNotFound+2, http.MethodPost, "/v1/resource-definitions/backups/drbd-proxy/enable/alpha/delta", nil)
		c.fail(http.StatusInternalServerError, apicall.FailInvldDrbdProxyCompressionType, http.MethodPut, "/v1/resource-definitions/backups/drbd-proxy", `{"compression_type": "gzip"}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldProp, http.MethodPut, "/v1/resource-definitions/backups/drbd-proxy", `{"override_props": {"memlimit": "12"}}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldProp, http.MethodPut, "/v1/resource-definitions/backups/drbd-proxy", `{"compression_type": "zlib", "compression_props": {"level": "10"}}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldRscPort, http.MethodPost, "/v1/resource-definitions/backups/drbd-proxy/enable/alpha/charlie", `{"port": 70000}`)
		rd, err := cli.ResourceDefinitions.Get(ctx, "backups")
		require.NoError(t, err)
		require.NotContains(t, rd.Props, "DrbdProxy/CompressionType")

		require.NoError(t, cli.Resources.EnableDRBDProxy(ctx, "backups", "alpha", "charlie"))
		require.NoError(t, cli.Resources.ModifyDRBDProxy(ctx, "backups", lapi.DrbdProxyModify{
			GenericPropsModify: lapi.GenericPropsModify{OverrideProps: map[string]string{"memlimit": "100000000"}},
			CompressionType:    "zlib", CompressionProps: map[string]string{"level": "9"}}))
		var conn restapi.Connection
		c.get("/v1/resource-definitions/backups/resource-connections/alpha/charlie", &conn)
		require.Contains(t, conn.Flags, "LOCAL_DRBD_PROXY")
		require.NotNil(t, conn.DrbdProxyPortA)
		port := *conn.DrbdProxyPortA
		rd, err = cli.ResourceDefinitions.Get(ctx, "backups")
		require.NoError(t, err)
		require.Equal(t, "zlib", rd.Props["DrbdProxy/CompressionType"])
		require.Equal(t, "9", rd.Props["DrbdOptions/ProxyCompression/level"])
		require.Equal(t, "100000000", rd.Props["DrbdOptions/Proxy/memlimit"])
		var info map[string]map[string]string
		c.get("/v1/resource-definitions/backups/drbd-proxy/properties/info", &info)
		require.Contains(t, info, "DrbdOptions/Proxy/memlimit")

		// What alpha is sent: the proxied connection, options, compression.
		st, _, err := nodestate.Compile(ctx, c.store, "alpha")
		require.NoError(t, err)
		require.Len(t, st.Resources, 1)
		d := st.Resources[0].Drbd
		require.Equal(t, map[string]int32{"charlie": port}, d.Proxy)
		require.Equal(t, "zlib", d.ProxyCompression)
		require.Equal(t, "9", d.Options["DrbdOptions/ProxyCompression/level"])

		// A port of the pool is not handed out twice.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "other"}}`)
		other, err := cli.ResourceDefinitions.Get(ctx, "other")
		require.NoError(t, err)
		var otherPort struct {
			DrbdPort int32 `json:"drbd_port"`
		}
		c.get("/v1/resource-definitions/other", &otherPort)
		require.NotEqual(t, port, otherPort.DrbdPort, "%v", other)

		// Compression none drops the plug-in and its options; disable the proxy.
		require.NoError(t, cli.Resources.ModifyDRBDProxy(ctx, "backups", lapi.DrbdProxyModify{CompressionType: "none"}))
		require.NoError(t, cli.Resources.DisableDRBDProxy(ctx, "backups", "alpha", "charlie"))
		rd, err = cli.ResourceDefinitions.Get(ctx, "backups")
		require.NoError(t, err)
		require.NotContains(t, rd.Props, "DrbdProxy/CompressionType")
		require.NotContains(t, rd.Props, "DrbdOptions/ProxyCompression/level")
		st, _, err = nodestate.Compile(ctx, c.store, "alpha")
		require.NoError(t, err)
		require.Empty(t, st.Resources[0].Drbd.Proxy)
		c.get("/v1/resource-definitions/backups/resource-connections/alpha/charlie", &conn)
		require.NotContains(t, conn.Flags, "LOCAL_DRBD_PROXY")

		// The guide's automatic proxy: between nodes of different sites.
		for n, site := range map[string]string{"alpha": "A", "bravo": "A", "charlie": "B"} {
			c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/"+n, `{"override_props": {"Site": "`+site+`"}}`)
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"DrbdProxy/AutoEnable": "true"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "remote", "layer_data": [{"type": "DRBD"}, {"type": "STORAGE"}]}}`)
		for _, n := range []string{"alpha", "bravo", "charlie"} {
			c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/remote/resources", `[{"resource": {"node_name": "`+n+`", "props": {"StorPoolName": "pool1"}}}]`)
		}
		proxied := map[string]bool{}
		var remote []restapi.Connection
		c.get("/v1/resource-definitions/remote/resource-connections", &remote)
		for _, rc := range remote {
			if slices.Contains(rc.Flags, "LOCAL_DRBD_PROXY") {
				require.NotNil(t, rc.DrbdProxyPortA)
				proxied[rc.NodeA+"-"+rc.NodeB] = true
			}
		}
		require.Equal(t, map[string]bool{"alpha-charlie": true, "bravo-charlie": true}, proxied, "only the connections between the sites")
	})
}
