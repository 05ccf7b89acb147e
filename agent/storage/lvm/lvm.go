// Package lvm is the LVM and LVM_THIN storage provider: each volume is a
// logical volume of the pool's volume group, thick or in its thin pool,
// made with lvcreate and read back with lvs and vgs. Snapshots are thin
// snapshots, so only LVM_THIN has them.
package lvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"strata/agent/execrun"
	"strata/agent/storage"
)

// Config is a pool: its volume group, its thin pool (LVM_THIN) and the
// StorDriver/* settings.
type Config struct {
	VG       string
	ThinPool string // empty: thick LVM
	storage.Settings
	DMStats bool // dmstats create after create, delete before delete
}

// Pool is an LVM volume group or thin pool.
type Pool struct {
	cfg    Config
	run    execrun.Runner
	exists storage.DeviceExists
}

// New opens the pool; exists tells whether a device node is there.
func New(cfg Config, run execrun.Runner, exists storage.DeviceExists) *Pool {
	return &Pool{cfg: cfg, run: run, exists: exists}
}

// Kind is LVM or LVM_THIN.
func (p *Pool) Kind() string {
	if p.cfg.ThinPool != "" {
		return "LVM_THIN"
	}
	return "LVM"
}

var errThickSnapshot = errors.New("LVM pools have no snapshots; snapshots need an LVM_THIN pool")

// report flags of lvs and vgs: sizes in KiB without suffix, one line per
// object, fields separated by ';'.
var report = []string{"--noheadings", "--units", "k", "--nosuffix", "--separator", ";", "-o"}

func (p *Pool) lv(name string) string { return p.cfg.VG + "/" + name }

func (p *Pool) device(name string) string { return "/dev/" + p.cfg.VG + "/" + name }

// snapshotName is LINSTOR's name of a volume's snapshot.
func snapshotName(name, snapshot string) string { return name + "_" + snapshot }

// lvFields are the columns Volumes reads, in order.
const lvFields = "lv_name,lv_path,lv_size,vg_name,pool_lv,data_percent,lv_attr"

type lvRow struct {
	name, pool, attr string
	sizeKib          int64
	dataPercent      float64
}

// lvs lists the volume group's logical volumes.
func (p *Pool) lvs(ctx context.Context) ([]lvRow, error) {
	out, err := p.run.Run(ctx, "lvs", append(report, lvFields, p.cfg.VG)...)
	if err != nil {
		return nil, err
	}
	var rows []lvRow
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), ";")
		if len(f) != 7 {
			continue
		}
		size, err := storage.ParseKib(f[2])
		if err != nil {
			return nil, fmt.Errorf("lvs: %w", err)
		}
		pct, _ := strconv.ParseFloat(f[5], 64) // empty while the pool is inactive
		rows = append(rows, lvRow{name: f[0], sizeKib: size, pool: f[4], dataPercent: pct, attr: f[6]})
	}
	return rows, nil
}

// mine tells whether a logical volume is a volume of this pool that the
// agent named: in the thin pool (or not in any for thick LVM) and not a
// snapshot (those carry the activation-skip flag 'k').
func (p *Pool) mine(r lvRow) bool {
	if _, _, ok := storage.ParseVolumeName(r.name); !ok || r.pool != p.cfg.ThinPool {
		return false
	}
	return len(r.attr) < 10 || r.attr[9] != 'k'
}

func (p *Pool) state(r lvRow) storage.VolumeState {
	allocated := r.sizeKib
	if p.cfg.ThinPool != "" {
		allocated = int64(float64(r.sizeKib) * r.dataPercent / 100)
	}
	return storage.VolumeState{Name: r.name, DevicePath: p.device(r.name), BackingPath: p.device(r.name), AllocatedKib: allocated, UsableKib: r.sizeKib}
}

// Create makes the logical volume, or adopts the one there.
func (p *Pool) Create(ctx context.Context, v storage.Volume) (storage.VolumeState, error) {
	if st, ok, err := storage.Find(ctx, p, v.Name); err != nil || ok {
		return st, err
	}
	size := strconv.FormatInt(v.SizeKib, 10) + "k"
	args := []string{"--size", size, "--name", v.Name, "--yes"}
	if p.cfg.ThinPool != "" {
		args = []string{"--virtualsize", size, "--thinpool", p.cfg.ThinPool, "--name", v.Name, "--yes"}
	}
	args = append(append(args, p.cfg.Options(v)...), p.cfg.VG)
	if _, err := p.run.Run(ctx, "lvcreate", args...); err != nil {
		return storage.VolumeState{}, err
	}
	return p.created(ctx, v.Name)
}

