package zfs

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun/execruntest"
	"strata/agent/storage"
)

const (
	listVolumes = "zfs list -H -p -t volume -r -o name,volsize,used tank"
	listPool    = "zfs list -H -p -o name,used,available tank"
)

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

type devices map[string]bool

func (d devices) exists(path string) bool { return d[path] }

func pool(run *execruntest.FakeRunner, thin bool, devs devices, createOptions ...string) *Pool {
	return New(Config{Dataset: "tank", Thin: thin, Settings: storage.Settings{WaitTimeout: 50 * time.Millisecond, CreateOptions: createOptions}}, run, devs.exists)
}

func TestVolumesAndCapacity(t *testing.T) {
	run := execruntest.NewFakeRunner().On(listVolumes, testdata(t, "list-volumes.out")).On(listPool, testdata(t, "list-pool.out"))
	ctx := context.Background()
	vols, err := pool(run, false, nil).Volumes(ctx)
	require.NoError(t, err)
	assert.Equal(t, []storage.VolumeState{
		{Name: "r1_00000", DevicePath: "/dev/zvol/tank/r1_00000", BackingPath: "tank/r1_00000", AllocatedKib: 1081856, UsableKib: 1 << 20},
		{Name: "r2_00000", DevicePath: "/dev/zvol/tank/r2_00000", BackingPath: "tank/r2_00000", AllocatedKib: 56, UsableKib: 10 << 20},
	}, vols, "only the zvols the agent named, directly under the dataset")

	c, err := pool(run, false, nil).Capacity(ctx)
	require.NoError(t, err)
	assert.Equal(t, storage.Capacity{FreeKib: 51347848, TotalKib: 51347848 + 1082968}, c)

	run = execruntest.NewFakeRunner().Fail("zfs list -H -p -o name,used,available nopool", testdata(t, "list-missing.err"))
	_, err = New(Config{Dataset: "nopool"}, run, nil).Capacity(ctx)
	assert.ErrorContains(t, err, "cannot open 'nopool': dataset does not exist")
}

func TestCreateThinRoundsToBlocksAndPassesOptions(t *testing.T) {
	ctx := context.Background()
	create := "zfs create -s -V 1008k -o compression=lz4 tank/new_00000"
	run := execruntest.NewFakeRunner().On(listVolumes, testdata(t, "list-volumes.out")).On(create, "").
		On(listVolumes, testdata(t, "list-volumes.out")+"tank/new_00000\t1032192\t12288\n")
	st, err := pool(run, true, devices{"/dev/zvol/tank/new_00000": true}, "-o", "compression=lz4").
		Create(ctx, storage.Volume{Name: "new_00000", SizeKib: 1000})
	require.NoError(t, err)
	assert.Equal(t, []string{listVolumes, create, listVolumes}, run.Calls())
	assert.EqualValues(t, 1008, st.UsableKib)

	own := "zfs create -s -V 16k -b 16k tank/own_00000"
	run2 := execruntest.NewFakeRunner().On(listVolumes, "").On(own, "").On(listVolumes, "tank/own_00000\t16384\t8192\n")
	_, err = pool(run2, true, devices{"/dev/zvol/tank/own_00000": true}, "-o", "compression=lz4").
		Create(ctx, storage.Volume{Name: "own_00000", SizeKib: 10, CreateOptions: []string{"-b", "16k"}})
	require.NoError(t, err)
	assert.Contains(t, run2.Calls(), own, "the definition's options replace the pool's")

	run.Reset()
	_, err = pool(run, true, nil).Create(ctx, storage.Volume{Name: "r1_00000", SizeKib: 1 << 20})
	require.NoError(t, err)
	assert.Equal(t, []string{listVolumes}, run.Calls(), "an existing zvol is adopted")
}

func TestCreateInAFullPoolShowsZfsMessage(t *testing.T) {
	run := execruntest.NewFakeRunner().On(listVolumes, "").Fail("zfs create -V 1048576k tank/big_00000", testdata(t, "create-full.err"))
	_, err := pool(run, false, nil).Create(context.Background(), storage.Volume{Name: "big_00000", SizeKib: 1 << 20})
	assert.ErrorContains(t, err, "zfs create -V 1048576k tank/big_00000")
	assert.ErrorContains(t, err, "out of space")
}

