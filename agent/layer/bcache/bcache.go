// Package bcache is the BCACHE layer: make-bcache formats the volume
// below as a backing device with a cache device, the kernel's bcache
// registers both, and the volume is used through /dev/bcacheN.
package bcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"strata/agent/execrun"
)

// Layer runs make-bcache and drives bcache through sysfs.
type Layer struct {
	Run   execrun.Runner
	Sysfs string // /sys, or a test's directory standing in for it
}

// Up makes backing a bcache backing device cached by cache, unless it
// is one already, registers it and returns its /dev/bcacheN.
func (l Layer) Up(ctx context.Context, backing, cache string) (string, error) {
	formatted, err := l.formatted(ctx, backing)
	if err != nil {
		return "", err
	}
	if !formatted {
		if _, err := l.Run.Run(ctx, "make-bcache", "--wipe-bcache", "-B", backing, "-C", cache); err != nil {
			return "", err
		}
	}
	if dev, err := l.device(backing); err == nil {
		return dev, nil
	}
	for _, d := range []string{cache, backing} {
		if err := l.write(filepath.Join("fs", "bcache", "register"), d); err != nil {
			return "", err
		}
	}
	return l.device(backing)
}

// Down stops the bcache device of backing; one that is not registered
// is no error.
func (l Layer) Down(backing string) error {
	dev, err := l.device(backing)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return l.write(filepath.Join("block", filepath.Base(dev), "bcache", "stop"), "1")
}

// formatted: bcache-super-show exits 2 on "bad magic".
func (l Layer) formatted(ctx context.Context, dev string) (bool, error) {
	_, err := l.Run.Run(ctx, "bcache-super-show", dev)
	var ee *execrun.Error
	if errors.As(err, &ee) && strings.Contains(ee.Stderr, "bad magic") {
		return false, nil
	}
	return err == nil, err
}

// device follows sysfs from the backing device to its bcacheN.
func (l Layer) device(backing string) (string, error) {
	link, err := os.Readlink(filepath.Join(l.Sysfs, "block", filepath.Base(backing), "bcache", "dev"))
	if err != nil {
		return "", fmt.Errorf("bcache device of %s: %w", backing, err)
	}
	return "/dev/" + filepath.Base(link), nil
}

func (l Layer) write(rel, value string) error {
	if err := os.WriteFile(filepath.Join(l.Sysfs, rel), []byte(value), 0o200); err != nil {
		return fmt.Errorf("bcache: %w", err)
	}
	return nil
}