// created waits for a new volume's device and reads its state.
func (p *Pool) created(ctx context.Context, name string) (storage.VolumeState, error) {
	dev := p.device(name)
	if err := storage.WaitForDevice(ctx, p.exists, dev, p.cfg.WaitTimeout); err != nil {
		return storage.VolumeState{}, err
	}
	if p.cfg.DMStats {
		if _, err := p.run.Run(ctx, "dmstats", "create", dev); err != nil {
			return storage.VolumeState{}, err
		}
	}
	return storage.Reread(ctx, p, name)
}

// Resize grows the logical volume.
func (p *Pool) Resize(ctx context.Context, v storage.Volume) (storage.VolumeState, error) {
	if _, err := p.run.Run(ctx, "lvresize", "--size", strconv.FormatInt(v.SizeKib, 10)+"k", p.lv(v.Name)); err != nil {
		return storage.VolumeState{}, err
	}
	return storage.Reread(ctx, p, v.Name)
}

// Delete removes the logical volume.
func (p *Pool) Delete(ctx context.Context, name string) error {
	if _, ok, err := storage.Find(ctx, p, name); err != nil || !ok {
		return err
	}
	if p.cfg.DMStats {
		if _, err := p.run.Run(ctx, "dmstats", "delete", p.device(name), "--allregions"); err != nil {
			return err
		}
	}
	_, err := p.run.Run(ctx, "lvremove", "--force", p.lv(name))
	return err
}

// Volumes lists the pool's volumes the agent named.
func (p *Pool) Volumes(ctx context.Context) ([]storage.VolumeState, error) {
	rows, err := p.lvs(ctx)
	if err != nil {
		return nil, err
	}
	var out []storage.VolumeState
	for _, r := range rows {
		if p.mine(r) {
			out = append(out, p.state(r))
		}
	}
	return out, nil
}

// Capacity is the volume group's free space, or the thin pool's.
func (p *Pool) Capacity(ctx context.Context) (storage.Capacity, error) {
	if p.cfg.ThinPool == "" {
		out, err := p.run.Run(ctx, "vgs", append(report, "vg_name,vg_size,vg_free", p.cfg.VG)...)
		if err != nil {
			return storage.Capacity{}, err
		}
		f := strings.Split(strings.TrimSpace(string(out)), ";")
		if len(f) != 3 {
			return storage.Capacity{}, fmt.Errorf("vgs printed %q for volume group %s", out, p.cfg.VG)
		}
		total, err := storage.ParseKib(f[1])
		if err != nil {
			return storage.Capacity{}, err
		}
		free, err := storage.ParseKib(f[2])
		return storage.Capacity{FreeKib: free, TotalKib: total}, err
	}
	rows, err := p.lvs(ctx)
	if err != nil {
		return storage.Capacity{}, err
	}
	for _, r := range rows {
		if r.name == p.cfg.ThinPool && strings.HasPrefix(r.attr, "t") {
			return storage.Capacity{TotalKib: r.sizeKib, FreeKib: r.sizeKib - int64(float64(r.sizeKib)*r.dataPercent/100)}, nil
		}
	}
	return storage.Capacity{}, fmt.Errorf("thin pool %s is not in volume group %s", p.cfg.ThinPool, p.cfg.VG)
}

