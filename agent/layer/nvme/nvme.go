// Package nvme is the NVME layer: the target side exports a volume as an
// NVMe-oF namespace through the kernel's nvmet configfs, and the
// initiator side connects to it with nvme-cli and uses the namespace as
// its device.
package nvme

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"strata/agent/execrun"
)

// NQN is the NVMe qualified name of a resource's subsystem.
func NQN(resource string) string { return "nqn.2026-01.io.strata:" + resource }

// Target exports volumes through nvmet's configfs.
type Target struct {
	Configfs string // /sys/kernel/config, or a test's directory
}

// Export describes a resource's subsystem: its namespaces (volume number
// + 1, as NVMe namespaces count from 1, → device) and where it listens.
type Export struct {
	Resource   string
	Namespaces map[int32]string
	Transport  string // tcp or rdma
	Address    string
	Port       int // service id, 4420 by default
	PortID     int // nvmet port number
}

func (t Target) nvmet(parts ...string) string {
	return filepath.Join(append([]string{t.Configfs, "nvmet"}, parts...)...)
}

// Up creates or updates the subsystem, its namespaces and its port.
// Writing the same values again is harmless, so Up is idempotent.
func (t Target) Up(e Export) error {
	sub := t.nvmet("subsystems", NQN(e.Resource))
	if err := mkdirWrite(sub, map[string]string{"attr_allow_any_host": "1"}); err != nil {
		return err
	}
	for nr, dev := range e.Namespaces {
		ns := filepath.Join(sub, "namespaces", strconv.Itoa(int(nr)+1))
		if err := mkdirWrite(ns, map[string]string{"device_path": dev, "enable": "1"}); err != nil {
			return err
		}
	}
	port := t.nvmet("ports", strconv.Itoa(e.PortID))
	family := "ipv4"
	if strings.Contains(e.Address, ":") {
		family = "ipv6"
	}
	svc := e.Port
	if svc == 0 {
		svc = 4420
	}
	if err := mkdirWrite(port, map[string]string{"addr_trtype": e.Transport, "addr_adrfam": family, "addr_traddr": e.Address, "addr_trsvcid": strconv.Itoa(svc)}); err != nil {
		return err
	}
	link := filepath.Join(port, "subsystems", NQN(e.Resource))
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(sub, link); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("nvmet: %w", err)
	}
	return nil
}

// Down removes the subsystem from its port and deletes it.
func (t Target) Down(resource string, portID int) error {
	sub := t.nvmet("subsystems", NQN(resource))
	_ = os.Remove(filepath.Join(t.nvmet("ports", strconv.Itoa(portID)), "subsystems", NQN(resource)))
	nss, _ := os.ReadDir(filepath.Join(sub, "namespaces"))
	for _, ns := range nss {
		dir := filepath.Join(sub, "namespaces", ns.Name())
		if err := os.WriteFile(filepath.Join(dir, "enable"), []byte("0"), 0o644); err != nil {
			return fmt.Errorf("nvmet: %w", err)
		}
		if err := removeDir(dir); err != nil {
			return err
		}
	}
	return removeDir(sub)
}

// removeDir removes a configfs directory. The kernel removes its
// attribute files with it; a test's stand-in needs them removed first.
func removeDir(dir string) error {
	if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("nvmet: %w", err)
	}
	return nil
}

func mkdirWrite(dir string, attrs map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("nvmet: %w", err)
	}
	for k, v := range attrs {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			return fmt.Errorf("nvmet %s: %w", filepath.Join(dir, k), err)
		}
	}
	return nil
}

// Initiator connects to targets with nvme-cli.
type Initiator struct {
	Run   execrun.Runner
	Sysfs string // /sys, or a test's directory
}

// Connect connects to the resource's subsystem unless connected, and
// returns the device of volume nr.
func (i Initiator) Connect(ctx context.Context, resource string, nr int32, transport, address string, port int) (string, error) {
	if dev, err := i.Device(resource, nr); err == nil {
		return dev, nil
	}
	if port == 0 {
		port = 4420
	}
	if _, err := i.Run.Run(ctx, "nvme", "connect", "--transport", transport, "--nqn", NQN(resource), "--traddr", address, "--trsvcid", strconv.Itoa(port)); err != nil {
		return "", err
	}
	return i.Device(resource, nr)
}

// Disconnect disconnects from the resource's subsystem.
func (i Initiator) Disconnect(ctx context.Context, resource string) error {
	if _, err := i.subsystem(resource); err != nil {
		return nil // not connected
	}
	_, err := i.Run.Run(ctx, "nvme", "disconnect", "--nqn", NQN(resource))
	return err
}

// subsystem finds the connected subsystem of a resource in sysfs.
func (i Initiator) subsystem(resource string) (string, error) {
	dirs, _ := filepath.Glob(filepath.Join(i.Sysfs, "class", "nvme-subsystem", "nvme-subsys*"))
	for _, d := range dirs {
		nqn, err := os.ReadFile(filepath.Join(d, "subsysnqn"))
		if err == nil && strings.TrimSpace(string(nqn)) == NQN(resource) {
			return d, nil
		}
	}
	return "", fmt.Errorf("subsystem %s is not connected: %w", NQN(resource), os.ErrNotExist)
}

// Device is the block device of a connected resource's volume: the
// subsystem's namespace with that volume's id.
func (i Initiator) Device(resource string, nr int32) (string, error) {
	sub, err := i.subsystem(resource)
	if err != nil {
		return "", err
	}
	nss, _ := filepath.Glob(filepath.Join(sub, "nvme*n*"))
	for _, ns := range nss {
		id, err := os.ReadFile(filepath.Join(ns, "nsid"))
		if err == nil && strings.TrimSpace(string(id)) == strconv.Itoa(int(nr)+1) {
			return "/dev/" + filepath.Base(ns), nil
		}
	}
	return "", fmt.Errorf("namespace %d of %s has no device yet", nr+1, NQN(resource))
}
