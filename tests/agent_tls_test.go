package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// pki writes a CA and, signed by it, a certificate for 127.0.0.1 (the
// agent's) and one for a client (the controller's), as PEM files.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t testing.TB, name string) pki {
	dir := t.TempDir()
	write := func(file, kind string, der []byte) string {
		path := filepath.Join(dir, file)
		require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
		return path
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return der, keyDER
	}
	sDER, sKey := leaf(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cDER, cKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	return pki{ca: write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("agent.pem", "CERTIFICATE", sDER), serverKey: write("agent-key.pem", "EC PRIVATE KEY", sKey),
		clientCert: write("controller.pem", "CERTIFICATE", cDER), clientKey: write("controller-key.pem", "EC PRIVATE KEY", cKey)}
}

// Nodes of communication type SSL are reached by mutual TLS: an agent with
// a certificate of the controller's CA is online; one of another CA, or
// one declared PLAIN, is not.
func TestAgentsOverMutualTLS(t *testing.T) {
	ours, theirs := newPKI(t, "cluster"), newPKI(t, "stranger")
	c := harness.StartController(t, harness.ControllerOptions{Config: "[agents]\ntls_cert = \"" + ours.clientCert + "\"\ntls_key = \"" + ours.clientKey + "\"\ntls_ca = \"" + ours.ca + "\""})
	trusted := harness.StartAgent(t, "--tls-cert", ours.serverCert, "--tls-key", ours.serverKey, "--tls-ca", ours.ca)
	stranger := harness.StartAgent(t, "--tls-cert", theirs.serverCert, "--tls-key", theirs.serverKey, "--tls-ca", theirs.ca)
	for name, n := range map[string]struct {
		port int
		typ  string
	}{"secure": {trusted.Port, "ssl"}, "stranger": {stranger.Port, "ssl"}, "confused": {trusted.Port, "plain"}} {
		must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": name, "type": "satellite",
			"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": n.port, "satellite_encryption_type": n.typ}}}, http.StatusCreated)
	}
	eventually(t, 20*time.Second, "the SSL node with our certificate online", func() bool { return nodeStatus(t, c, "secure").ConnectionStatus == "ONLINE" })
	time.Sleep(3 * time.Second) // a few polls
	require.Equal(t, "OFFLINE", nodeStatus(t, c, "stranger").ConnectionStatus, "an agent the CA did not sign is not trusted")
	require.Equal(t, "OFFLINE", nodeStatus(t, c, "confused").ConnectionStatus, "plain HTTP does not reach a TLS agent")
	require.Contains(t, c.Log(), "certificate signed by unknown authority")
}
