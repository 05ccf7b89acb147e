package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/agent/execrun"
	"strata/agent/proto"
)

func newAgent() *Agent {
	return &Agent{Version: "test", Run: execrun.Exec{}, Machine: RealMachine(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func state(dir string, vols ...proto.Volume) proto.NodeState {
	return proto.NodeState{Node: "alpha",
		Pools: []proto.Pool{
			{Name: "pool1", Provider: "FILE_THIN", Props: map[string]string{"StorDriver/FileDir": dir}},
			{Name: "DfltDisklessStorPool", Provider: "DISKLESS"},
		},
		Volumes: vols}
}

func TestApplyConverges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAgent()
	t.Cleanup(func() { a.Apply(ctx, state(dir)) }) // detach what is left

	want := state(dir,
		proto.Volume{Resource: "res1", VlmNr: 0, Pool: "pool1", SizeKib: 4096},
		proto.Volume{Resource: "res1", VlmNr: 1, Pool: "pool1", SizeKib: 8192},
		proto.Volume{Resource: "res2", VlmNr: 0, Pool: "DfltDisklessStorPool"})
	rep := a.Apply(ctx, want)
	require.Len(t, rep.Volumes, 3)
	for _, v := range rep.Volumes[:2] {
		require.Empty(t, v.Error)
		require.Equal(t, proto.DiskUpToDate, v.DiskState)
		require.NotEmpty(t, v.DevicePath)
	}
	require.EqualValues(t, 8192, rep.Volumes[1].UsableKib)
	require.Equal(t, proto.DiskDiskless, rep.Volumes[2].DiskState)
	require.Positive(t, rep.Pools[0].TotalKib)

	// Applying again changes nothing; a fresh agent (a restart) finds
	// the same devices.
	again := newAgent().Apply(ctx, want)
	require.Equal(t, rep.Volumes[0].DevicePath, again.Volumes[0].DevicePath)

	// Growing and dropping volumes; a file the agent did not make stays.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o600))
	rep = a.Apply(ctx, state(dir, proto.Volume{Resource: "res1", VlmNr: 0, Pool: "pool1", SizeKib: 16384}))
	require.Len(t, rep.Volumes, 1)
	require.EqualValues(t, 16384, rep.Volumes[0].UsableKib)
	_, err := os.Stat(filepath.Join(dir, "res1_00001.img"))
	require.ErrorIs(t, err, os.ErrNotExist, "a volume no longer wanted is deleted")
	_, err = os.Stat(filepath.Join(dir, "keep.txt"))
	require.NoError(t, err)
}

// A broken pool is reported with its volumes; other pools go on.
func TestApplyReportsFaults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAgent()
	t.Cleanup(func() { a.Apply(ctx, state(dir)) })
	want := state(dir, proto.Volume{Resource: "good", VlmNr: 0, Pool: "pool1", SizeKib: 1024},
		proto.Volume{Resource: "bad", VlmNr: 0, Pool: "gone", SizeKib: 1024},
		proto.Volume{Resource: "lvm", VlmNr: 0, Pool: "lvmpool", SizeKib: 1024},
		proto.Volume{Resource: "nowhere", VlmNr: 0, Pool: "unknown", SizeKib: 1024})
	want.Pools = append(want.Pools,
		proto.Pool{Name: "gone", Provider: "FILE", Props: map[string]string{"StorDriver/FileDir": filepath.Join(dir, "missing")}},
		proto.Pool{Name: "lvmpool", Provider: "LVM", Props: map[string]string{"StorDriver/LvmVg": "vg1"}})
	rep := a.Apply(ctx, want)
	byName := map[string]proto.VolumeReport{}
	for _, v := range rep.Volumes {
		byName[v.Resource] = v
	}
	require.Empty(t, byName["good"].Error)
	require.Contains(t, byName["bad"].Error, "missing of the storage pool")
	require.Equal(t, proto.DiskFailed, byName["bad"].DiskState)
	require.Contains(t, byName["lvm"].Error, "LVM of pool lvmpool is not served by this agent: the kernel has no device-mapper",
		"this machine's kernel has no device-mapper, and the agent says so")
	require.Contains(t, byName["nowhere"].Error, "storage pool unknown is not on this node")
	require.Contains(t, rep.Pools[2].Error, "missing")

	info := a.Info(ctx)
	require.Equal(t, proto.ProtocolVersion, info.ProtocolVersion)
	require.Contains(t, info.Providers, "FILE_THIN")
	require.Contains(t, info.UnsupportedProviders, "LVM")
	require.NotEmpty(t, info.Uname)
}

// A state older than one applied is ignored: pushes that cross on the
// way cannot undo a newer one.
func TestApplyIgnoresOlderStates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAgent()
	t.Cleanup(func() { a.Apply(ctx, proto.NodeState{Generation: 1 << 40, Pools: state(dir).Pools}) })
	newer := state(dir, proto.Volume{Resource: "res1", VlmNr: 0, Pool: "pool1", SizeKib: 1024})
	newer.Generation = 7
	require.False(t, a.Apply(ctx, newer).Stale)
	older := state(dir)
	older.Generation = 6
	require.True(t, a.Apply(ctx, older).Stale)
	require.FileExists(t, filepath.Join(dir, "res1_00000.img"), "the older state did not delete the volume")
	older.Generation = 7
	require.False(t, a.Apply(ctx, older).Stale, "the same generation is applied")
}