// snapshotLV splits a thin snapshot's name into its volume and snapshot.
var snapshotLV = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*?_[0-9]{5})_([A-Za-z_][A-Za-z0-9_-]*)$`)

// Snapshots lists the thin snapshots of the agent's volumes: logical
// volumes named <volume>_<snapshot> that carry the activation-skip flag.
func (p *Pool) Snapshots(ctx context.Context) ([]storage.SnapshotID, error) {
	if p.cfg.ThinPool == "" {
		return nil, nil
	}
	rows, err := p.lvs(ctx)
	if err != nil {
		return nil, err
	}
	var out []storage.SnapshotID
	for _, r := range rows {
		m := snapshotLV.FindStringSubmatch(r.name)
		if m != nil && r.pool == p.cfg.ThinPool && len(r.attr) >= 10 && r.attr[9] == 'k' {
			out = append(out, storage.SnapshotID{Volume: m[1], Snapshot: m[2]})
		}
	}
	return out, nil
}

// SupportsSnapshots: thin pools do, thick volume groups do not.
func (p *Pool) SupportsSnapshots(context.Context) bool { return p.cfg.ThinPool != "" }

// Snapshot makes a thin snapshot.
func (p *Pool) Snapshot(ctx context.Context, name, snapshot string) error {
	if p.cfg.ThinPool == "" {
		return errThickSnapshot
	}
	args := append(append([]string{}, p.cfg.SnapshotOptions...), "--snapshot", "--setactivationskip", "y", "--ignoreactivationskip", "--activate", "y", "--name", snapshotName(name, snapshot), p.lv(name))
	_, err := p.run.Run(ctx, "lvcreate", args...)
	return err
}

// Rollback replaces the volume by a writable snapshot of its snapshot,
// which is how thin volumes go back in time.
func (p *Pool) Rollback(ctx context.Context, name, snapshot string) error {
	if p.cfg.ThinPool == "" {
		return errThickSnapshot
	}
	if _, err := p.run.Run(ctx, "lvremove", "--force", p.lv(name)); err != nil {
		return err
	}
	_, err := p.clone(ctx, name, snapshot, name)
	return err
}

// DeleteSnapshot removes a thin snapshot.
func (p *Pool) DeleteSnapshot(ctx context.Context, name, snapshot string) error {
	if p.cfg.ThinPool == "" {
		return errThickSnapshot
	}
	rows, err := p.lvs(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.name == snapshotName(name, snapshot) {
			_, err := p.run.Run(ctx, "lvremove", "--force", p.lv(r.name))
			return err
		}
	}
	return nil
}

// Clone makes target a writable, active thin snapshot of the snapshot.
func (p *Pool) Clone(ctx context.Context, name, snapshot, target string) (storage.VolumeState, error) {
	if p.cfg.ThinPool == "" {
		return storage.VolumeState{}, errThickSnapshot
	}
	return p.clone(ctx, name, snapshot, target)
}

func (p *Pool) clone(ctx context.Context, name, snapshot, target string) (storage.VolumeState, error) {
	if _, err := p.run.Run(ctx, "lvcreate", "--snapshot", "--setactivationskip", "n", "--name", target, p.lv(snapshotName(name, snapshot))); err != nil {
		return storage.VolumeState{}, err
	}
	return p.created(ctx, target)
}

// Send streams the snapshot's blocks; the snapshot is activated for
// the read and deactivated after.
func (p *Pool) Send(ctx context.Context, name, snapshot string, w io.Writer) error {
	if p.cfg.ThinPool == "" {
		return errThickSnapshot
	}
	snap := snapshotName(name, snapshot)
	if _, err := p.run.Run(ctx, "lvchange", "--activate", "y", "--ignoreactivationskip", p.lv(snap)); err != nil {
		return err
	}
	err := p.run.Pipe(ctx, nil, w, "dd", "if="+p.device(snap), "bs=1M", "status=none")
	if _, derr := p.run.Run(ctx, "lvchange", "--activate", "n", p.lv(snap)); err == nil {
		err = derr
	}
	return err
}

// Receive creates the volume and writes the stream into it. Zero blocks
// are skipped in a thin pool, whose new volumes read as zeros.
func (p *Pool) Receive(ctx context.Context, v storage.Volume, r io.Reader) (storage.VolumeState, error) {
	st, err := p.Create(ctx, v)
	if err != nil {
		return st, err
	}
	conv := "conv=fsync"
	if p.cfg.ThinPool != "" {
		conv = "conv=sparse,fsync"
	}
	if err := p.run.Pipe(ctx, r, nil, "dd", "of="+st.DevicePath, "bs=1M", conv, "status=none"); err != nil {
		return storage.VolumeState{}, err
	}
	return st, nil
}
