package api

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/store"
)

// Bad input stops at the API the same on both databases: property keys
// and values beyond LINSTOR's lengths or with control characters, bodies
// over the limit (413, not a parse error), browser form and text bodies
// and requests from another site's page; nothing is stored.
func TestBadInputIsRefusedBeforeTheDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		raw := func(method, path, contentType, origin, body string) (int, apicall.RcList) {
			t.Helper()
			req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
			require.NoError(t, err)
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var rcs apicall.RcList
			require.NoError(t, json.Unmarshal(b, &rcs), "an ApiCallRc list, not %q", b)
			return resp.StatusCode, rcs
		}
		props := func(override map[string]string) string {
			b, err := json.Marshal(map[string]any{"override_props": override})
			require.NoError(t, err)
			return string(b)
		}
		for name, override := range map[string]map[string]string{
			"long key":         {"Aux/" + strings.Repeat("k", 100_000): "x"},
			"long value":       {"Aux/big": strings.Repeat("v", 5000)},
			"NUL in a value":   {"Aux/nul": "a\x00b"},
			"NUL in a key":     {"Aux/a\x00b": "x"},
			"newline in a key": {"Aux/a\nb": "x"},
		} {
			status, rcs := raw(http.MethodPost, "/v1/controller/properties", "application/json", "", props(override))
			require.Equal(t, http.StatusInternalServerError, status, name)
			require.Equal(t, apicall.FailInvldProp, uint64(rcs[0].RetCode)&^(apicall.MaskBitsOp|apicall.MaskBitsObj), "%s: %v", name, rcs)
			require.Less(t, len(rcs[0].Message), 300, "%s: the answer quotes the input clipped", name)
		}
		status, rcs := raw(http.MethodPut, "/v1/key-value-store/csi", "", "", props(map[string]string{"k": strings.Repeat("v", 4097)}))
		require.Equal(t, http.StatusInternalServerError, status)
		require.Equal(t, apicall.FailInvldProp, uint64(rcs[0].RetCode)&^(apicall.MaskBitsOp|apicall.MaskBitsObj))
		status, _ = raw(http.MethodDelete, "/v1/controller/properties/Aux/"+strings.Repeat("k", 10_000), "", "", "")
		require.Equal(t, http.StatusInternalServerError, status, "an over-long key is refused on delete too")

		status, rcs = raw(http.MethodPost, "/v1/controller/properties", "application/json", "", props(map[string]string{"Aux/huge": strings.Repeat("v", 2<<20)}))
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		require.Equal(t, "The request body is too large.", rcs[0].Message)

		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			status, _ := raw(http.MethodPost, "/v1/nodes", ct, "", `{"name": "evil", "type": "satellite", "net_interfaces": [{"name": "default", "address": "10.0.0.9"}]}`)
			require.Equal(t, http.StatusUnsupportedMediaType, status, ct)
		}
		status, rcs = raw(http.MethodPost, "/v1/nodes", "application/json", "http://evil.example", `{"name": "evil", "type": "satellite", "net_interfaces": [{"name": "default", "address": "10.0.0.9"}]}`)
		require.Equal(t, http.StatusForbidden, status)
		require.Contains(t, rcs[0].Message, "http://evil.example")

		var ctrl map[string]string
		c.get("/v1/controller/properties", &ctrl)
		for k := range ctrl {
			require.False(t, strings.HasPrefix(k, "Aux/"), "nothing was stored: %s", k)
		}
		var nodes []map[string]any
		c.get("/v1/nodes", &nodes)
		require.Empty(t, nodes)
		all, err := c.store.ListKeyValueStores(t.Context())
		require.NoError(t, err)
		require.Empty(t, all)

		// The page of the API's own host may call it; JSON with a charset is JSON.
		status, _ = raw(http.MethodPost, "/v1/controller/properties", "application/json; charset=utf-8", c.srv.URL, props(map[string]string{"Aux/ok": "yes"}))
		require.Equal(t, http.StatusCreated, status)
	})
}

// A client that sends its body too slowly (slowloris) is answered and
// cut off once huma's body read timeout (5 s) passes, not left holding
// the connection.
func TestSlowBodiesAreCutOff(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/controller/properties HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"override_")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "answered, not left waiting for the rest of the body")
	require.Less(t, time.Since(start), 10*time.Second)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
