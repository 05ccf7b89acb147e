package api

import (
	"errors"
	"net/http"
	"testing"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
)

// External files as golinstor and the linstor client send them, and
// LINSTOR's refusals of bad ones, which change nothing.
func TestExternalFiles(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cli := c.golinstor()
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "web"}}`)

		const file = "/v1/files/%2Fetc%2Fdrbd-reactor.d%2Fweb.toml"
		for _, tt := range []struct {
			status int
			code   uint64
			path   string
			body   string
		}{
			{http.StatusInternalServerError, apicall.FailInvldExtFileName, "/v1/files/etc%2Fweb.toml", `{"content": "eA=="}`},
			{http.StatusInternalServerError, apicall.FailInvldExtFileName, "/v1/files/%2Fetc%2F..%2Fshadow", `{"content": "eA=="}`},
			{http.StatusInternalServerError, apicall.FailInvldExtFileName, "/v1/files/%2Fetc%2Fa%0Ab", `{"content": "eA=="}`},
			{http.StatusInternalServerError, apicall.FailInvldExtFile, file, `{}`},
			{http.StatusInternalServerError, apicall.FailInvldExtFile, file, `{"content": "not base64!"}`},
			{http.StatusInternalServerError, apicall.FailInvldExtFile, file, `{"content": "eA==", "alt_suffixes": ["/../x"]}`},
			{http.StatusNotFound, apicall.FailNotFoundExtFile, "/v1/resource-definitions/web/files/%2Fetc%2Fdrbd-reactor.d%2Fweb.toml", ""},
		} {
			method := http.MethodPut
			if tt.body == "" {
				method = http.MethodPost
			}
			c.fail(tt.status, tt.code, method, tt.path, tt.body)
		}
		files, err := cli.Controller.GetExternalFiles(ctx)
		require.NoError(t, err)
		require.Empty(t, files)
		_, err = cli.Controller.GetExternalFile(ctx, "/etc/drbd-reactor.d/web.toml")
		require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
		rcs := c.ok(http.StatusOK, http.MethodDelete, file, nil)
		require.Equal(t, apicall.WarnNotFound|apicall.MaskDel|apicall.MaskExtFiles, uint64(rcs[0].RetCode))

		require.NoError(t, cli.Controller.ModifyExternalFile(ctx, "/etc/drbd-reactor.d/web.toml", lapi.ExternalFile{Content: []byte("[[promoter]]\n")}))
		// A change without content keeps it; suffixes are replaced.
		c.ok(http.StatusOK, http.MethodPut, file, `{"alt_suffixes": [".disabled"]}`)
		var got restapi.ExternalFile
		c.get(file, &got)
		require.Equal(t, restapi.ExternalFile{Path: "/etc/drbd-reactor.d/web.toml", Content: "W1twcm9tb3Rlcl1dCg==", AltSuffixes: []string{".disabled"}}, got)
		var all []restapi.ExternalFile
		c.get("/v1/files?content=true", &all)
		require.Equal(t, []restapi.ExternalFile{got}, all)

		c.fail(http.StatusNotFound, apicall.FailNotFound+1, http.MethodPost, "/v1/resource-definitions/nope/files/%2Fetc%2Fdrbd-reactor.d%2Fweb.toml", nil)
		require.NoError(t, cli.ResourceDefinitions.AttachExternalFile(ctx, "web", "/etc/drbd-reactor.d/web.toml"))
		rd, err := cli.ResourceDefinitions.Get(ctx, "web")
		require.NoError(t, err)
		require.Equal(t, "True", rd.Props["Files/etc/drbd-reactor.d/web.toml"])

		// The nodes' agents are offline here: nothing may be written, and
		// a node's file cannot be looked at.
		check, err := cli.Controller.CheckExternalFile(ctx, "/etc/drbd-reactor.d/web.toml", "alpha")
		require.NoError(t, err)
		require.False(t, check.Allowed)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("alpha", "10.0.0.1"))
		c.fail(http.StatusServiceUnavailable, apicall.FailNotConnected, http.MethodGet, file+"/status/alpha", nil)
		c.fail(http.StatusNotFound, apicall.FailNotFound, http.MethodGet, file+"/status/nope", nil)

		// Deleted: detached from every definition.
		require.NoError(t, cli.Controller.DeleteExternalFile(ctx, "/etc/drbd-reactor.d/web.toml"))
		rd, err = cli.ResourceDefinitions.Get(ctx, "web")
		require.NoError(t, err)
		require.NotContains(t, rd.Props, "Files/etc/drbd-reactor.d/web.toml")
	})
}
