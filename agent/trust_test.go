package agent

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/agent/proto"
)

// An agent obeys only its cluster's controllers: the first token is
// trusted (and kept across restarts), any other request is refused, even
// one with a huge generation; health checks stay open. A token given by
// the operator is the only one from the start.
func TestAgentObeysOnlyItsController(t *testing.T) {
	file := filepath.Join(t.TempDir(), "trust", "controller-token")
	serve := func(trust *Trust) *httptest.Server {
		a := newAgent()
		a.Trust = trust
		srv := httptest.NewServer(a.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	call := func(srv *httptest.Server, method, path, token string) int {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	srv := serve(&Trust{File: file})
	require.Equal(t, http.StatusOK, call(srv, http.MethodGet, "/health", ""))
	require.Equal(t, http.StatusUnauthorized, call(srv, http.MethodGet, proto.PathInfo, ""), "no token, no answer")
	require.Equal(t, http.StatusOK, call(srv, http.MethodGet, proto.PathInfo, "cluster-one"), "trusted on first use")
	require.Equal(t, http.StatusUnauthorized, call(srv, http.MethodGet, proto.PathInfo, "stranger"))
	require.Equal(t, http.StatusUnauthorized, call(srv, http.MethodPut, proto.PathNodeState, "stranger"), "a stranger pushes no state")
	require.FileExists(t, file)
	require.NotContains(t, string(readFile(t, file)), "cluster-one", "only the token's fingerprint is kept")

	restarted := serve(&Trust{File: file})
	require.Equal(t, http.StatusUnauthorized, call(restarted, http.MethodGet, proto.PathInfo, "stranger"), "the trust survives a restart")
	require.Equal(t, http.StatusOK, call(restarted, http.MethodGet, proto.PathInfo, "cluster-one"))

	given := serve(&Trust{Token: "operator-given", File: filepath.Join(t.TempDir(), "controller-token")})
	require.Equal(t, http.StatusUnauthorized, call(given, http.MethodGet, proto.PathInfo, "cluster-one"), "a given token is the only one, even first")
	require.Equal(t, http.StatusOK, call(given, http.MethodGet, proto.PathInfo, "operator-given"))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
