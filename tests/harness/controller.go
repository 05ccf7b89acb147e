package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ControllerOptions configure a test controller. The zero value is the
// embedded default: SQLite and an embedded Temporal, web UI off.
type ControllerOptions struct {
	PostgresURL   string // use this PostgreSQL database instead of SQLite
	OperationWait string // how long the API waits for workflows, e.g. "50ms"
	UI            bool   // also serve the Temporal web UI
}

// Controller is a strata-controller process under test.
type Controller struct {
	t            testing.TB
	DataDir      string
	ConfigPath   string
	URL          string // base URL of the REST API
	TemporalAddr string // embedded Temporal frontend
	UIAddr       string
	logPath      string
	cmd          *exec.Cmd
	exited       chan struct{}
	exitErr      error
}

// StartController writes a configuration on free ports, starts the
// controller and waits until /health answers 200. It is stopped with
// SIGTERM when the test ends.
func StartController(t testing.TB, opts ControllerOptions) *Controller {
	t.Helper()
	dir := t.TempDir()
	c := &Controller{
		t:            t,
		DataDir:      filepath.Join(dir, "data"),
		ConfigPath:   filepath.Join(dir, "strata.toml"),
		URL:          fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		TemporalAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		logPath:      filepath.Join(dir, "controller.log"),
	}
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
	if opts.PostgresURL != "" {
		cfg += fmt.Sprintf("\n[db]\nconnection_url = %q\n", opts.PostgresURL)
	}
	if err := os.WriteFile(c.ConfigPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(func() {
		if c.running() {
			if err := c.Stop(); err != nil {
				t.Errorf("controller did not stop cleanly: %v\n%s", err, c.Log())
			}
		}
		if t.Failed() {
			t.Logf("controller log:\n%s", c.Log())
		}
	})
	return c
}

// Start (re)starts the process on the same configuration and data
// directory and waits until it is healthy.
func (c *Controller) Start() {
	c.t.Helper()
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	c.cmd = exec.Command(Binary(c.t, "strata-controller"), "--config", c.ConfigPath)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.exited = make(chan struct{})
	go func() {
		c.exitErr = c.cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	if err := c.WaitHealthy(90 * time.Second); err != nil {
		c.t.Fatalf("controller did not become healthy: %v\n%s", err, c.Log())
	}
}

// WaitHealthy polls /health until it answers 200.
func (c *Controller) WaitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(c.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("controller exited: %v", c.exitErr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %s (last error: %v)", timeout, err)
		}
	}
}

func (c *Controller) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (c *Controller) Stop() error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-c.exited:
		return c.exitErr
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("no exit within 60s of SIGTERM")
	}
}

// Kill ends the process with SIGKILL, as a crash would.
func (c *Controller) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// PID of the running process.
func (c *Controller) PID() int { return c.cmd.Process.Pid }

// Log returns everything the controller wrote so far.
func (c *Controller) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

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
	resp, err := http.DefaultClient.Do(req)
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
