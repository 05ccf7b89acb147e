package tests

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// Every way the controller can fail to start ends in one line on stderr
// naming the problem and a non-zero exit; never a panic or stack trace.
func TestControllerRefusesBadStart(t *testing.T) {
	bin := harness.Binary(t, "strata-controller")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	base := func() string {
		return fmt.Sprintf("data_dir = %q\n[http]\nport = %d\n", t.TempDir(), harness.FreePort(t))
	}
	busy := harness.FreePort(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing config file", []string{"--config", filepath.Join(dir, "absent.toml")}, "absent.toml does not exist"},
		{"invalid toml", []string{"--config", write("broken.toml", "[db\n")}, "broken.toml: line"},
		{"unknown key", []string{"--config", write("typo.toml", base()+"listen = 1\n")}, "unknown key(s) http.listen"},
		{"bad log level", []string{"--config", write("level.toml", base()), "--log-level", "CHATTY"}, `invalid log level "CHATTY"`},
		{"unreachable postgres", []string{"--config", write("pg.toml", base()+"[db]\nconnection_url = \"postgres://strata:hunter2@127.0.0.1:1/strata\"\n")}, "connect to postgres database postgres://strata:xxxxx@127.0.0.1:1/strata"},
		{"unreachable temporal", []string{"--config", write("tmp.toml", base()+"[temporal]\naddress = \"127.0.0.1:1\"\ndial_timeout = \"2s\"\n")}, "connect to temporal at 127.0.0.1:1"},
		{"REST port taken", []string{"--config", write("busy.toml", base()), "--listen", fmt.Sprintf("127.0.0.1:%d", busy)}, "address already in use"},
		{"unexpected argument", []string{"serve"}, `unknown command "serve"`},
		{"agents TLS incomplete", []string{"--config", write("tls.toml", base()+"[agents]\ntls_cert = \"/nonexistent.pem\"\n")}, "[agents]: mutual TLS needs a certificate, its key and a CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "REST port taken" {
				l := listen(t, busy)
				defer l()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "non-zero exit")
			require.NotEqual(t, -1, exit.ExitCode(), "ended by itself, not by the test's timeout")
			last := lastLine(stderr.String())
			require.True(t, strings.HasPrefix(last, "strata-controller: "), "one line naming the program: %q", last)
			require.Contains(t, last, tt.want)
			require.NotContains(t, stderr.String(), "goroutine ")
			require.NotContains(t, stderr.String(), "panic")
			require.NotContains(t, stderr.String(), "hunter2", "passwords are never printed")
		})
	}
}

// listen occupies a loopback port until the returned func is called.
func listen(t *testing.T, port int) func() {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	return func() { l.Close() }
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// The CLI and the agent stay small: neither links the Temporal server.
func TestCLIAndAgentDoNotLinkTemporalServer(t *testing.T) {
	for _, pkg := range []string{"strata/cmd/strata", "strata/cmd/strata-agent"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, string(out))
		require.NotContains(t, string(out), "go.temporal.io/server", pkg)
		require.NotContains(t, string(out), "github.com/temporalio/ui-server", pkg)
	}
	out, err := exec.Command("go", "list", "-deps", "strata/cmd/strata-controller").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "go.temporal.io/server/temporal", "the check above can see the server where it is linked")
}
