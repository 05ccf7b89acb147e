package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun"
	"strata/agent/execrun/execruntest"
	"strata/agent/proto"
)

// attach makes a sparse file of size bytes and attaches it as a loop
// device, detached again when the test ends.
func attach(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.raw")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	require.NoError(t, os.Truncate(path, size))
	out, err := exec.Command("losetup", "--find", "--show", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", dev).Run() })
	return dev
}

// TestDisksOnThisMachine lists this machine's real block devices: an
// empty 2 GiB loop device is offered; one with a file system, one too
// small and the loop device of a FILE_THIN volume are not.
func TestDisksOnThisMachine(t *testing.T) {
	ctx := context.Background()
	empty := attach(t, 2<<30)
	small := attach(t, 512<<20)
	formatted := attach(t, 2<<30)
	out, err := exec.Command("mkfs.ext4", "-q", formatted).CombinedOutput()
	require.NoError(t, err, "%s", out)

	a := newAgent()
	dir := t.TempDir()
	rep := a.Apply(ctx, state(dir, proto.Volume{Resource: "big", VlmNr: 0, Pool: "pool1", SizeKib: 2 << 20}))
	t.Cleanup(func() { a.Apply(ctx, state(dir)) })
	require.Empty(t, rep.Volumes[0].Error)
	volumeLoop := rep.Volumes[0].DevicePath

	disks, err := a.Disks(ctx)
	require.NoError(t, err)
	offered := map[string]proto.Disk{}
	for _, d := range disks {
		offered[d.Device] = d
	}
	require.Contains(t, offered, empty)
	assert.EqualValues(t, 2<<30, offered[empty].SizeBytes)
	for _, dev := range []string{small, formatted, volumeLoop} {
		assert.NotContains(t, offered, dev)
	}
}

func TestCreateDevicePool(t *testing.T) {
	ctx := context.Background()
	lsblk, err := os.ReadFile("testdata/lsblk.json") // captured on a machine with an empty 2 GiB /dev/loop1
	require.NoError(t, err)
	fake := func() *execruntest.FakeRunner {
		return execruntest.NewFakeRunner().
			On("lsblk --json --bytes --paths --output NAME,SIZE,ROTA,TYPE,FSTYPE,MODEL,SERIAL,WWN", string(lsblk)).
			On("losetup --list --json --output NAME,BACK-FILE", `{"loopdevices": [{"name": "/dev/loop1", "back-file": "/tmp/empty.img"}]}`).
			FailCode("blkid -p /dev/loop1", 2, "").
			FailCode("blkid -p /dev/vda", 2, "blkid: error: /dev/vda: Operation not permitted")
	}
	agentWith := func(run execrun.Runner) *Agent {
		a := newAgent()
		a.Run = run
		return a
	}

	run := fake().On("pvcreate /dev/loop1", "").On("vgcreate strata_fast /dev/loop1", "").
		On("lvcreate --extents 100%FREE --thinpool fast --chunksize 256k strata_fast", "")
	disks, err := agentWith(run).Disks(ctx)
	require.NoError(t, err)
	assert.Equal(t, []proto.Disk{{Device: "/dev/loop1", SizeBytes: 2 << 30, Rotational: true}}, disks, "a disk blkid cannot read is not offered")
	name, err := agentWith(run).CreateDevicePool(ctx, proto.DevicePool{Provider: "LVM_THIN", Devices: []string{"/dev/loop1"}, PoolName: "fast", LvCreateArg: []string{"--chunksize", "256k"}})
	require.NoError(t, err)
	assert.Equal(t, "strata_fast/fast", name)

	run = fake().On("zpool create -o ashift=12 tank /dev/loop1", "")
	name, err = agentWith(run).CreateDevicePool(ctx, proto.DevicePool{Provider: "ZFS", Devices: []string{"/dev/loop1"}, PoolName: "tank", ZpoolArg: []string{"-o", "ashift=12"}})
	require.NoError(t, err)
	assert.Equal(t, "tank", name)

	for _, bad := range []proto.DevicePool{
		{Provider: "LVM", Devices: []string{"/dev/vda"}, PoolName: "p"},
		{Provider: "LVM", Devices: []string{"/dev/loop1"}},
		{Provider: "FILE", Devices: []string{"/dev/loop1"}, PoolName: "p"},
	} {
		run = fake()
		_, err := agentWith(run).CreateDevicePool(ctx, bad)
		assert.Error(t, err, "%+v", bad)
		for _, c := range run.Calls() {
			assert.NotRegexp(t, "^(pvcreate|vgcreate|zpool)", c, "nothing is written for %+v", bad)
		}
	}
}
