package drbd

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

// Adm drives DRBD through drbdadm, each resource by its own .res file in
// Dir, so the agent needs nothing in /etc/drbd.conf.
type Adm struct {
	Dir string // where the agent keeps the .res files
	Run execrun.Runner
}

// ResFile is where a resource's file lives.
func (a Adm) ResFile(name string) string { return filepath.Join(a.Dir, name+".res") }

// Write puts a rendered resource file in place, first checked by
// drbdadm, and tells whether it changed. The file is replaced atomically
// so drbdadm never reads half of it.
func (a Adm) Write(ctx context.Context, name, res string) (changed bool, err error) {
	path := a.ResFile(name)
	if old, err := os.ReadFile(path); err == nil && string(old) == res {
		return false, nil
	}
	if err := Check(ctx, a.Run, name, res); err != nil {
		return false, err
	}
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(res), 0o600); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// Remove deletes a resource's file; a missing one is no error.
func (a Adm) Remove(name string) error {
	if err := os.Remove(a.ResFile(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (a Adm) drbdadm(ctx context.Context, name string, args ...string) error {
	_, err := a.Run.Run(ctx, "drbdadm", append([]string{"--config-file", a.ResFile(name)}, args...)...)
	return err
}

func volume(name string, nr int32) string { return name + "/" + strconv.Itoa(int(nr)) }

// HasMetadata tells whether a volume's backing disk carries DRBD
// metadata; drbdmeta's "No valid meta data found" means it does not.
func (a Adm) HasMetadata(ctx context.Context, minor int32, disk string, nodeID int32) (bool, error) {
	_, err := a.Run.Run(ctx, "drbdmeta", strconv.Itoa(int(minor)), "v09", disk, "internal", "--node-id="+strconv.Itoa(int(nodeID)), "get-gi")
	var ee *execrun.Error
	if errors.As(err, &ee) && strings.Contains(ee.Stderr, "No valid meta data found") {
		return false, nil
	}
	return err == nil, err
}

// CreateMetadata writes internal metadata with room for peerSlots peers.
func (a Adm) CreateMetadata(ctx context.Context, name string, nr, peerSlots int32) error {
	return a.drbdadm(ctx, name, "--max-peers", strconv.Itoa(int(peerSlots)), "--", "--force", "create-md", volume(name, nr))
}

// SkipInitialSync marks a new volume's data as the same everywhere, as
// for volumes that start out zeroed (thin ones).
func (a Adm) SkipInitialSync(ctx context.Context, name string, nr int32) error {
	return a.drbdadm(ctx, name, "--", "--clear-bitmap", "new-current-uuid", volume(name, nr))
}

// Adjust brings the resource up or makes the running one match its file.
func (a Adm) Adjust(ctx context.Context, name string) error {
	return a.drbdadm(ctx, name, "adjust", name)
}

// Up brings the resource up.
func (a Adm) Up(ctx context.Context, name string) error { return a.drbdadm(ctx, name, "up", name) }

// Down takes the resource down.
func (a Adm) Down(ctx context.Context, name string) error { return a.drbdadm(ctx, name, "down", name) }

// Primary promotes the resource; force makes a node with no up-to-date
// peer the source of truth.
func (a Adm) Primary(ctx context.Context, name string, force bool) error {
	if force {
		return a.drbdadm(ctx, name, "primary", "--force", name)
	}
	return a.drbdadm(ctx, name, "primary", name)
}

// Secondary demotes the resource.
func (a Adm) Secondary(ctx context.Context, name string) error {
	return a.drbdadm(ctx, name, "secondary", name)
}

// Resize makes DRBD use the grown backing disk of a volume.
func (a Adm) Resize(ctx context.Context, name string, nr int32) error {
	return a.drbdadm(ctx, name, "resize", volume(name, nr))
}

// SuspendIO holds the resource's I/O: writes wait until ResumeIO, so
// that snapshots on every node see the same data.
func (a Adm) SuspendIO(ctx context.Context, name string) error {
	return a.drbdadm(ctx, name, "suspend-io", name)
}

// ResumeIO lets the resource's held I/O go on.
func (a Adm) ResumeIO(ctx context.Context, name string) error {
	return a.drbdadm(ctx, name, "resume-io", name)
}

// Device is the block device of a DRBD minor.
func Device(minor int32) string { return fmt.Sprintf("/dev/drbd%d", minor) }
