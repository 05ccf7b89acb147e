// Package execrun is the agent's one way to run the tools of the machine
// (losetup, lvcreate, zfs, drbdadm, cryptsetup, ...), so that every
// command line is logged the same way and tests can stand in for the
// machine's kernel and tools at this edge.
package execrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Runner runs the machine's commands.
type Runner interface {
	// Run runs a command and returns its standard output.
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
	// Pipe runs a command that streams: stdin (may be nil) is its input
	// and its output goes to stdout (may be nil), as for zfs send and
	// receive.
	Pipe(ctx context.Context, stdin io.Reader, stdout io.Writer, name string, args ...string) error
}

// Exec runs commands on the machine.
type Exec struct{}

// Run runs name with args; a failure carries the command line and stderr,
// which is what the user needs to see.
func (e Exec) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	err := e.Pipe(ctx, nil, &stdout, name, args...)
	return stdout.Bytes(), err
}

// Pipe runs name with args, streaming stdin and stdout.
func (Exec) Pipe(ctx context.Context, stdin io.Reader, stdout io.Writer, name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	if err := cmd.Run(); err != nil {
		return &Error{Command: CommandLine(name, args...), Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	return nil
}

// CommandLine is how a command is shown in logs and errors.
func CommandLine(name string, args ...string) string {
	return strings.TrimSpace(name + " " + strings.Join(args, " "))
}

// Error is a failed command.
type Error struct {
	Command string
	Stderr  string
	Err     error
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", e.Command, e.Err, e.Stderr)
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the exit code of a failed command; ok is false when err is
// not a command that ran and exited.
func ExitCode(err error) (code int, ok bool) {
	var exit interface{ ExitCode() int }
	if errors.As(err, &exit) {
		return exit.ExitCode(), true
	}
	return 0, false
}
