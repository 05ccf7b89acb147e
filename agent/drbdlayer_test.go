package agent

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun"
	"strata/agent/execrun/execruntest"
	"strata/agent/proto"
)

// drbdMachine answers commands from a script, except that drbdadm's
// check of a rendered file (sh-nop) runs the real drbdadm.
type drbdMachine struct{ *execruntest.FakeRunner }

func (m drbdMachine) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if name == "drbdadm" && args[len(args)-1] == "sh-nop" {
		return execrun.Exec{}.Run(ctx, name, args...)
	}
	return m.FakeRunner.Run(ctx, name, args...)
}

func (m drbdMachine) Pipe(ctx context.Context, in io.Reader, out io.Writer, name string, args ...string) error {
	return m.FakeRunner.Pipe(ctx, in, out, name, args...)
}

// drbdAgent is an agent on a node that serves DRBD, its commands
// answered by the fake, with its pool's and its DRBD files' directories.
func drbdAgent(t *testing.T) (*Agent, *execruntest.FakeRunner, string, string) {
	dir, drbdDir := t.TempDir(), t.TempDir()
	fake := execruntest.NewFakeRunner()
	a := newAgent()
	a.Run, a.DrbdDir = drbdMachine{fake}, drbdDir
	a.Machine = fakeMachine([]string{"drbdadm"}, []string{"/proc/drbd"})
	return a, fake, dir, drbdDir
}

func drbdState(t *testing.T, dir string, vols ...proto.Volume) proto.NodeState {
	host, err := os.Hostname()
	require.NoError(t, err)
	st := state(dir, vols...)
	if len(vols) > 0 {
		st.Resources = []proto.Resource{{Name: "r1", Layers: []string{"DRBD", "STORAGE"}, Drbd: &proto.Drbd{
			Port: 7000, Secret: "s3cret", PeerSlots: 7, Options: map[string]string{"DrbdOptions/Net/protocol": "C"},
			Nodes:   []proto.DrbdNode{{Name: "alpha", Host: host, NodeID: 0, Address: "10.0.0.1"}, {Name: "bravo", Host: "bravo", NodeID: 1, Address: "10.0.0.2"}},
			Volumes: []proto.DrbdVolume{{VlmNr: 0, Minor: 1000}},
			Paths:   map[string][]proto.DrbdPath{"bravo": {{Local: "10.0.0.1", Peer: "10.0.0.2"}, {Local: "192.168.1.1", Peer: "192.168.1.2"}}},
		}}}
	}
	return st
}

