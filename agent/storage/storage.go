// Package storage is what the agent asks of every storage provider (FILE,
// FILE_THIN, LVM, ZFS, ...): volumes named as LINSTOR names them,
// created, resized and deleted idempotently, their snapshots, and the
// pool's capacity. Each provider lives in a package below this one.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// VolumeName is LINSTOR's name of a resource's volume: <resource>_<nr:05d>.
func VolumeName(resource string, nr int32) string { return fmt.Sprintf("%s_%05d", resource, nr) }

var volumeNameRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]{1,47})_([0-9]{5})$`)

// ParseVolumeName splits a volume name into resource and volume number; ok
// is false for names the agent did not give (it never touches those).
func ParseVolumeName(name string) (resource string, nr int32, ok bool) {
	m := volumeNameRE.FindStringSubmatch(name)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], int32(n), true
}

// Volume is a volume as the controller wants it.
type Volume struct {
	Name    string
	SizeKib int64
	// CreateOptions are appended to the provider's create command
	// (StorDriver/LvcreateOptions, StorDriver/ZfscreateOptions) when set
	// on the volume's definition, in place of the pool's.
	CreateOptions []string
}

// VolumeState is a volume as it is on the node.
type VolumeState struct {
	Name         string
	DevicePath   string // the block device, or the file itself where no loop device can be attached
	BackingPath  string // what holds the data (file, logical volume, zvol)
	AllocatedKib int64  // space taken in the pool
	UsableKib    int64  // size the device offers
}

// SnapshotID names a snapshot of a volume.
type SnapshotID struct {
	Volume, Snapshot string
}

// Capacity is a pool's space in KiB.
type Capacity struct {
	FreeKib, TotalKib int64
}

// Provider is one storage pool of a node.
type Provider interface {
	// Kind is LINSTOR's provider kind, such as FILE_THIN.
	Kind() string
	// Create makes the volume exist with at least its size; a volume
	// that exists already is adopted as it is.
	Create(ctx context.Context, v Volume) (VolumeState, error)
	// Resize grows the volume to its size.
	Resize(ctx context.Context, v Volume) (VolumeState, error)
	// Delete removes a volume; one that does not exist is no error.
	Delete(ctx context.Context, name string) error
	// Volumes lists the volumes the agent gave names to.
	Volumes(ctx context.Context) ([]VolumeState, error)
	// Capacity is the pool's space.
	Capacity(ctx context.Context) (Capacity, error)

	// Snapshots lists the snapshots of the volumes the agent named.
	Snapshots(ctx context.Context) ([]SnapshotID, error)
	// SupportsSnapshots tells whether the pool can take snapshots.
	SupportsSnapshots(ctx context.Context) bool
	// Snapshot keeps the volume's current data under the snapshot's name.
	Snapshot(ctx context.Context, name, snapshot string) error
	// Rollback makes the volume's data the snapshot's again.
	Rollback(ctx context.Context, name, snapshot string) error
	// DeleteSnapshot removes a snapshot; a missing one is no error.
	DeleteSnapshot(ctx context.Context, name, snapshot string) error
	// Clone creates volume target from a snapshot of volume name.
	Clone(ctx context.Context, name, snapshot, target string) (VolumeState, error)
	// Send writes a snapshot's data to w.
	Send(ctx context.Context, name, snapshot string, w io.Writer) error
	// Receive creates volume v from data read from r; v's size is the
	// sent volume's, for providers that must allocate before writing.
	Receive(ctx context.Context, v Volume, r io.Reader) (VolumeState, error)
}

// SnapshotFiles is a pool whose snapshots are files, which backups read
// and write directly.
type SnapshotFiles interface {
	// SnapshotFile is the file of a snapshot that is there.
	SnapshotFile(name, snapshot string) (string, error)
	// PartialSnapshotFile is where a snapshot being received is written
	// (never listed as a snapshot); CommitSnapshot makes it the snapshot.
	PartialSnapshotFile(name, snapshot string) (string, error)
	CommitSnapshot(name, snapshot string) error
	// DropPartialSnapshots removes what receives left of the snapshots
	// not being received (any more): a restore that failed or was
	// given up.
	DropPartialSnapshots(receiving map[SnapshotID]bool) error
}

// DefaultWaitAfterCreate is how long a provider waits for a new volume's
// device to appear, unless StorDriver/WaitTimeoutAfterCreate says
// otherwise (the guide's 500 ms).
const DefaultWaitAfterCreate = 500 * time.Millisecond

// DeviceExists tells whether a device node is there; it is the one
// question providers ask the kernel directly, so tests can answer it.
type DeviceExists func(path string) bool

// OSDeviceExists asks the file system.
func OSDeviceExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// DeviceInUse tells whether a block device is held: mounted, or opened
// exclusively by another program (the kernel refuses an exclusive open
// then). A plain file is never held.
func DeviceInUse(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		return errors.Is(err, unix.EBUSY)
	}
	unix.Close(fd)
	return false
}

// WaitForDevice waits until path exists or timeout passes.
func WaitForDevice(ctx context.Context, exists DeviceExists, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !exists(path) {
		if time.Now().After(deadline) {
			return fmt.Errorf("device %s did not appear within %v (StorDriver/WaitTimeoutAfterCreate)", path, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// Settings are a pool's StorDriver/* properties that every command-line
// provider reads.
type Settings struct {
	CreateOptions   []string      // LvcreateOptions or ZfscreateOptions
	SnapshotOptions []string      // LvcreateSnapshotOptions or ZfsSnapshotOptions
	WaitTimeout     time.Duration // WaitTimeoutAfterCreate
}

// ReadSettings reads the settings from a pool's properties; createKey
// and snapshotKey are the provider's options properties.
func ReadSettings(props map[string]string, createKey, snapshotKey string) (Settings, error) {
	s := Settings{CreateOptions: strings.Fields(props[createKey]), SnapshotOptions: strings.Fields(props[snapshotKey]), WaitTimeout: DefaultWaitAfterCreate}
	if v := props["StorDriver/WaitTimeoutAfterCreate"]; v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return s, fmt.Errorf("StorDriver/WaitTimeoutAfterCreate %q is not a number of milliseconds", v)
		}
		s.WaitTimeout = time.Duration(ms) * time.Millisecond
	}
	return s, nil
}

// ParseKib reads a size as lvs and vgs print it with --units k --nosuffix.
func ParseKib(s string) (int64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	// ParseFloat also reads NaN, Inf and negatives, which no size is.
	if !(f >= 0 && f < math.MaxInt64) {
		return 0, fmt.Errorf("size %q is not a size in KiB", s)
	}
	return int64(f), nil
}

// CreateOptions are the options for creating v: its own, else the pool's.
func (s Settings) Options(v Volume) []string {
	if v.CreateOptions != nil {
		return v.CreateOptions
	}
	return s.CreateOptions
}

// Lister is what Find needs of a provider.
type Lister interface {
	Volumes(ctx context.Context) ([]VolumeState, error)
}

// Find looks a volume up among a provider's volumes.
func Find(ctx context.Context, l Lister, name string) (VolumeState, bool, error) {
	vols, err := l.Volumes(ctx)
	if err != nil {
		return VolumeState{}, false, err
	}
	for _, v := range vols {
		if v.Name == name {
			return v, true, nil
		}
	}
	return VolumeState{}, false, nil
}

// Reread reads a volume's state after a command that made or changed it;
// a volume that is not listed then is an error.
func Reread(ctx context.Context, l Lister, name string) (VolumeState, error) {
	st, ok, err := Find(ctx, l, name)
	if err == nil && !ok {
		err = fmt.Errorf("volume %s is not listed after it was made or changed", name)
	}
	return st, err
}
