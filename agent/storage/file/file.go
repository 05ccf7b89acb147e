// Package file is the FILE and FILE_THIN storage provider: each volume is
// a file in the pool's directory (preallocated for FILE, sparse for
// FILE_THIN), attached as a loop device where the machine allows it.
// Snapshots are reflinks where the file system supports them, else
// sparse copies.
package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"strata/agent/execrun"
	"strata/agent/storage"
)

// Pool is a directory holding volumes as files.
type Pool struct {
	dir  string
	thin bool
	run  execrun.Runner
	loop bool // attach volumes as loop devices
	// loops maps the pool's files to their loop devices, read once from
	// losetup and kept up to date by attach and detach: asking losetup
	// per volume costs a scan of every loop device each time.
	loops map[string]string
}

// New opens the pool in dir. Volumes are attached as loop devices when
// losetup works on this machine.
func New(ctx context.Context, dir string, thin bool, run execrun.Runner) *Pool {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // losetup names files by their real path
	}
	_, err := run.Run(ctx, "losetup", "--find")
	return &Pool{dir: dir, thin: thin, run: run, loop: err == nil}
}

// Kind is FILE or FILE_THIN.
func (p *Pool) Kind() string {
	if p.thin {
		return "FILE_THIN"
	}
	return "FILE"
}

func (p *Pool) path(name string) string { return filepath.Join(p.dir, name+".img") }

func (p *Pool) snapshotPath(name, snapshot string) string {
	return filepath.Join(p.dir, name+"@"+snapshot+".snap")
}

