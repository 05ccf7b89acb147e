package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

// httpsListener listens for the REST API over TLS: the configured
// certificate, and with client_ca a client certificate it signed is
// required (LINSTOR's restricted client access).
func httpsListener(cfg HTTPSConfig, addr string) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(cfg.Certificate, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("[https] certificate and private_key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.ClientCA != "" {
		pem, err := os.ReadFile(cfg.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("[https] client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("[https] client_ca %s holds no PEM certificate", cfg.ClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("REST API over HTTPS: %w", err)
	}
	return tls.NewListener(ln, tc), nil
}

// redirectToHTTPS answers plain requests with the same URL over HTTPS,
// as LINSTOR does while HTTPS is on; health checks are answered here.
func redirectToHTTPS(port int, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			api.ServeHTTP(w, r)
			return
		}
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		http.Redirect(w, r, "https://"+net.JoinHostPort(host, strconv.Itoa(port))+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
