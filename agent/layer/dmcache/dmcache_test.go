package dmcache

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun/execruntest"
)

const missing = "Device does not exist.\nCommand failed."

func TestWritecacheAndCacheTables(t *testing.T) {
	ctx := context.Background()
	run := execruntest.NewFakeRunner().
		Fail("dmsetup status r_00000_wc", missing).
		On("blockdev --getsz /dev/loop1", "2097152\n").
		On("dmsetup create r_00000_wc --table 0 2097152 writecache s /dev/loop1 /dev/nvme0n1p1 4096 0", "").
		Fail("dmsetup status r_00001_cache", missing).
		On("blockdev --getsz /dev/loop2", "4194304\n").
		On("dmsetup create r_00001_cache --table 0 4194304 cache /dev/nvme0n1p3 /dev/nvme0n1p2 /dev/loop2 128 1 writethrough smq 0", "")
	l := Layer{Run: run}
	dev, err := l.UpWritecache(ctx, Writecache{Name: "r_00000_wc", Origin: "/dev/loop1", Cache: "/dev/nvme0n1p1"})
	require.NoError(t, err)
	assert.Equal(t, "/dev/mapper/r_00000_wc", dev)
	dev, err = l.UpCache(ctx, Cache{Name: "r_00001_cache", Origin: "/dev/loop2", Cache: "/dev/nvme0n1p2", Meta: "/dev/nvme0n1p3"})
	require.NoError(t, err)
	assert.Equal(t, "/dev/mapper/r_00001_cache", dev)

	run.Reset()
	run.On("dmsetup status r_00000_wc", "0 2097152 writecache 0 1024 1024 0")
	_, err = l.UpWritecache(ctx, Writecache{Name: "r_00000_wc", Origin: "/dev/loop1", Cache: "/dev/nvme0n1p1", BlockSize: 512, PMem: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"dmsetup status r_00000_wc"}, run.Calls(), "an existing mapping is kept")
}

func TestDown(t *testing.T) {
	ctx := context.Background()
	run := execruntest.NewFakeRunner().On("dmsetup status a", "0 8 cache").On("dmsetup remove a", "").Fail("dmsetup status b", missing)
	l := Layer{Run: run}
	require.NoError(t, l.Down(ctx, "a"))
	require.NoError(t, l.Down(ctx, "b"))
	assert.Equal(t, []string{"dmsetup status a", "dmsetup remove a", "dmsetup status b"}, run.Calls())

	run = execruntest.NewFakeRunner().Fail("dmsetup status c", "/dev/mapper/control: open failed: No such device\nFailure to communicate with kernel device-mapper driver.")
	assert.ErrorContains(t, Layer{Run: run}.Down(ctx, "c"), "device-mapper driver")
}
