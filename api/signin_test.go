package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/ldapauth"
	"strata/store"
	"strata/tests/harness"
)

// LDAP sign-in on the REST API, against a real slapd: LINSTOR's [ldap]
// with the guide's group filter.
func TestLDAPSignIn(t *testing.T) {
	ds := harness.StartSlapd(t)
	alicePassword, bobPassword := harness.Secret("alice-Tr0ub4dor"), harness.Secret("bob-c0rrect-h0rse")
	alice := ds.AddUser(t, "alice", alicePassword)
	ds.AddUser(t, "bob", bobPassword)
	group := ds.AddGroup(t, "storage-services", alice)
	cfg := ldapauth.Config{Enabled: true, URI: ds.URI, DN: "uid={user},ou=people," + ds.BaseDN,
		SearchBase: ds.BaseDN, SearchFilter: "(&(uid={user})(memberOf=" + group + "))"}

	st, err := store.Open(t.Context(), store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	serve := func(cfg ldapauth.Config, logged io.Writer) *httptest.Server {
		d := operationsDeps(t, st)
		d.LDAP = ldapauth.New(cfg)
		d.Log = slog.New(slog.NewTextHandler(logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv := httptest.NewServer(New(d))
		t.Cleanup(srv.Close)
		return srv
	}
	var logged bytes.Buffer
	srv := serve(cfg, &logged)

	send := func(method, path, authorization string, body any) (int, http.Header, apicall.RcList) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		require.NoError(t, err)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var rcs apicall.RcList
		if resp.StatusCode >= 400 {
			require.NoError(t, json.Unmarshal(raw, &rcs), "an ApiCallRc list: %s", raw)
			require.Len(t, rcs, 1)
		}
		return resp.StatusCode, resp.Header, rcs
	}
	basic := func(user, password string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
	node := map[string]any{"name": "n1", "type": "SATELLITE", "net_interfaces": []map[string]any{{"name": "default", "address": "10.0.0.1", "satellite_port": 3366, "satellite_encryption_type": "PLAIN"}}}

	// The trivial things answer anyone.
	status, _, _ := send("GET", "/v1/controller/version", "", nil)
	require.Equal(t, http.StatusOK, status)

	// Without credentials: 401, for reads and writes, and nothing is made.
	for _, req := range []struct{ method, path string }{{"GET", "/v1/nodes"}, {"POST", "/v1/nodes"}, {"GET", "/metrics"}} {
		status, header, rcs := send(req.method, req.path, "", node)
		require.Equal(t, http.StatusUnauthorized, status, req.path)
		require.Equal(t, `Basic realm="linstor-controller"`, header.Get("WWW-Authenticate"))
		require.Equal(t, apicall.FailSignInMissing, uint64(rcs[0].RetCode))
		require.Equal(t, "Login required but no 'Authorization' header given.", rcs[0].Message)
	}
	// A wrong password: 401 with LINSTOR's sign-in failure.
	status, _, rcs := send("POST", "/v1/nodes", basic("alice", "wrong"), node)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, apicall.FailSignIn, uint64(rcs[0].RetCode))
	require.Equal(t, "Sign-in failed: Invalid sign in credentials", rcs[0].Message)
	// A scheme other than Basic.
	status, _, rcs = send("GET", "/v1/nodes", "Bearer abc", nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, apicall.FailInvldEncryptType, uint64(rcs[0].RetCode))
	// Bob is who he says, but not in the group: 403.
	status, _, rcs = send("POST", "/v1/nodes", basic("bob", bobPassword), node)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "Sign-in failed: LDAP search filter didn't find a match.", rcs[0].Message)
	nodes, err := st.ListNodes(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, nodes, "no refused request changed anything")

	// golinstor with alice's credentials (linstor-csi's LS_USERNAME and
	// LS_PASSWORD) works; without, it gets LINSTOR's error.
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	cli, err := lapi.NewClient(lapi.BaseURL(u), lapi.BasicAuth(&lapi.BasicAuthCfg{Username: "alice", Password: alicePassword}))
	require.NoError(t, err)
	require.NoError(t, cli.Nodes.Create(t.Context(), lapi.Node{Name: "n1", Type: "satellite", NetInterfaces: []lapi.NetInterface{{Name: "default", Address: net.ParseIP("10.0.0.1"), SatellitePort: 3366, SatelliteEncryptionType: "plain"}}}))
	got, err := cli.Nodes.GetAll(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 1)
	conf, err := cli.Controller.GetConfig(t.Context())
	require.NoError(t, err)
	require.Equal(t, lapi.ControllerConfigLdap{Enabled: true, Uri: ds.URI, Dn: cfg.DN, SearchBase: ds.BaseDN, SearchFilter: cfg.SearchFilter}, conf.Ldap)
	anonymous, err := lapi.NewClient(lapi.BaseURL(u), lapi.BasicAuth(&lapi.BasicAuthCfg{}))
	require.NoError(t, err)
	_, err = anonymous.Nodes.GetAll(t.Context())
	require.True(t, lapi.IsApiCallError(err, linstor.FailSignInMissingCredentials), "golinstor reads the code: %v", err)

	// The request log names the user and holds no password.
	require.Contains(t, logged.String(), "user=alice")
	harness.NoSecret(t, "the request log", logged.String())
	require.NotContains(t, logged.String(), base64.StdEncoding.EncodeToString([]byte("alice:"+alicePassword)))

	// allow_public_access: reads without credentials, writes still not.
	cfg.AllowPublicAccess = true
	srv = serve(cfg, io.Discard)
	status, _, _ = send("GET", "/v1/nodes", "", nil)
	require.Equal(t, http.StatusOK, status)
	status, _, rcs = send("DELETE", "/v1/nodes/n1", "", nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, apicall.FailSignInMissing, uint64(rcs[0].RetCode))
	require.True(t, strings.Contains(rcs[0].Correction, "--user"))

	// An unreachable directory is said so (503), not a wrong password.
	ds.Stop()
	status, _, rcs = send("GET", "/v1/nodes", basic("carol", "x"), nil)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, rcs[0].Message, "could not be asked")
}
