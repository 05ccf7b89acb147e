package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/proto"
)

// TestApplyTakesKeepsAndDeletesSnapshots: a snapshot to take is taken
// from the volume's data of that moment, a kept one stays while the
// volume changes, a new volume made from it has its data, and one the
// state no longer names is deleted.
func TestApplyTakesKeepsAndDeletesSnapshots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAgent()
	t.Cleanup(func() { a.Apply(ctx, state(dir)) })
	vol := proto.Volume{Resource: "res1", VlmNr: 0, Pool: "pool1", SizeKib: 1024}
	img := filepath.Join(dir, "res1_00000.img")
	rep := a.Apply(ctx, state(dir, vol))
	require.Empty(t, rep.Volumes[0].Error)
	before := bytes.Repeat([]byte("before!!"), 512)
	writeAt(t, img, before)

	take := state(dir, vol)
	take.Snapshots = []proto.Snapshot{{Resource: "res1", Name: "s1", VlmNr: 0, Pool: "pool1", Take: true}}
	rep = a.Apply(ctx, take)
	require.Equal(t, []proto.SnapshotReport{{Resource: "res1", Name: "s1", VlmNr: 0, Pool: "pool1"}}, rep.Snapshots)
	writeAt(t, img, bytes.Repeat([]byte("after!!!"), 512))

	keep := state(dir, vol)
	keep.Snapshots = []proto.Snapshot{{Resource: "res1", Name: "s1", VlmNr: 0, Pool: "pool1"}}
	restored := proto.Volume{Resource: "res2", VlmNr: 0, Pool: "pool1", SizeKib: 1024, From: &proto.SnapshotSource{Resource: "res1", Snapshot: "s1"}}
	keep.Volumes = append(keep.Volumes, restored)
	rep = a.Apply(ctx, keep)
	for _, v := range rep.Volumes {
		require.Empty(t, v.Error, v.Resource)
	}
	require.Equal(t, before, readAt(t, filepath.Join(dir, "res2_00000.img"), len(before)), "the restored volume holds the data of snapshot time")
	require.Equal(t, []proto.SnapshotReport{{Resource: "res1", Name: "s1", VlmNr: 0, Pool: "pool1"}}, rep.Snapshots)

	// Applying again leaves the restored volume as it is: From only
	// makes a volume that does not exist.
	writeAt(t, filepath.Join(dir, "res2_00000.img"), []byte("written after restore"))
	a.Apply(ctx, keep)
	require.Equal(t, []byte("written after restore"), readAt(t, filepath.Join(dir, "res2_00000.img"), 21))

	// A snapshot that should be kept but is gone is reported, not made up.
	missing := state(dir, vol)
	missing.Snapshots = []proto.Snapshot{{Resource: "res1", Name: "s9", VlmNr: 0, Pool: "pool1"}}
	rep = a.Apply(ctx, missing)
	require.Len(t, rep.Snapshots, 1)
	assert.Contains(t, rep.Snapshots[0].Error, "snapshot s9 of volume res1_00000 is not in pool pool1")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".snap", "s1 is no longer named: deleted; s9 is not made")
	}
}

// TestSuspendedResourcesResume: a resource the state names as suspended
// gets drbdadm suspend-io first thing; once a state no longer names it,
// its I/O resumes, also in an agent that did not suspend it (a restart);
// and a suspend nobody renews resumes by itself.
func TestSuspendedResourcesResume(t *testing.T) {
	ctx := context.Background()
	a, fake, dir, drbdDir := drbdAgent(t)
	resFile := filepath.Join(drbdDir, "r1.res")
	backing := filepath.Join(dir, "r1_00000.img")
	suspend := "drbdadm --config-file " + resFile + " suspend-io r1"
	resume := "drbdadm --config-file " + resFile + " resume-io r1"
	events := func(suspended string) string {
		return "exists resource name:r1 role:Primary suspended:" + suspended + "\nexists device name:r1 volume:0 minor:1000 disk:UpToDate client:no quorum:yes\nexists -\n"
	}
	fake.On("drbdmeta 1000 v09 "+backing+" internal --node-id=0 get-gi", "0000000000000004:0:0:0:0:0\n").
		On("drbdadm --config-file "+resFile+" adjust r1", "").On(suspend, "").On(resume, "").
		On("drbdsetup events2 --now", events("no"))
	want := drbdState(t, dir, proto.Volume{Resource: "r1", VlmNr: 0, Pool: "pool1", SizeKib: 1024})
	a.Apply(ctx, want) // up

	fake.Reset()
	fake.On("drbdsetup events2 --now", events("user"))
	held := want
	held.Suspended = []string{"r1"}
	rep := a.Apply(ctx, held)
	require.Empty(t, rep.SuspendFailed)
	require.Equal(t, suspend, fake.Calls()[0], "suspended before anything else")
	require.NotContains(t, fake.Calls(), resume)
	require.True(t, rep.Resources[0].Suspended)

	restarted := newAgent()
	restarted.Run, restarted.DrbdDir, restarted.Machine = a.Run, a.DrbdDir, a.Machine
	fake.Reset()
	fake.On("drbdsetup events2 --now", events("user"))
	rep = restarted.Apply(ctx, want)
	require.Contains(t, fake.Calls(), resume, "a suspend no state asks for is resumed")
	require.False(t, rep.Resources[0].Suspended)

	saved := SuspendTimeout
	SuspendTimeout = 50 * time.Millisecond
	t.Cleanup(func() { SuspendTimeout = saved })
	fake.Reset()
	fake.On("drbdsetup events2 --now", events("user"))
	a.Apply(ctx, held)
	require.Eventually(t, func() bool {
		calls := fake.Calls()
		return len(calls) > 0 && calls[len(calls)-1] == resume
	}, 5*time.Second, 10*time.Millisecond, "the agent's own deadline resumes I/O that no state kept suspended")

	fake.Reset()
	fake.Fail(suspend, "suspend failed")
	rep = a.Apply(ctx, held)
	require.Contains(t, rep.SuspendFailed["r1"], "suspend failed")
}

func writeAt(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func readAt(t *testing.T, path string, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, n)
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	return b
}
