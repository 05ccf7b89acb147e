package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ControllerOptions configure a test controller. The zero value is the
// embedded default: SQLite and an embedded Temporal, web UI off.
type ControllerOptions struct {
	PostgresURL   string // use this PostgreSQL database instead of SQLite
	OperationWait string // how long the API waits for workflows, e.g. "50ms"
	UI            bool   // also serve the Temporal web UI
	Config        string // more of strata.toml, such as an [agents] section
}

// Controller is a strata-controller process under test.
type Controller struct {
	*process
	DataDir      string
	ConfigPath   string
	URL          string // base URL of the REST API
	TemporalAddr string // embedded Temporal frontend
	UIAddr       string
}

// StartController writes a configuration on free ports, starts the
// controller and waits until /health answers 200. It is stopped with
// SIGTERM when the test ends.
func StartController(t testing.TB, opts ControllerOptions) *Controller {
	t.Helper()
	dir := t.TempDir()
	c := &Controller{
		DataDir:      filepath.Join(dir, "data"),
		ConfigPath:   filepath.Join(dir, "strata.toml"),
		URL:          fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		TemporalAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
	}
	c.process = &process{t: t, name: "controller", logPath: filepath.Join(dir, "controller.log")}
	c.args = []string{"--config", c.ConfigPath}
	wait := opts.OperationWait
	if wait == "" {
		wait = "60s"
	}
	cfg := fmt.Sprintf("data_dir = %q\n\n[http]\nlisten_addr = \"127.0.0.1\"\nport = %s\n\n[logging]\nlevel = \"INFO\"\n\n[temporal]\nembedded_address = %q\noperation_wait = %q\n",
		c.DataDir, c.URL[strings.LastIndex(c.URL, ":")+1:], c.TemporalAddr, wait)
	if opts.UI {
		c.UIAddr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		cfg += fmt.Sprintf("ui_address = %q\n", c.UIAddr)
	} else {
		cfg += "ui = false\n"
	}
	cfg += "\n" + opts.Config + "\n"
	if opts.PostgresURL != "" {
		cfg += fmt.Sprintf("\n[db]\nconnection_url = %q\n", opts.PostgresURL)
	}
	if err := os.WriteFile(c.ConfigPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Start()
	c.stopAtEnd()
	return c
}

// Start (re)starts the process on the same configuration and data
// directory and waits until it is healthy.
func (c *Controller) Start() {
	c.t.Helper()
	c.start("strata-controller")
	if err := c.WaitHealthy(90 * time.Second); err != nil {
		c.t.Fatalf("controller did not become healthy: %v\n%s", err, c.Log())
	}
}

// WaitHealthy polls /health until it answers 200.
func (c *Controller) WaitHealthy(timeout time.Duration) error { return c.waitHealthy(c.URL, timeout) }

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out (when out is not nil). It returns the HTTP status.
func (c *Controller) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return 0, err
	}
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s %s answer %q: %w", method, path, raw, err)
		}
	}
	return resp.StatusCode, nil
}
