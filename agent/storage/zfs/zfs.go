// Package zfs is the ZFS and ZFS_THIN storage provider: each volume is a
// zvol under the pool's dataset (sparse for ZFS_THIN), with ZFS's own
// snapshots, clones, send and receive.
package zfs

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"strata/agent/execrun"
	"strata/agent/storage"
)

// blockKib is the size zvols are rounded up to: a multiple of every
// default volblocksize (8K before OpenZFS 2.2, 16K since), which zfs
// create insists on.
const blockKib = 16

// Config is a pool: the dataset its zvols live under (a zpool or a
// dataset in one), whether they are sparse, and StorDriver/* settings.
type Config struct {
	Dataset string
	Thin    bool
	storage.Settings
}

// Pool is a ZFS dataset holding zvols.
type Pool struct {
	cfg    Config
	run    execrun.Runner
	exists storage.DeviceExists
}

// New opens the pool; exists tells whether a device node is there.
func New(cfg Config, run execrun.Runner, exists storage.DeviceExists) *Pool {
	return &Pool{cfg: cfg, run: run, exists: exists}
}

// Kind is ZFS or ZFS_THIN.
func (p *Pool) Kind() string {
	if p.cfg.Thin {
		return "ZFS_THIN"
	}
	return "ZFS"
}

func (p *Pool) zvol(name string) string { return p.cfg.Dataset + "/" + name }

func (p *Pool) device(name string) string { return "/dev/zvol/" + p.zvol(name) }

func (p *Pool) snapshot(name, snapshot string) string { return p.zvol(name) + "@" + snapshot }

// list runs zfs list in its scripted form (-H: tabs, no header; -p:
// exact bytes) and splits the lines into fields.
func (p *Pool) list(ctx context.Context, args ...string) ([][]string, error) {
	out, err := p.run.Run(ctx, "zfs", append([]string{"list", "-H", "-p"}, args...)...)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows, nil
}

func kib(field string) (int64, error) {
	b, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("zfs list printed %q where bytes were expected", field)
	}
	return b / 1024, nil
}

// Snapshots lists the snapshots of the agent's zvols.
func (p *Pool) Snapshots(ctx context.Context) ([]storage.SnapshotID, error) {
	rows, err := p.list(ctx, "-t", "snapshot", "-r", "-o", "name", p.cfg.Dataset)
	if err != nil {
		return nil, err
	}
	var out []storage.SnapshotID
	for _, f := range rows {
		full, ok := strings.CutPrefix(f[0], p.cfg.Dataset+"/")
		name, snap, at := strings.Cut(full, "@")
		if _, _, ours := storage.ParseVolumeName(name); ok && at && ours {
			out = append(out, storage.SnapshotID{Volume: name, Snapshot: snap})
		}
	}
	return out, nil
}

// SupportsSnapshots: every zvol can have snapshots.
func (p *Pool) SupportsSnapshots(context.Context) bool { return true }

// Volumes lists the zvols directly under the dataset that the agent named.
func (p *Pool) Volumes(ctx context.Context) ([]storage.VolumeState, error) {
	rows, err := p.list(ctx, "-t", "volume", "-r", "-o", "name,volsize,used", p.cfg.Dataset)
	if err != nil {
		return nil, err
	}
	var out []storage.VolumeState
	for _, f := range rows {
		name, ok := strings.CutPrefix(f[0], p.cfg.Dataset+"/")
		if len(f) != 3 || !ok {
			continue
		}
		if _, _, ours := storage.ParseVolumeName(name); !ours {
			continue
		}
		size, err := kib(f[1])
		if err != nil {
			return nil, err
		}
		used, err := kib(f[2])
		if err != nil {
			return nil, err
		}
		out = append(out, storage.VolumeState{Name: name, DevicePath: p.device(name), BackingPath: p.zvol(name), AllocatedKib: used, UsableKib: size})
	}
	return out, nil
}

func roundedSize(sizeKib int64) string {
	return strconv.FormatInt((sizeKib+blockKib-1)/blockKib*blockKib, 10) + "k"
}

// Create makes the zvol, or adopts the one there.
func (p *Pool) Create(ctx context.Context, v storage.Volume) (storage.VolumeState, error) {
	if st, ok, err := storage.Find(ctx, p, v.Name); err != nil || ok {
		return st, err
	}
	args := []string{"create"}
	if p.cfg.Thin {
		args = append(args, "-s")
	}
	args = append(append(args, "-V", roundedSize(v.SizeKib)), p.cfg.Options(v)...)
	if _, err := p.run.Run(ctx, "zfs", append(args, p.zvol(v.Name))...); err != nil {
		return storage.VolumeState{}, err
	}
	return p.created(ctx, v.Name)
}

