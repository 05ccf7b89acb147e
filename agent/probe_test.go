package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"strata/agent/execrun/execruntest"
)

// fakeMachine has the tools and kernel files it is given.
func fakeMachine(tools, paths []string) Machine {
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	return Machine{
		LookPath: func(f string) (string, error) {
			if has(tools, f) {
				return "/usr/sbin/" + f, nil
			}
			return "", errors.New("not found")
		},
		Exists: func(p string) bool { return has(paths, p) },
	}
}

func TestProbeServesWhatTheNodeHas(t *testing.T) {
	ctx := context.Background()
	all := []string{"lvcreate", "zfs", "drbdadm", "cryptsetup", "nvme", "dmsetup", "make-bcache"}
	run := execruntest.NewFakeRunner().On("dmsetup targets", "thin-pool        v1.23.0\nstriped          v1.6.0\nlinear           v1.4.0\ncrypt            v1.24.0\nwritecache       v1.6.0\ncache            v2.2.0\nerror            v1.6.0\n")
	c := probe(ctx, fakeMachine(all, []string{"/sys/module/zfs", "/proc/drbd", "/sys/kernel/config/nvmet", "/sys/fs/bcache"}), run)
	assert.Equal(t, []string{"DISKLESS", "FILE", "FILE_THIN", "LVM", "LVM_THIN", "ZFS", "ZFS_THIN"}, c.providers)
	assert.Equal(t, []string{"BCACHE", "CACHE", "DRBD", "LUKS", "NVME", "STORAGE", "WRITECACHE"}, c.layers)
	assert.Empty(t, c.unsupportedProviders)
	assert.Empty(t, c.unsupportedLayers)

	// This machine: tools installed, but no device-mapper and no modules
	// (the dmsetup message is the one it printed).
	run = execruntest.NewFakeRunner().Fail("dmsetup targets", "/dev/mapper/control: open failed: No such device\nFailure to communicate with kernel device-mapper driver.")
	c = probe(ctx, fakeMachine(all, nil), run)
	assert.Equal(t, []string{"DISKLESS", "FILE", "FILE_THIN"}, c.providers)
	assert.Equal(t, []string{"STORAGE"}, c.layers)
	assert.Equal(t, []string{"the kernel has no device-mapper thin-pool target (dm_thin_pool): /dev/mapper/control: open failed: No such device"}, c.unsupportedProviders["LVM_THIN"])
	assert.Equal(t, []string{"the DRBD 9 kernel module is not loaded"}, c.unsupportedLayers["DRBD"])

	c = probe(ctx, fakeMachine(nil, nil), execruntest.NewFakeRunner())
	assert.Equal(t, []string{"drbd-utils are not installed", "the DRBD 9 kernel module is not loaded"}, c.unsupportedLayers["DRBD"])
	assert.Equal(t, []string{"ZFS tools (zfsutils-linux) are not installed", "the zfs kernel module is not loaded"}, c.unsupportedProviders["ZFS"])
	assert.Equal(t, []string{"LVM tools (lvm2) are not installed", "the kernel has no device-mapper (dm_mod): dmsetup is not installed"}, c.unsupportedProviders["LVM"])
}
