package lvm

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
	lvsCmd = "lvs --noheadings --units k --nosuffix --separator ; -o lv_name,lv_path,lv_size,vg_name,pool_lv,data_percent,lv_attr stratavg"
	vgsCmd = "vgs --noheadings --units k --nosuffix --separator ; -o vg_name,vg_size,vg_free stratavg"
)

func captured(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

// devices is the kernel's device nodes as the test sees them.
type devices map[string]bool

func (d devices) exists(path string) bool { return d[path] }

func thick(run *execruntest.FakeRunner, devs devices) *Pool {
	return New(Config{VG: "stratavg", Settings: storage.Settings{WaitTimeout: 50 * time.Millisecond}}, run, devs.exists)
}

func thin(run *execruntest.FakeRunner, devs devices) *Pool {
	return New(Config{VG: "stratavg", ThinPool: "thinpool", Settings: storage.Settings{WaitTimeout: 50 * time.Millisecond}}, run, devs.exists)
}

func TestListsOnlyItsOwnVolumesFromRealOutput(t *testing.T) {
	run := execruntest.NewFakeRunner().On(lvsCmd, captured(t, "lvs.out"))
	ctx := context.Background()

	vols, err := thick(run, nil).Volumes(ctx)
	require.NoError(t, err)
	assert.Equal(t, []storage.VolumeState{{Name: "r1_00000", DevicePath: "/dev/stratavg/r1_00000", BackingPath: "/dev/stratavg/r1_00000", AllocatedKib: 20480, UsableKib: 20480}}, vols,
		"thick: the linear volume only, not the thin ones or the pool")

	vols, err = thin(run, nil).Volumes(ctx)
	require.NoError(t, err)
	require.Len(t, vols, 1, "thin: the thin volume, not its snapshot (activation skip) nor the pool")
	assert.Equal(t, "r2_00000", vols[0].Name)
	assert.EqualValues(t, 12288, vols[0].UsableKib)
}

func TestCapacityFromRealOutput(t *testing.T) {
	run := execruntest.NewFakeRunner().On(vgsCmd, captured(t, "vgs.out")).On(lvsCmd, captured(t, "lvs.out"))
	ctx := context.Background()
	c, err := thick(run, nil).Capacity(ctx)
	require.NoError(t, err)
	assert.Equal(t, storage.Capacity{TotalKib: 200704, FreeKib: 131072}, c)

	c, err = thin(run, nil).Capacity(ctx)
	require.NoError(t, err)
	assert.Equal(t, storage.Capacity{TotalKib: 40960, FreeKib: 40960}, c, "an inactive thin pool reports no data use")

	c, err = thin(execruntest.NewFakeRunner().On(lvsCmd, "  thinpool;;40960.00;stratavg;;25.00;twi-aotz--\n"), nil).Capacity(ctx)
	require.NoError(t, err)
	assert.Equal(t, storage.Capacity{TotalKib: 40960, FreeKib: 30720}, c, "free is what the data percentage leaves")
}

func TestMissingVolumeGroupShowsLvmsMessage(t *testing.T) {
	cmd := strings.Replace(vgsCmd, "stratavg", "novg", 1)
	run := execruntest.NewFakeRunner().Fail(cmd, captured(t, "vgs-missing.err"))
	_, err := New(Config{VG: "novg"}, run, nil).Capacity(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), cmd)
	assert.Contains(t, err.Error(), `Volume group "novg" not found`)
}

