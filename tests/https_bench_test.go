package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"strata/store"
	"strata/tests/harness"
)

// BenchmarkResourceListOverHTTPS measures GET /v1/view/resources (what
// `resource list` calls) on 1,000 definitions with 3 resources each: p50
// over plain HTTP, then, after a restart with [https] and client_ca, over
// HTTPS with a client certificate — on a kept connection and on a new one
// per request (a full handshake each).
func BenchmarkResourceListOverHTTPS(b *testing.B) {
	const definitions, replicas, requests = 1000, 3, 200
	c := harness.StartController(b, harness.ControllerOptions{})
	if err := c.Stop(); err != nil {
		b.Fatal(err)
	}
	seed(b, store.Config{SQLitePath: filepath.Join(c.DataDir, "strata.db")}, definitions, replicas, false)
	restart := func() {
		c.Start()
		if err := c.WaitHealthy(time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	restart()
	latencies := func(client *http.Client, url string) []time.Duration {
		lat := make([]time.Duration, 0, requests)
		for range requests {
			start := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n < definitions*replicas*100 {
				b.Fatalf("answer %d with %d bytes", resp.StatusCode, n)
			}
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	p50 := func(lat []time.Duration) time.Duration {
		slices.Sort(lat)
		return lat[len(lat)/2]
	}
	plain := p50(latencies(&http.Client{}, c.URL+"/v1/view/resources"))

	pki := newPKI(b, "strata")
	port := harness.FreePort(b)
	f, err := os.OpenFile(c.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(f, "\n[https]\nport = %d\nlisten_addr = \"127.0.0.1\"\ncertificate = %q\nprivate_key = %q\nclient_ca = %q\n", port, pki.serverCert, pki.serverKey, pki.ca)
	f.Close()
	if err := c.Stop(); err != nil {
		b.Fatal(err)
	}
	restart()
	caPEM, err := os.ReadFile(pki.ca)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
	if err != nil {
		b.Fatal(err)
	}
	tc := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}
	url := fmt.Sprintf("https://127.0.0.1:%d/v1/view/resources", port)
	fresh := p50(latencies(&http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}, url))
	keptClient := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	var keptLat []time.Duration
	for b.Loop() {
		keptLat = append(keptLat, latencies(keptClient, url)...)
	}
	kept := p50(keptLat)
	b.ReportMetric(ms(plain), "http-p50-ms")
	b.ReportMetric(ms(kept), "https-p50-ms")
	b.ReportMetric(ms(fresh), "https-new-conn-p50-ms")
	b.ReportMetric(100*(ms(kept)/ms(plain)-1), "https-overhead-%")
}
