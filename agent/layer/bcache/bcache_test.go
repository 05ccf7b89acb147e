package bcache

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun/execruntest"
)

// fakeSysfs stands in for the kernel's bcache files: the register file,
// and what registering makes.
func fakeSysfs(t *testing.T) string {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "fs", "bcache"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "fs", "bcache", "register"), nil, 0o644))
	return root
}

// registered makes sysfs look as after the kernel registered loop3.
func registered(t *testing.T, root string) {
	require.NoError(t, os.MkdirAll(filepath.Join(root, "block", "loop3", "bcache"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "block", "bcache0", "bcache"), 0o755))
	require.NoError(t, os.Symlink("../../bcache0", filepath.Join(root, "block", "loop3", "bcache", "dev")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "block", "bcache0", "bcache", "stop"), nil, 0o644))
}

func TestUpFormatsRegistersAndFindsTheDevice(t *testing.T) {
	ctx := context.Background()
	root := fakeSysfs(t)
	run := execruntest.NewFakeRunner().
		FailCode("bcache-super-show /dev/loop3", 2, "Invalid superblock (bad magic)").
		On("make-bcache --wipe-bcache -B /dev/loop3 -C /dev/nvme0n1p4", "")
	l := Layer{Run: run, Sysfs: root}
	_, err := l.Up(ctx, "/dev/loop3", "/dev/nvme0n1p4")
	require.ErrorContains(t, err, "bcache device of /dev/loop3", "the kernel did not register it")
	reg, err := os.ReadFile(filepath.Join(root, "fs", "bcache", "register"))
	require.NoError(t, err)
	assert.Equal(t, "/dev/loop3", string(reg), "the cache, then the backing device, were registered")

	registered(t, root)
	run.On("bcache-super-show /dev/loop3", "sb.magic\t\tok\nsb.version\t\t1 [backing device]\n")
	dev, err := l.Up(ctx, "/dev/loop3", "/dev/nvme0n1p4")
	require.NoError(t, err)
	assert.Equal(t, "/dev/bcache0", dev)
	assert.Equal(t, []string{"bcache-super-show /dev/loop3", "make-bcache --wipe-bcache -B /dev/loop3 -C /dev/nvme0n1p4", "bcache-super-show /dev/loop3"}, run.Calls(),
		"a formatted device is not formatted again")

	require.NoError(t, l.Down("/dev/loop3"))
	stop, err := os.ReadFile(filepath.Join(root, "block", "bcache0", "bcache", "stop"))
	require.NoError(t, err)
	assert.Equal(t, "1", string(stop))
	require.NoError(t, l.Down("/dev/loop9"), "an unregistered device needs no stop")
}