func TestCreateRunsLvcreateWithOptionsAndWaitsForTheDevice(t *testing.T) {
	ctx := context.Background()
	after := captured(t, "lvs.out") + "  res_00000;/dev/stratavg/res_00000;1048576.00;stratavg;;;-wi-a-----\n"
	create := "lvcreate --size 1048576k --name res_00000 --yes --contiguous y stratavg"
	run := execruntest.NewFakeRunner().On(lvsCmd, captured(t, "lvs.out")).On(lvsCmd, after).On(create, "").
		On("dmstats create /dev/stratavg/res_00000", "")
	p := New(Config{VG: "stratavg", Settings: storage.Settings{WaitTimeout: 50 * time.Millisecond,
		CreateOptions: []string{`--config`, `devices{filter=["a|.*|"]}`}}, DMStats: true}, run, devices{"/dev/stratavg/res_00000": true}.exists)

	st, err := p.Create(ctx, storage.Volume{Name: "res_00000", SizeKib: 1 << 20, CreateOptions: []string{"--contiguous", "y"}})
	// The definition's options replace the pool's, as the closer
	// property wins.
	require.NoError(t, err)
	assert.Equal(t, []string{lvsCmd, create, "dmstats create /dev/stratavg/res_00000", lvsCmd}, run.Calls())
	assert.Equal(t, "/dev/stratavg/res_00000", st.DevicePath)
	assert.EqualValues(t, 1<<20, st.UsableKib)

	run.Reset()
	_, err = p.Create(ctx, storage.Volume{Name: "res_00000", SizeKib: 1 << 20})
	require.NoError(t, err)
	assert.Equal(t, []string{lvsCmd}, run.Calls(), "an existing volume is adopted")
}

func TestCreateThinAndDeviceThatNeverAppears(t *testing.T) {
	create := "lvcreate --virtualsize 4096k --thinpool thinpool --name new_00000 --yes stratavg"
	run := execruntest.NewFakeRunner().On(lvsCmd, captured(t, "lvs.out")).On(create, "")
	_, err := thin(run, devices{}).Create(context.Background(), storage.Volume{Name: "new_00000", SizeKib: 4096})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/dev/stratavg/new_00000 did not appear within 50ms")
	assert.Equal(t, []string{lvsCmd, create}, run.Calls())
}

func TestResizeAndDelete(t *testing.T) {
	ctx := context.Background()
	grown := strings.Replace(captured(t, "lvs.out"), "r1_00000;20480.00", "r1_00000;40960.00", 1)
	grown = strings.Replace(grown, "/dev/stratavg/r1_00000;20480.00", "/dev/stratavg/r1_00000;40960.00", 1)
	run := execruntest.NewFakeRunner().On("lvresize --size 40960k stratavg/r1_00000", "").On(lvsCmd, grown)
	st, err := thick(run, nil).Resize(ctx, storage.Volume{Name: "r1_00000", SizeKib: 40960})
	require.NoError(t, err)
	assert.EqualValues(t, 40960, st.UsableKib)

	run = execruntest.NewFakeRunner().On(lvsCmd, captured(t, "lvs.out")).On("lvremove --force stratavg/r1_00000", "")
	require.NoError(t, thick(run, nil).Delete(ctx, "r1_00000"))
	require.NoError(t, thick(run, nil).Delete(ctx, "gone_00000"), "deleting a missing volume is no error")
	require.NoError(t, thick(run, nil).Delete(ctx, "thinpool"), "a volume the agent did not name is never removed")
	assert.Equal(t, []string{lvsCmd, "lvremove --force stratavg/r1_00000", lvsCmd, lvsCmd}, run.Calls())
}