// TestApplyBringsUpDrbdOverStorage: on a node that serves DRBD, the
// agent renders the resource file (checked by the real drbdadm), creates
// metadata on a new backing disk only, adjusts, reports the DRBD device
// with its state from events2, and takes the resource down when it is
// no longer wanted.
func TestApplyBringsUpDrbdOverStorage(t *testing.T) {
	ctx := context.Background()
	a, fake, dir, drbdDir := drbdAgent(t)

	backing := filepath.Join(dir, "r1_00000.img")
	resFile := filepath.Join(drbdDir, "r1.res")
	getGI := "drbdmeta 1000 v09 " + backing + " internal --node-id=0 get-gi"
	createMD := "drbdadm --config-file " + resFile + " --max-peers 7 -- --force create-md r1/0"
	adjust := "drbdadm --config-file " + resFile + " adjust r1"
	fake.FailCode(getGI, 255, "No valid meta data found").On(createMD, "").On(adjust, "").
		On("drbdsetup events2 --now", "exists resource name:r1 role:Secondary suspended:no\n"+
			"exists connection name:r1 peer-node-id:1 conn-name:bravo connection:Connected role:Secondary\n"+
			"exists device name:r1 volume:0 minor:1000 disk:Inconsistent client:no quorum:yes\n"+
			"exists peer-device name:r1 peer-node-id:1 conn-name:bravo volume:0 replication:SyncTarget peer-disk:UpToDate peer-client:no resync-suspended:no done:42.17\nexists -\n")

	want := drbdState(t, dir, proto.Volume{Resource: "r1", VlmNr: 0, Pool: "pool1", SizeKib: 4096})
	rep := a.Apply(ctx, want)
	require.Len(t, rep.Volumes, 1)
	v := rep.Volumes[0]
	require.Empty(t, v.Error)
	assert.Equal(t, "/dev/drbd1000", v.DevicePath)
	assert.Equal(t, backing, v.BackingPath)
	assert.Equal(t, "Inconsistent", v.DiskState)
	done := 42.17
	assert.Equal(t, map[string]proto.ReplicationState{"bravo": {State: "SyncTarget", Done: &done}}, v.Replication, "the sync from bravo, and how far it is")
	assert.Equal(t, "DRBD", v.Layer)
	assert.Equal(t, []proto.ResourceReport{{Name: "r1", Role: "Secondary", Connections: map[string]string{"bravo": "Connected"}}}, rep.Resources)
	res, err := os.ReadFile(resFile)
	require.NoError(t, err)
	assert.Contains(t, string(res), "disk "+backing+";")
	assert.Contains(t, string(res), `shared-secret "s3cret";`)
	assert.Contains(t, string(res), `host "bravo" address ipv4 192.168.1.2:7000;`, "the second path")
	assert.Contains(t, fake.Calls(), createMD)

	fake.Reset()
	fake.On(getGI, "0000000000000004:0000000000000000:0:0:0:0\n")
	rep = a.Apply(ctx, want)
	require.Empty(t, rep.Volumes[0].Error)
	assert.NotContains(t, fake.Calls(), createMD, "metadata is created once")
	assert.Contains(t, fake.Calls(), adjust)

	// Grown: the storage grows, then DRBD is resized onto it.
	fake.Reset()
	resize := "drbdadm --config-file " + resFile + " resize r1/0"
	fake.On(resize, "")
	want.Volumes[0].SizeKib = 8192
	rep = a.Apply(ctx, want)
	require.Empty(t, rep.Volumes[0].Error)
	calls := fake.Calls()
	assert.Equal(t, resize, calls[len(calls)-2], "resize after adjust, before the state is read: %v", calls)
	fi, err := os.Stat(backing)
	require.NoError(t, err)
	assert.EqualValues(t, 8192<<10, fi.Size())

	fake.Reset()
	down := "drbdadm --config-file " + resFile + " down r1"
	fake.On(down, "")
	a.Apply(ctx, drbdState(t, dir))
	assert.Equal(t, down, fake.Calls()[0], "DRBD goes down before its storage")
	assert.NoFileExists(t, resFile)
	assert.NoFileExists(t, backing)
}

func TestApplyWithoutDrbdFailsOnlyThatResource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAgent()
	a.DrbdDir = t.TempDir()
	a.Machine = fakeMachine([]string{"drbdadm"}, nil)
	t.Cleanup(func() { a.Apply(ctx, state(dir)) })
	want := drbdState(t, dir, proto.Volume{Resource: "r1", VlmNr: 0, Pool: "pool1", SizeKib: 1024},
		proto.Volume{Resource: "plain", VlmNr: 0, Pool: "pool1", SizeKib: 1024})
	rep := a.Apply(ctx, want)
	byName := map[string]proto.VolumeReport{}
	for _, v := range rep.Volumes {
		byName[v.Resource] = v
	}
	assert.Equal(t, proto.DiskFailed, byName["r1"].DiskState)
	assert.True(t, strings.Contains(byName["r1"].Error, "DRBD layer of resource r1 is not served by this agent: the DRBD 9 kernel module is not loaded"), byName["r1"].Error)
	assert.Equal(t, proto.DiskUpToDate, byName["plain"].DiskState, "a storage-only resource is not affected")
}

func TestApplyRefusesLayersItDoesNotBuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAgent()
	a.DrbdDir = t.TempDir()
	want := state(dir, proto.Volume{Resource: "secret", VlmNr: 0, Pool: "pool1", SizeKib: 1024})
	want.Resources = []proto.Resource{{Name: "secret", Layers: []string{"LUKS", "STORAGE"}}}
	rep := a.Apply(ctx, want)
	require.Len(t, rep.Volumes, 1)
	assert.Equal(t, proto.DiskFailed, rep.Volumes[0].DiskState)
	assert.Contains(t, rep.Volumes[0].Error, "layer LUKS of resource secret is not applied by this agent yet")
	assert.NoFileExists(t, filepath.Join(dir, "secret_00000.img"), "no storage is made for a stack that cannot be completed")
}

// A DRBD volume whose state asks for a file system gets it on its DRBD
// device, so that every replica has it: only when its metadata is new,
// made Primary for it (forced: the new data becomes the sync source),
// then Secondary again; a volume with metadata already is never touched.
func TestDrbdVolumeGetsItsFileSystemOnItsDevice(t *testing.T) {
	ctx := context.Background()
	a, fake, dir, drbdDir := drbdAgent(t)
	t.Cleanup(func() { fake.Reset(); a.Apply(ctx, drbdState(t, dir)) })

	backing := filepath.Join(dir, "r1_00000.img")
	resFile := filepath.Join(drbdDir, "r1.res")
	getGI := "drbdmeta 1000 v09 " + backing + " internal --node-id=0 get-gi"
	createMD := "drbdadm --config-file " + resFile + " --max-peers 7 -- --force create-md r1/0"
	adjust := "drbdadm --config-file " + resFile + " adjust r1"
	primary := "drbdadm --config-file " + resFile + " primary --force r1"
	secondary := "drbdadm --config-file " + resFile + " secondary r1"
	probe := "blkid -p -o value -s TYPE /dev/drbd1000"
	mkfs := "mkfs.ext4 -E nodiscard /dev/drbd1000"
	fake.FailCode(getGI, 255, "No valid meta data found").On(createMD, "").On(adjust, "").On(primary, "").On(secondary, "").
		FailCode(probe, 2, "").FailCode("blkid -p /dev/drbd1000", 2, "").On(mkfs, "").
		On("drbdsetup events2 --now", "exists resource name:r1 role:Secondary suspended:no\nexists device name:r1 volume:0 minor:1000 disk:UpToDate client:no quorum:yes\nexists -\n")

	want := drbdState(t, dir, proto.Volume{Resource: "r1", VlmNr: 0, Pool: "pool1", SizeKib: 4096})
	want.Resources[0].Drbd.Volumes[0].FileSystem = &proto.FileSystem{Type: "ext4", MkfsParams: "-E nodiscard"}
	// mkfs made the file system: the next probe finds it.
	fake.On(mkfs, "")
	rep := a.Apply(ctx, want)
	require.Empty(t, rep.Volumes[0].Error)
	calls := strings.Join(fake.Calls(), "\n")
	assert.Contains(t, calls, primary+"\n"+probe+"\n"+"blkid -p /dev/drbd1000\n"+mkfs, "Primary, then the probes, then mkfs on the DRBD device")
	assert.Contains(t, calls, mkfs+"\n"+probe+"\n"+secondary, "Secondary after mkfs")
	assert.NotContains(t, calls, "mkfs.ext4 -E nodiscard "+backing, "never on the backing device")

	// Metadata there: the volume is not new, nothing is formatted.
	fake.Reset()
	fake.On(getGI, "0000000000000004:0000000000000000:0:0:0:0\n").On(adjust, "")
	rep = a.Apply(ctx, want)
	require.Empty(t, rep.Volumes[0].Error)
	assert.NotContains(t, fake.Calls(), mkfs)
	assert.NotContains(t, fake.Calls(), primary)
}
