package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// The REST API over HTTPS with client certificates ([https] with
// client_ca, LINSTOR's restricted client access): golinstor and strata
// with a certificate of the CA are served; a client without one, or with
// one of another CA, is refused in the handshake; plain HTTP redirects to
// HTTPS, as LINSTOR's does.
func TestRestAPIOverHTTPSWithClientCertificates(t *testing.T) {
	ctx := context.Background()
	ours, strangers := newPKI(t, "strata"), newPKI(t, "stranger")
	port := harness.FreePort(t)
	c := harness.StartController(t, harness.ControllerOptions{Config: fmt.Sprintf(
		"[https]\nport = %d\nlisten_addr = \"127.0.0.1\"\ncertificate = %q\nprivate_key = %q\nclient_ca = %q\n", port, ours.serverCert, ours.serverKey, ours.ca)})
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(ours.ca)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	client := func(p *pki) *http.Client {
		tc := &tls.Config{RootCAs: pool}
		if p != nil {
			cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
			require.NoError(t, err)
			tc.Certificates = []tls.Certificate{cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}

	u, err := url.Parse(base)
	require.NoError(t, err)
	cli, err := lapi.NewClient(lapi.BaseURL(u), lapi.HTTPClient(client(&ours)))
	require.NoError(t, err)
	err = cli.Nodes.Create(ctx, lapi.Node{Name: "alpha", Type: "satellite", NetInterfaces: []lapi.NetInterface{{Name: "default", Address: net.ParseIP("10.0.0.1"), SatellitePort: 3366}}})
	require.NoError(t, err)
	nodes, err := cli.Nodes.GetAll(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 1)

	for name, hc := range map[string]*http.Client{"no certificate": client(nil), "another CA's": client(&strangers)} {
		_, err := hc.Get(base + "/v1/nodes")
		require.Error(t, err, "%s: refused in the handshake", name)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(c.URL + "/v1/nodes?limit=1")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	require.Equal(t, base+"/v1/nodes?limit=1", resp.Header.Get("Location"))

	// strata, as LINSTOR's client is called: --controllers, --certfile, --keyfile, --cafile.
	out, errOut, code := cliRun(t, nil, "--controllers", strings.TrimPrefix(base, "https://"), "--certfile", ours.clientCert, "--keyfile", ours.clientKey, "--cafile", ours.ca, "node", "list")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "alpha")
}

// LDAP sign-in with the real controller over HTTPS, the combination the
// guide recommends: strata as the linstor client is called (--user,
// --password), a real slapd behind it, and no password in any log.
func TestLDAPSignInOverHTTPS(t *testing.T) {
	ds := harness.StartSlapd(t)
	password := harness.Secret("alice-0ver-https")
	alice := ds.AddUser(t, "alice", password)
	group := ds.AddGroup(t, "storage-services", alice)
	ours := newPKI(t, "strata")
	port := harness.FreePort(t)
	c := harness.StartController(t, harness.ControllerOptions{Config: fmt.Sprintf(
		"[https]\nport = %d\nlisten_addr = \"127.0.0.1\"\ncertificate = %q\nprivate_key = %q\n"+
			"[ldap]\nenabled = true\nuri = %q\ndn = \"uid={user},ou=people,%s\"\nsearch_base = %q\nsearch_filter = \"(&(uid={user})(memberOf=%s))\"\n",
		port, ours.serverCert, ours.serverKey, ds.URI, ds.BaseDN, ds.BaseDN, group)})
	controller := fmt.Sprintf("linstor+ssl://127.0.0.1:%d", port)

	out, errOut, code := cliRun(t, nil, "--controllers", controller, "--cafile", ours.ca, "--user", "alice", "--password", password,
		"node", "create", "alpha", "10.0.0.1")
	require.Zero(t, code, "%s%s", out, errOut)
	out, errOut, code = cliRun(t, []string{"LS_PASSWORD=" + password}, "--controllers", controller, "--cafile", ours.ca, "--user", "alice", "node", "list")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "alpha")

	out, errOut, code = cliRun(t, nil, "--controllers", controller, "--cafile", ours.ca, "node", "list")
	require.NotZero(t, code)
	require.Contains(t, out+errOut, "Login required but no 'Authorization' header given.")
	out, errOut, code = cliRun(t, nil, "--controllers", controller, "--cafile", ours.ca, "--user", "alice", "--password", "wrong", "node", "delete", "alpha")
	require.NotZero(t, code)
	require.Contains(t, out+errOut, "Sign-in failed: Invalid sign in credentials")

	// The client keeps a password off plain HTTP unless told otherwise.
	_, errOut, code = cliRun(t, nil, "--controllers", strings.TrimPrefix(c.URL, "http://"), "--user", "alice", "--password", password, "node", "list")
	require.NotZero(t, code)
	require.Contains(t, errOut, "--allow-insecure-auth")
	// The controller's log (checked for secrets when the test ends) names alice.
	require.Eventually(t, func() bool {
		return strings.Contains(c.Log(), "user=alice") || strings.Contains(c.Log(), `"user":"alice"`)
	}, 10*time.Second, 100*time.Millisecond)
}
