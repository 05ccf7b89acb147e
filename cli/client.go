package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
)

// Exit codes of LINSTOR's client, which scripts test.
const (
	exitOK              = 0
	exitUnknown         = 1
	exitUsage           = 2
	exitAPIError        = 10
	exitConnectionError = 20
)

// exitError carries the exit code of a failure already reported.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// connection is how the client reaches a controller, from flags, the
// LS_CONTROLLERS variable or the client configuration file.
type connection struct {
	controllers string
	certFile    string
	keyFile     string
	caFile      string
	user        string
	password    string
	// insecureAuth lets a password travel over plain HTTP, as the linstor
	// client's --allow-insecure-auth does.
	insecureAuth bool
	curl         bool
	timeout      time.Duration
	out          io.Writer
}

// configFiles are read for "controllers = …" in their [global] section,
// as LINSTOR's client does.
var configFiles = []string{"/etc/linstor/linstor-client.conf", "$HOME/.config/linstor/linstor-client.conf"}

// defaultControllers is the address list when no flag or variable names one.
func defaultControllers() string {
	if v := os.Getenv("LS_CONTROLLERS"); v != "" {
		return v
	}
	for _, f := range configFiles {
		if v := controllersFromConfig(os.ExpandEnv(f)); v != "" {
			return v
		}
	}
	return "localhost"
}

func controllersFromConfig(path string) string {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return ""
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.Trim(line, "[]")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && section == "global" && strings.TrimSpace(k) == "controllers" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// baseURLs turns the controller list into base URLs: LINSTOR's
// linstor:// and linstor+ssl:// schemes, bare hosts on 3370 (3371 with
// HTTPS).
func (c *connection) baseURLs() ([]string, error) {
	var out []string
	for _, raw := range strings.Split(c.controllers, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		scheme := "http"
		if c.certFile != "" || c.caFile != "" {
			scheme = "https"
		}
		switch {
		case strings.HasPrefix(raw, "linstor+ssl://"):
			scheme, raw = "https", strings.TrimPrefix(raw, "linstor+ssl://")
		case strings.HasPrefix(raw, "linstor://"):
			scheme, raw = "http", strings.TrimPrefix(raw, "linstor://")
		case strings.Contains(raw, "://"):
			u, err := url.Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("invalid controller address %q", raw)
			}
			scheme, raw = u.Scheme, u.Host
		}
		u := &url.URL{Scheme: scheme, Host: raw}
		if u.Port() == "" {
			port := "3370"
			if scheme == "https" {
				port = "3371"
			}
			u.Host = raw + ":" + port
		}
		out = append(out, u.String())
	}
	if len(out) == 0 {
		return nil, errors.New("no controller given: use --controllers or LS_CONTROLLERS")
	}
	return out, nil
}

func (c *connection) httpClient() (*http.Client, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("read --cafile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cafile %s holds no PEM certificate", c.caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if c.certFile != "" || c.keyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("load --certfile/--keyfile: %w", err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: c.timeout, Transport: tr}, nil
}

// do sends one REST call to the first controller that answers and
// returns the status and body. With --curl it prints the call instead.
func (c *connection) do(ctx context.Context, method, path string, query url.Values, body any) (int, []byte, error) {
	bases, err := c.baseURLs()
	if err != nil {
		return 0, nil, &exitError{exitUsage, err.Error()}
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	if c.curl {
		cmd := "curl -X " + method + " -H 'Content-Type: application/json'"
		if c.user != "" {
			cmd += " -u '" + c.user + ":…'"
		}
		if payload != nil {
			cmd += " -d '" + string(payload) + "'"
		}
		fmt.Fprintln(c.out, cmd+" "+bases[0]+target)
		return 0, nil, errCurl
	}
	if err := c.checkAuth(bases); err != nil {
		return 0, nil, err
	}
	hc, err := c.httpClient()
	if err != nil {
		return 0, nil, &exitError{exitUsage, err.Error()}
	}
	var lastErr error
	for _, base := range bases {
		req, err := http.NewRequestWithContext(ctx, method, base+target, bytes.NewReader(payload))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if c.user != "" {
			req.SetBasicAuth(c.user, c.password)
		}
		resp, err := hc.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, out, err
	}
	return 0, nil, &exitError{exitConnectionError, fmt.Sprintf("Unable to connect to %s: %v", strings.Join(bases, ", "), lastErr)}
}

// checkAuth refuses to send a password in clear text unless asked to, and
// asks for it on the terminal when --user came without one, as the linstor
// client does.
func (c *connection) checkAuth(bases []string) error {
	if c.user == "" {
		return nil
	}
	if !c.insecureAuth {
		for _, b := range bases {
			if strings.HasPrefix(b, "http://") {
				return &exitError{exitUsage, "Refusing to send a password over plain HTTP to " + b +
					": use HTTPS (linstor+ssl:// or --cafile) or --allow-insecure-auth"}
			}
		}
	}
	if c.password == "" && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(os.Stderr, "Password: ")
		pw, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return &exitError{exitUsage, "read the password: " + err.Error()}
		}
		c.password = string(pw)
	}
	return nil
}

// errCurl ends a command whose REST call was printed, not made.
var errCurl = errors.New("printed as curl")