// checkDir reports a missing pool directory plainly.
func (p *Pool) checkDir() error {
	fi, err := os.Stat(p.dir)
	if err != nil {
		return fmt.Errorf("directory %s of the storage pool: %w", p.dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s of the storage pool is not a directory", p.dir)
	}
	return nil
}

func checkName(name string) error {
	if _, _, ok := storage.ParseVolumeName(name); !ok {
		return fmt.Errorf("%q is not a volume name of the form <resource>_<nnnnn>", name)
	}
	return nil
}

// Create makes the volume's file and attaches it. An existing volume is
// adopted as it is: growing it is Resize's, which also tells its loop
// device the new size.
func (p *Pool) Create(ctx context.Context, v storage.Volume) (storage.VolumeState, error) {
	if err := checkName(v.Name); err != nil {
		return storage.VolumeState{}, err
	}
	if err := p.checkDir(); err != nil {
		return storage.VolumeState{}, err
	}
	if _, err := os.Stat(p.path(v.Name)); errors.Is(err, os.ErrNotExist) {
		if err := p.grow(v, os.O_CREATE); err != nil {
			return storage.VolumeState{}, fmt.Errorf("create volume %s: %w", v.Name, err)
		}
	}
	return p.attach(ctx, v.Name)
}

// grow makes the volume's file at least its size: sparse for thin pools,
// allocated for thick ones. flags may add os.O_CREATE.
func (p *Pool) grow(v storage.Volume, flags int) (err error) {
	f, err := os.OpenFile(p.path(v.Name), os.O_RDWR|flags, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := v.SizeKib * 1024
	switch {
	case fi.Size() >= size:
		return nil
	case p.thin:
		return f.Truncate(size)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("allocate %d KiB: %w", v.SizeKib, err)
	}
	return nil
}

// Resize grows the volume's file and tells its loop device.
func (p *Pool) Resize(ctx context.Context, v storage.Volume) (storage.VolumeState, error) {
	if err := p.grow(v, 0); err != nil {
		return storage.VolumeState{}, fmt.Errorf("resize volume %s: %w", v.Name, err)
	}
	st, err := p.attach(ctx, v.Name)
	if err == nil && p.loop {
		_, err = p.run.Run(ctx, "losetup", "--set-capacity", st.DevicePath)
	}
	return st, err
}

// attach makes sure the volume has its loop device and returns its state.
func (p *Pool) attach(ctx context.Context, name string) (storage.VolumeState, error) {
	if p.loop {
		dev, err := p.device(ctx, name)
		if err != nil {
			return storage.VolumeState{}, err
		}
		if dev == "" {
			unlock, err := lockLoopDevices()
			if err != nil {
				return storage.VolumeState{}, err
			}
			out, err := p.run.Run(ctx, "losetup", "--find", "--show", p.path(name))
			unlock()
			if err != nil {
				return storage.VolumeState{}, fmt.Errorf("attach volume %s: %w", name, err)
			}
			p.loops[p.path(name)] = strings.TrimSpace(string(out))
		}
	}
	return p.state(ctx, name)
}

// device is the loop device the volume's file is attached to, or "".
func (p *Pool) device(ctx context.Context, name string) (string, error) {
	if p.loops == nil {
		out, err := p.run.Run(ctx, "losetup", "--list", "--json", "--output", "NAME,BACK-FILE")
		if err != nil {
			return "", fmt.Errorf("list loop devices: %w", err)
		}
		var list struct {
			Devices []struct {
				Name     string `json:"name"`
				BackFile string `json:"back-file"`
			} `json:"loopdevices"`
		}
		if len(bytes.TrimSpace(out)) > 0 { // losetup prints nothing when no device is attached
			if err := json.Unmarshal(out, &list); err != nil {
				return "", fmt.Errorf("read losetup's list: %w", err)
			}
		}
		p.loops = map[string]string{}
		for _, d := range list.Devices {
			p.loops[d.BackFile] = d.Name
		}
	}
	return p.loops[p.path(name)], nil
}

func (p *Pool) state(ctx context.Context, name string) (storage.VolumeState, error) {
	path := p.path(name)
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return storage.VolumeState{}, fmt.Errorf("volume %s: %w", name, err)
	}
	s := storage.VolumeState{Name: name, DevicePath: path, BackingPath: path, AllocatedKib: st.Blocks * 512 / 1024, UsableKib: st.Size / 1024}
	if p.loop {
		dev, err := p.device(ctx, name)
		if err != nil {
			return s, err
		}
		if dev != "" {
			s.DevicePath = dev
		}
	}
	return s, nil
}

// Delete detaches and removes the volume's file.
func (p *Pool) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := os.Stat(p.path(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if p.loop {
		dev, err := p.device(ctx, name)
		if err != nil {
			return err
		}
		if dev != "" {
			if _, err := p.run.Run(ctx, "losetup", "--detach", dev); err != nil {
				return fmt.Errorf("detach volume %s: %w", name, err)
			}
			delete(p.loops, p.path(name))
		}
	}
	if err := os.Remove(p.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete volume %s: %w", name, err)
	}
	return nil
}

// Volumes lists the files the agent named; others in the directory are
// not its business.
func (p *Pool) Volumes(ctx context.Context) ([]storage.VolumeState, error) {
	if err := p.checkDir(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	var out []storage.VolumeState
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".img")
		if _, _, named := storage.ParseVolumeName(name); !ok || !named || e.IsDir() {
			continue
		}
		st, err := p.state(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Capacity is the space of the file system holding the directory.
func (p *Pool) Capacity(context.Context) (storage.Capacity, error) {
	if err := p.checkDir(); err != nil {
		return storage.Capacity{}, err
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(p.dir, &fs); err != nil {
		return storage.Capacity{}, fmt.Errorf("capacity of %s: %w", p.dir, err)
	}
	bs := int64(fs.Bsize)
	return storage.Capacity{FreeKib: int64(fs.Bavail) * bs / 1024, TotalKib: int64(fs.Blocks) * bs / 1024}, nil
}

// Snapshots lists the snapshot files of the agent's volumes.
func (p *Pool) Snapshots(context.Context) ([]storage.SnapshotID, error) {
	if err := p.checkDir(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	var out []storage.SnapshotID
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".snap")
		name, snap, at := strings.Cut(base, "@")
		if _, _, named := storage.ParseVolumeName(name); ok && at && named && snap != "" && !e.IsDir() {
			out = append(out, storage.SnapshotID{Volume: name, Snapshot: snap})
		}
	}
	return out, nil
}

// SupportsSnapshots probes whether the pool's file system makes
// reflinks (LINSTOR's cp --reflink=always probe): a snapshot is then a
// clone of the file's extents, instant and taking no space until the
// volume changes.
func (p *Pool) SupportsSnapshots(context.Context) bool {
	src, err := os.CreateTemp(p.dir, ".reflink-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(src.Name())
	defer src.Close()
	if _, err := src.Write(make([]byte, 4096)); err != nil {
		return false
	}
	dst, err := os.CreateTemp(p.dir, ".reflink-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(dst.Name())
	defer dst.Close()
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil
}

// Snapshot clones the volume's data aside: a reflink where the file
// system makes them, else a copy.
func (p *Pool) Snapshot(_ context.Context, name, snapshot string) error {
	if err := storage.CopyFile(p.path(name), p.snapshotPath(name, snapshot), false); err != nil {
		return fmt.Errorf("snapshot %s of volume %s: %w", snapshot, name, err)
	}
	return nil
}

// Rollback writes the snapshot's data back into the volume's file, in
// place: its loop device keeps pointing at the same file.
func (p *Pool) Rollback(_ context.Context, name, snapshot string) error {
	if err := storage.CopyFile(p.snapshotPath(name, snapshot), p.path(name), true); err != nil {
		return fmt.Errorf("roll volume %s back to %s: %w", name, snapshot, err)
	}
	return nil
}

// DeleteSnapshot removes the snapshot's file.
func (p *Pool) DeleteSnapshot(_ context.Context, name, snapshot string) error {
	if err := os.Remove(p.snapshotPath(name, snapshot)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete snapshot %s of volume %s: %w", snapshot, name, err)
	}
	return nil
}

// Clone creates a volume from a snapshot.
func (p *Pool) Clone(ctx context.Context, name, snapshot, target string) (storage.VolumeState, error) {
	if err := checkName(target); err != nil {
		return storage.VolumeState{}, err
	}
	if err := storage.CopyFile(p.snapshotPath(name, snapshot), p.path(target), false); err != nil {
		return storage.VolumeState{}, fmt.Errorf("clone %s from snapshot %s of %s: %w", target, snapshot, name, err)
	}
	return p.attach(ctx, target)
}

// SnapshotFile is the snapshot's file.
func (p *Pool) SnapshotFile(name, snapshot string) (string, error) {
	path := p.snapshotPath(name, snapshot)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("snapshot %s of volume %s: %w", snapshot, name, err)
	}
	return path, nil
}

// PartialSnapshotFile is where a snapshot is received: its name does not
// end in .snap until CommitSnapshot.
func (p *Pool) PartialSnapshotFile(name, snapshot string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := p.checkDir(); err != nil {
		return "", err
	}
	return p.snapshotPath(name, snapshot) + ".partial", nil
}

// DropPartialSnapshots removes the .snap.partial files, and their
// restore logs, of the snapshots not being received.
func (p *Pool) DropPartialSnapshots(receiving map[storage.SnapshotID]bool) error {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(strings.TrimSuffix(e.Name(), ".done"), ".snap.partial")
		name, snap, at := strings.Cut(base, "@")
		if _, _, named := storage.ParseVolumeName(name); !ok || !at || !named || e.IsDir() || receiving[storage.SnapshotID{Volume: name, Snapshot: snap}] {
			continue
		}
		if err := os.Remove(filepath.Join(p.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// CommitSnapshot makes a received snapshot a snapshot of the pool.
func (p *Pool) CommitSnapshot(name, snapshot string) error {
	path := p.snapshotPath(name, snapshot)
	if err := os.Rename(path+".partial", path); err != nil {
		return fmt.Errorf("commit received snapshot %s of volume %s: %w", snapshot, name, err)
	}
	d, err := os.Open(p.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Send writes the snapshot's bytes.
func (p *Pool) Send(_ context.Context, name, snapshot string, w io.Writer) error {
	f, err := os.Open(p.snapshotPath(name, snapshot))
	if err != nil {
		return fmt.Errorf("send snapshot %s of volume %s: %w", snapshot, name, err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Receive writes a sent volume into a new, sparse file and attaches it.
func (p *Pool) Receive(ctx context.Context, v storage.Volume, r io.Reader) (storage.VolumeState, error) {
	name := v.Name
	if err := checkName(name); err != nil {
		return storage.VolumeState{}, err
	}
	f, err := os.OpenFile(p.path(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return storage.VolumeState{}, fmt.Errorf("receive volume %s: %w", name, err)
	}
	err = storage.SparseCopy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(p.path(name))
		return storage.VolumeState{}, fmt.Errorf("receive volume %s: %w", name, err)
	}
	return p.attach(ctx, name)
}

// loopLock is the host-wide lock of attaching loop devices.
var loopLock = filepath.Join(os.TempDir(), "strata-losetup.lock")

// lockLoopDevices takes the host's lock of attaching loop devices.
// losetup --find picks a free device and then claims it; when two
// processes pick the same one, the loser backs off for 200 ms and tries
// again. One agent attaches one volume at a time, but several agents on
// one kernel (tests, or nodes in containers) would otherwise keep
// colliding.
func lockLoopDevices() (unlock func(), err error) {
	f, err := os.OpenFile(loopLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", loopLock, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", loopLock, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}
