package harness

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// Agent is a strata-agent process under test, on its own loopback port.
type Agent struct {
	*process
	Port int
	URL  string
}

// StartAgent starts an agent on a free port with args added and waits
// until it listens. Each agent keeps its DRBD files, its record of
// external files and the controller token it trusts in directories of its
// own, as separate nodes would. It is stopped with SIGTERM when the test
// ends.
func StartAgent(t testing.TB, args ...string) *Agent {
	t.Helper()
	a := &Agent{Port: FreePort(t)}
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", a.Port)
	a.process = &process{t: t, name: fmt.Sprintf("agent :%d", a.Port), logPath: filepath.Join(t.TempDir(), "agent.log"),
		args: append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", a.Port), "--drbd-dir", t.TempDir(),
			"--ext-files-record", filepath.Join(t.TempDir(), "external-files.json"), "--trust-file", filepath.Join(t.TempDir(), "controller-token")}, args...)}
	a.Start()
	a.stopAtEnd()
	return a
}

// Start (re)starts the agent on its port and waits until it listens.
func (a *Agent) Start() {
	a.t.Helper()
	a.start("strata-agent")
	if err := a.waitListening(fmt.Sprintf("127.0.0.1:%d", a.Port), 30*time.Second); err != nil {
		a.t.Fatalf("agent did not start: %v\n%s", err, a.Log())
	}
}
