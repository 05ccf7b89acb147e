package harness

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// process is a Strata binary that a test runs, with its output in a log
// file that the test shows when it fails.
type process struct {
	t       testing.TB
	name    string // for messages: controller, agent
	args    []string
	env     []string // added to the test's environment
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	// foreign is a program not Strata's (MinIO), whose log is not
	// checked for secrets.
	foreign bool
}

// start runs a Strata binary without waiting for it.
func (p *process) start(binary string) {
	p.t.Helper()
	p.startBinary(Binary(p.t, binary))
}

// startBinary runs the program at path without waiting for it.
func (p *process) startBinary(path string) {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(path, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() {
		p.exitErr = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
}

// stopAtEnd stops the process with SIGTERM when the test ends, checks
// that its log holds no secret, and shows it when the test failed.
func (p *process) stopAtEnd() {
	p.t.Cleanup(func() {
		if p.running() {
			if err := p.Stop(); err != nil {
				p.t.Errorf("%s did not stop cleanly: %v\n%s", p.name, err, p.Log())
			}
		}
		if !p.foreign {
			NoSecret(p.t, "the log of "+p.name, p.Log())
		}
		if p.t.Failed() {
			p.t.Logf("%s log:\n%s", p.name, p.Log())
		}
	})
}

// waitHealthy polls base/health until it answers 200.
func (p *process) waitHealthy(base string, timeout time.Duration) error {
	return p.waitUntil(timeout, func() error {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health answered %s", resp.Status)
		}
		return nil
	})
}

// waitListening waits until addr accepts connections (an agent serving
// mutual TLS answers no plain /health).
func (p *process) waitListening(addr string, timeout time.Duration) error {
	return p.waitUntil(timeout, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return conn.Close()
	})
}

// waitUntil polls ready until it succeeds, the process exits or the time
// is up.
func (p *process) waitUntil(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v", p.name, p.exitErr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s (last error: %v)", timeout, err)
		}
	}
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *process) Stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("no exit within 60s of SIGTERM")
	}
}

// Kill ends the process with SIGKILL, as a crash would.
func (p *process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// PID of the running process.
func (p *process) PID() int { return p.cmd.Process.Pid }

// Log returns everything the process wrote so far.
func (p *process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}
