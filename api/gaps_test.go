package api

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/store"
)

func TestLinstorOperationsMatchTheDescription(t *testing.T) {
	var described [][2]string
	for path, item := range loadSpec(t).Paths.Map() {
		for method := range item.Operations() {
			described = append(described, [2]string{method, path})
		}
	}
	slices.SortFunc(described, func(a, b [2]string) int { return strings.Compare(a[1]+" "+a[0], b[1]+" "+b[0]) })
	require.Equal(t, len(described), len(linstorOperations), "linstor_operations.go lists every operation of LINSTOR's")
	for i := range described {
		require.Equal(t, described[i], linstorOperations[i], "linstor_operations.go lists LINSTOR's operations, sorted by path and method")
	}
}

// TestEveryLinstorPathAnswers walks LINSTOR's whole description: every
// operation is served or answers 501, each with LINSTOR's error list when
// it fails, and nothing answers a bare 404 or 405.
func TestEveryLinstorPathAnswers(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	unserved := 0
	for _, op := range linstorOperations {
		method, path := op[0], pathParameter.ReplaceAllString(op[1], "x")
		var body io.Reader
		if method != http.MethodGet && method != http.MethodDelete {
			body = strings.NewReader("{}")
		}
		req, err := http.NewRequest(method, c.srv.URL+path, body)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.NotEqual(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s: %s", method, path, out)
		if resp.StatusCode < 400 {
			continue
		}
		var rcs apicall.RcList
		require.NoError(t, json.Unmarshal(out, &rcs), "%s %s answered %d without LINSTOR's error list: %s", method, path, resp.StatusCode, out)
		require.NotEmpty(t, rcs, "%s %s", method, path)
		require.True(t, rcs[0].IsError(), "%s %s: %s", method, path, out)
		if resp.StatusCode == http.StatusNotImplemented {
			unserved++
			require.Contains(t, rcs[0].Message, "not implemented by Strata", "%s %s", method, path)
			continue
		}
		if resp.StatusCode >= 500 { // LINSTOR's status for most refusals; never an unknown error
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "%s %s: %s", method, path, out)
			require.NotEqual(t, apicall.FailUnknownError, uint64(rcs[0].RetCode)&(apicall.MaskError|apicall.MaskCode), "%s %s: %s", method, path, out)
		}
		if resp.StatusCode == http.StatusNotFound {
			require.NotContains(t, rcs[0].Message, "No such path", "%s %s is LINSTOR's and must be served or answer 501", method, path)
		}
	}
	t.Logf("%d of LINSTOR's %d operations answer 501", unserved, len(linstorOperations))

	for _, path := range []string{"/v1/no-such-thing", "/v2/nodes", "/"} {
		status, out := c.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusNotFound, status, path)
		var rcs apicall.RcList
		require.NoError(t, json.Unmarshal(out, &rcs), "%s: %s", path, out)
		require.Contains(t, rcs[0].Message, "No such path")
	}
	status, out := c.do(http.MethodPatch, "/v1/nodes", nil)
	require.Equal(t, http.StatusMethodNotAllowed, status, "%s", out)
	require.Contains(t, string(out), "not allowed")
}