func TestThinSnapshotsRollbackCloneSendReceive(t *testing.T) {
	ctx := context.Background()
	lvs := captured(t, "lvs.out")
	withClone := lvs + "  r3_00000;/dev/stratavg/r3_00000;12288.00;stratavg;thinpool;0.00;Vwi-a-tz--\n"
	run := execruntest.NewFakeRunner().On(lvsCmd, lvs).
		On("lvcreate --snapshot --setactivationskip y --ignoreactivationskip --activate y --name r2_00000_snap2 stratavg/r2_00000", "").
		On("lvremove --force stratavg/r2_00000", "").
		On("lvcreate --snapshot --setactivationskip n --name r2_00000 stratavg/r2_00000_snap1", "").
		On("lvcreate --snapshot --setactivationskip n --name r3_00000 stratavg/r2_00000_snap1", "").
		On("lvremove --force stratavg/r2_00000_snap1", "").
		On("lvchange --activate y --ignoreactivationskip stratavg/r2_00000_snap1", "").
		On("dd if=/dev/stratavg/r2_00000_snap1 bs=1M status=none", "the snapshot's blocks").
		On("lvchange --activate n stratavg/r2_00000_snap1", "").
		On("lvcreate --virtualsize 12288k --thinpool thinpool --name r4_00000 --yes stratavg", "").
		On("dd of=/dev/stratavg/r4_00000 bs=1M conv=sparse,fsync status=none", "")
	p := thin(run, devices{"/dev/stratavg/r2_00000": true, "/dev/stratavg/r3_00000": true, "/dev/stratavg/r4_00000": true})

	require.NoError(t, p.Snapshot(ctx, "r2_00000", "snap2"))
	require.NoError(t, p.Rollback(ctx, "r2_00000", "snap1"))
	run.On(lvsCmd, withClone)
	clone, err := p.Clone(ctx, "r2_00000", "snap1", "r3_00000")
	require.NoError(t, err)
	assert.Equal(t, "/dev/stratavg/r3_00000", clone.DevicePath)
	require.NoError(t, p.DeleteSnapshot(ctx, "r2_00000", "snap1"))
	require.NoError(t, p.DeleteSnapshot(ctx, "r2_00000", "never"), "a missing snapshot is no error")

	var sent bytes.Buffer
	require.NoError(t, p.Send(ctx, "r2_00000", "snap1", &sent))
	assert.Equal(t, "the snapshot's blocks", sent.String())

	run.On(lvsCmd, withClone+"  r4_00000;/dev/stratavg/r4_00000;12288.00;stratavg;thinpool;0.00;Vwi-a-tz--\n")
	_, err = p.Receive(ctx, storage.Volume{Name: "r4_00000", SizeKib: 12288}, strings.NewReader("incoming"))
	require.NoError(t, err)
	assert.Equal(t, "incoming", string(run.Stdin("dd of=/dev/stratavg/r4_00000 bs=1M conv=sparse,fsync status=none")))
}

func TestThickLvmHasNoSnapshots(t *testing.T) {
	p := thick(execruntest.NewFakeRunner(), nil)
	ctx := context.Background()
	for _, err := range []error{p.Snapshot(ctx, "r1_00000", "s"), p.Rollback(ctx, "r1_00000", "s"), p.Send(ctx, "r1_00000", "s", &bytes.Buffer{})} {
		assert.ErrorIs(t, err, errThickSnapshot)
	}
}

// The thin snapshots of the agent's volumes are listed from lvs: those
// with the activation-skip flag, split into volume and snapshot; the
// pool's StorDriver/LvcreateSnapshotOptions go before LINSTOR's flags.
func TestThinSnapshotsAreListedAndTakeTheirOptions(t *testing.T) {
	ctx := context.Background()
	run := execruntest.NewFakeRunner().On(lvsCmd, captured(t, "lvs.out")+"  r2_00000_auto_snap-7;/dev/stratavg/r2_00000_auto_snap-7;12288.00;stratavg;thinpool;;Vri-XXtz-k\n").
		On("lvcreate --permission r --snapshot --setactivationskip y --ignoreactivationskip --activate y --name r2_00000_s3 stratavg/r2_00000", "")
	p := New(Config{VG: "stratavg", ThinPool: "thinpool", Settings: storage.Settings{SnapshotOptions: []string{"--permission", "r"}}}, run, devices{}.exists)
	snaps, err := p.Snapshots(ctx)
	require.NoError(t, err)
	assert.Equal(t, []storage.SnapshotID{{Volume: "r2_00000", Snapshot: "snap1"}, {Volume: "r2_00000", Snapshot: "auto_snap-7"}}, snaps)
	require.NoError(t, p.Snapshot(ctx, "r2_00000", "s3"))
	assert.True(t, p.SupportsSnapshots(ctx))
	none, err := thick(run, nil).Snapshots(ctx)
	require.NoError(t, err)
	assert.Empty(t, none, "thick LVM has none")
	assert.False(t, thick(run, nil).SupportsSnapshots(ctx))
}
