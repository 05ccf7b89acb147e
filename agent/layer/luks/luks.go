// Package luks is the LUKS layer: it encrypts the device below it with
// cryptsetup, using the volume's key sent by the controller. The key only
// ever travels on cryptsetup's standard input, never on a command line.
package luks

import (
	"context"
	"strings"

	"strata/agent/execrun"
)

// Layer runs cryptsetup.
type Layer struct {
	Run execrun.Runner
}

// Device is the opened device of a mapping.
func Device(name string) string { return "/dev/mapper/" + name }

// MappingName is the device-mapper name of a volume's LUKS device.
func MappingName(volume string) string { return volume + "_luks" }

// Up formats the lower device if it is not LUKS yet, opens it as
// mapping name unless it is open, and returns the device to use.
func (l Layer) Up(ctx context.Context, name, lower string, key []byte) (string, error) {
	isLuks, err := l.isLuks(ctx, lower)
	if err != nil {
		return "", err
	}
	if !isLuks {
		if err := l.Run.Pipe(ctx, strings.NewReader(string(key)), nil, "cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--key-file", "-", lower); err != nil {
			return "", err
		}
	}
	if open, err := l.isOpen(ctx, name); err != nil || open {
		return Device(name), err
	}
	if err := l.Run.Pipe(ctx, strings.NewReader(string(key)), nil, "cryptsetup", "open", "--type", "luks", "--key-file", "-", lower, name); err != nil {
		return "", err
	}
	return Device(name), nil
}

// Down closes the mapping; one that is not open is no error.
func (l Layer) Down(ctx context.Context, name string) error {
	if open, err := l.isOpen(ctx, name); err != nil || !open {
		return err
	}
	_, err := l.Run.Run(ctx, "cryptsetup", "close", name)
	return err
}

// Resize makes the open mapping use the grown device below it.
func (l Layer) Resize(ctx context.Context, name string, key []byte) error {
	return l.Run.Pipe(ctx, strings.NewReader(string(key)), nil, "cryptsetup", "resize", "--key-file", "-", name)
}

// isLuks: cryptsetup isLuks exits 1 for a device without a LUKS header.
func (l Layer) isLuks(ctx context.Context, dev string) (bool, error) {
	return exitCodeMeansNo(1)(l.Run.Run(ctx, "cryptsetup", "isLuks", dev))
}

// isOpen: cryptsetup status exits 4 for a mapping that is not active.
func (l Layer) isOpen(ctx context.Context, name string) (bool, error) {
	return exitCodeMeansNo(4)(l.Run.Run(ctx, "cryptsetup", "status", name))
}

// exitCodeMeansNo turns a command's answer into a yes or no: success is
// yes, the given exit code is no, anything else is an error.
func exitCodeMeansNo(code int) func([]byte, error) (bool, error) {
	return func(_ []byte, err error) (bool, error) {
		if isExit(err, code) {
			return false, nil
		}
		return err == nil, err
	}
}

func isExit(err error, code int) bool {
	c, ok := execrun.ExitCode(err)
	return ok && c == code
}