func TestResizeDeleteAndSnapshots(t *testing.T) {
	ctx := context.Background()
	grown := strings.Replace(testdata(t, "list-volumes.out"), "tank/r1_00000\t1073741824", "tank/r1_00000\t2147483648", 1)
	run := execruntest.NewFakeRunner().On("zfs set volsize=2097152k tank/r1_00000", "").On(listVolumes, grown).
		On("zfs destroy tank/r1_00000", "").
		On("zfs snapshot tank/r1_00000@s1", "").
		On("zfs rollback -r tank/r1_00000@s1", "").
		On("zfs list -H -p -t snapshot -o name tank/r1_00000", "tank/r1_00000@s1\n").
		On("zfs destroy tank/r1_00000@s1", "").
		On("zfs clone tank/r1_00000@s1 tank/r9_00000", "").
		On("zfs send tank/r1_00000@s1", "stream").
		On("zfs receive tank/r8_00000", "")
	p := pool(run, false, devices{"/dev/zvol/tank/r9_00000": true, "/dev/zvol/tank/r8_00000": true})

	st, err := p.Resize(ctx, storage.Volume{Name: "r1_00000", SizeKib: 2 << 20})
	require.NoError(t, err)
	assert.EqualValues(t, 2<<20, st.UsableKib)
	require.NoError(t, p.Delete(ctx, "r1_00000"))
	require.NoError(t, p.Delete(ctx, "gone_00000"), "a missing zvol is no error")
	require.NoError(t, p.Snapshot(ctx, "r1_00000", "s1"))
	require.NoError(t, p.Rollback(ctx, "r1_00000", "s1"))
	require.NoError(t, p.DeleteSnapshot(ctx, "r1_00000", "s1"))
	require.NoError(t, p.DeleteSnapshot(ctx, "r1_00000", "never"))
	assert.NotContains(t, run.Calls(), "zfs destroy tank/r1_00000@never")

	run.On(listVolumes, grown+"tank/r9_00000\t2147483648\t8192\ntank/r8_00000\t1048576\t8192\n")
	_, err = p.Clone(ctx, "r1_00000", "s1", "r9_00000")
	require.NoError(t, err)
	var sent bytes.Buffer
	require.NoError(t, p.Send(ctx, "r1_00000", "s1", &sent))
	assert.Equal(t, "stream", sent.String())
	st, err = p.Receive(ctx, storage.Volume{Name: "r8_00000"}, strings.NewReader("incoming"))
	require.NoError(t, err)
	assert.Equal(t, "/dev/zvol/tank/r8_00000", st.DevicePath)
	assert.Equal(t, "incoming", string(run.Stdin("zfs receive tank/r8_00000")))
}

// Snapshots of the agent's zvols are listed from zfs list -t snapshot;
// StorDriver/ZfsSnapshotOptions go into zfs snapshot.
func TestSnapshotsAreListedAndTakeTheirOptions(t *testing.T) {
	ctx := context.Background()
	run := execruntest.NewFakeRunner().
		On("zfs list -H -p -t snapshot -r -o name tank", "tank/r1_00000@s1\ntank/r1_00000@autoSnap00002\ntank/other@x\ntank/r2_00000\n").
		On("zfs snapshot -o com.example:tag=1 tank/r1_00000@s2", "")
	p := New(Config{Dataset: "tank", Settings: storage.Settings{SnapshotOptions: []string{"-o", "com.example:tag=1"}}}, run, devices{}.exists)
	snaps, err := p.Snapshots(ctx)
	require.NoError(t, err)
	assert.Equal(t, []storage.SnapshotID{{Volume: "r1_00000", Snapshot: "s1"}, {Volume: "r1_00000", Snapshot: "autoSnap00002"}}, snaps, "only snapshots of volumes the agent named")
	require.NoError(t, p.Snapshot(ctx, "r1_00000", "s2"))
}