// created waits for udev to make the zvol's device and reads its state.
func (p *Pool) created(ctx context.Context, name string) (storage.VolumeState, error) {
	if err := storage.WaitForDevice(ctx, p.exists, p.device(name), p.cfg.WaitTimeout); err != nil {
		return storage.VolumeState{}, err
	}
	return storage.Reread(ctx, p, name)
}

// Resize grows the zvol.
func (p *Pool) Resize(ctx context.Context, v storage.Volume) (storage.VolumeState, error) {
	if _, err := p.run.Run(ctx, "zfs", "set", "volsize="+roundedSize(v.SizeKib), p.zvol(v.Name)); err != nil {
		return storage.VolumeState{}, err
	}
	return storage.Reread(ctx, p, v.Name)
}

// Delete destroys the zvol. One that still has snapshots is refused by
// zfs, which keeps the snapshots the user may still want.
func (p *Pool) Delete(ctx context.Context, name string) error {
	if _, ok, err := storage.Find(ctx, p, name); err != nil || !ok {
		return err
	}
	_, err := p.run.Run(ctx, "zfs", "destroy", p.zvol(name))
	return err
}

// Capacity is the dataset's available space; total counts what is used.
func (p *Pool) Capacity(ctx context.Context) (storage.Capacity, error) {
	rows, err := p.list(ctx, "-o", "name,used,available", p.cfg.Dataset)
	if err != nil {
		return storage.Capacity{}, err
	}
	if len(rows) != 1 || len(rows[0]) != 3 {
		return storage.Capacity{}, fmt.Errorf("zfs list printed %d lines for dataset %s", len(rows), p.cfg.Dataset)
	}
	used, err := kib(rows[0][1])
	if err != nil {
		return storage.Capacity{}, err
	}
	avail, err := kib(rows[0][2])
	return storage.Capacity{FreeKib: avail, TotalKib: used + avail}, err
}

// Snapshot takes a ZFS snapshot.
func (p *Pool) Snapshot(ctx context.Context, name, snapshot string) error {
	_, err := p.run.Run(ctx, "zfs", append(append([]string{"snapshot"}, p.cfg.SnapshotOptions...), p.snapshot(name, snapshot))...)
	return err
}

// Rollback rolls the zvol back; later snapshots are destroyed, as ZFS
// requires.
func (p *Pool) Rollback(ctx context.Context, name, snapshot string) error {
	_, err := p.run.Run(ctx, "zfs", "rollback", "-r", p.snapshot(name, snapshot))
	return err
}

// DeleteSnapshot destroys a snapshot; a missing one is no error.
func (p *Pool) DeleteSnapshot(ctx context.Context, name, snapshot string) error {
	rows, err := p.list(ctx, "-t", "snapshot", "-o", "name", p.zvol(name))
	if err != nil {
		return err
	}
	for _, f := range rows {
		if f[0] == p.snapshot(name, snapshot) {
			_, err := p.run.Run(ctx, "zfs", "destroy", f[0])
			return err
		}
	}
	return nil
}

// Clone makes target a ZFS clone of the snapshot.
func (p *Pool) Clone(ctx context.Context, name, snapshot, target string) (storage.VolumeState, error) {
	if _, err := p.run.Run(ctx, "zfs", "clone", p.snapshot(name, snapshot), p.zvol(target)); err != nil {
		return storage.VolumeState{}, err
	}
	return p.created(ctx, target)
}

// Send streams the snapshot with zfs send.
func (p *Pool) Send(ctx context.Context, name, snapshot string, w io.Writer) error {
	return p.run.Pipe(ctx, nil, w, "zfs", "send", p.snapshot(name, snapshot))
}

// Receive makes the zvol from a zfs send stream; the stream carries the
// size.
func (p *Pool) Receive(ctx context.Context, v storage.Volume, r io.Reader) (storage.VolumeState, error) {
	if err := p.run.Pipe(ctx, r, nil, "zfs", "receive", p.zvol(v.Name)); err != nil {
		return storage.VolumeState{}, err
	}
	return p.created(ctx, v.Name)
}
