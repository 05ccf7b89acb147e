// Package execruntest stands in for the machine's tools in tests: a fake
// runner that answers scripted command lines with captured outputs and
// records every command it was asked to run.
package execruntest

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"sync"

	"strata/agent/execrun"
)

// Answer is what a scripted command prints, or how it fails.
type Answer struct {
	Stdout string
	Stderr string // with Code: the command fails with this message
	Code   int    // non-zero: the command's exit code
}

// exitError is a scripted exit code, answering ExitCode as os/exec's does.
type exitError int

func (e exitError) Error() string { return "exit status " + strconv.Itoa(int(e)) }
func (e exitError) ExitCode() int { return int(e) }

// FakeRunner answers commands from a script. A command line may be
// scripted several times: the answers are given in order and the last
// one is repeated until a new one is scripted. An unscripted command
// fails, so a test sees every command it did not expect.
type FakeRunner struct {
	mu      sync.Mutex
	answers map[string][]Answer
	repeats map[string]bool // the command's last answer has been given
	calls   []string
	stdin   map[string][]byte
}

// NewFakeRunner returns a runner with an empty script.
func NewFakeRunner() *FakeRunner {
	return &FakeRunner{answers: map[string][]Answer{}, repeats: map[string]bool{}, stdin: map[string][]byte{}}
}

// On scripts the output of a command line (name and arguments joined by
// single spaces).
func (f *FakeRunner) On(cmdline, stdout string) *FakeRunner {
	return f.answer(cmdline, Answer{Stdout: stdout})
}

// Fail scripts a command line to fail with stderr (exit code 5).
func (f *FakeRunner) Fail(cmdline, stderr string) *FakeRunner {
	return f.FailCode(cmdline, 5, stderr)
}

// FailCode scripts a command line to exit with code and stderr.
func (f *FakeRunner) FailCode(cmdline string, code int, stderr string) *FakeRunner {
	return f.answer(cmdline, Answer{Stderr: stderr, Code: code})
}

func (f *FakeRunner) answer(cmdline string, a Answer) *FakeRunner {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.repeats[cmdline] {
		f.answers[cmdline], f.repeats[cmdline] = nil, false
	}
	f.answers[cmdline] = append(f.answers[cmdline], a)
	return f
}

// Calls are the command lines run so far, in order.
func (f *FakeRunner) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Reset forgets the calls recorded so far.
func (f *FakeRunner) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// Stdin is what the last run of a command line read from its input.
func (f *FakeRunner) Stdin(cmdline string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stdin[cmdline]
}

// Run answers from the script.
func (f *FakeRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := f.Pipe(ctx, nil, &out, name, args...)
	return out.Bytes(), err
}

// Pipe answers from the script, keeping what it reads from stdin.
func (f *FakeRunner) Pipe(_ context.Context, stdin io.Reader, stdout io.Writer, name string, args ...string) error {
	cmdline := execrun.CommandLine(name, args...)
	f.mu.Lock()
	f.calls = append(f.calls, cmdline)
	queue := f.answers[cmdline]
	var a Answer
	ok := len(queue) > 0
	if ok {
		a = queue[0]
		if len(queue) > 1 {
			f.answers[cmdline] = queue[1:]
		} else {
			f.repeats[cmdline] = true
		}
	}
	f.mu.Unlock()
	if !ok {
		return &execrun.Error{Command: cmdline, Stderr: "not scripted in this test", Err: exitError(127)}
	}
	if stdin != nil {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.stdin[cmdline] = data
		f.mu.Unlock()
	}
	if a.Code != 0 {
		return &execrun.Error{Command: cmdline, Stderr: strings.TrimSpace(a.Stderr), Err: exitError(a.Code)}
	}
	if stdout != nil {
		_, err := io.WriteString(stdout, a.Stdout)
		return err
	}
	return nil
}
