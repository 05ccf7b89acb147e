package nodestate

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/proto"
	"strata/store"
)

// cluster is two nodes, alpha and bravo, holding resource "data" with one
// 1 GiB volume in FILE_THIN pools, and charlie holding it diskless.
func cluster(t *testing.T) *store.Store {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")}, log)
	require.NoError(t, err)
	port := int32(3366)
	for i, n := range []string{"alpha", "bravo", "charlie"} {
		_, err := st.CreateNode(ctx, store.NodeSpec{Name: n, Type: "SATELLITE", Props: map[string]string{store.KeyNodeUname: n + ".example"},
			NetInterfaces: []store.NetInterfaceRow{{NodeNetDspName: "default", InetAddress: "10.0.0." + string(rune('1'+i)), StltConnPort: &port}}})
		require.NoError(t, err)
		_, err = st.CreateStoragePool(ctx, n, store.StoragePoolSpec{Name: "pool1", Provider: "FILE_THIN", Props: map[string]string{"StorDriver/StorPoolName": "/srv"}})
		require.NoError(t, err)
	}
	_, err = st.CreateResourceDefinition(ctx, store.ResourceDefinitionSpec{Name: "data", Props: map[string]string{"StorPoolName": "pool1", "DrbdOptions/Net/protocol": "C"}})
	require.NoError(t, err)
	_, err = st.CreateVolumeDefinition(ctx, "data", store.VolumeDefinitionSpec{SizeKib: 1 << 20})
	require.NoError(t, err)
	_, err = st.CreateResources(ctx, "data", []store.ResourceSpec{{Node: "alpha"}, {Node: "bravo"}, {Node: "charlie", Flags: store.NewFlags("DRBD_DISKLESS")}})
	require.NoError(t, err)
	return st
}

// serving records what a node's agent said it serves, as the agent link
// does when the agent comes online.
func serving(t *testing.T, st *store.Store, node string, layers ...string) {
	require.NoError(t, st.SetNodeAgentInfo(context.Background(), node, node+".example", layers))
}

func TestDesiredStateIsDrbdWhereEveryNodeServesIt(t *testing.T) {
	ctx := context.Background()
	st := cluster(t)
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		serving(t, st, n, "DRBD", "STORAGE")
	}
	want, _, err := Compile(ctx, st, "alpha")
	require.NoError(t, err)
	require.Len(t, want.Volumes, 1)
	require.Len(t, want.Resources, 1)
	r := want.Resources[0]
	assert.Equal(t, []string{"DRBD", "STORAGE"}, r.Layers)
	require.NotNil(t, r.Drbd)
	assert.EqualValues(t, 7000, r.Drbd.Port, "the first port of TcpPortAutoRange")
	assert.NotEmpty(t, r.Drbd.Secret)
	assert.EqualValues(t, 7, r.Drbd.PeerSlots)
	assert.Equal(t, map[string]string{"DrbdOptions/Net/protocol": "C"}, r.Drbd.Options)
	assert.Equal(t, []proto.DrbdVolume{{VlmNr: 0, Minor: 1000}}, r.Drbd.Volumes)
	assert.Equal(t, []proto.DrbdNode{
		{Name: "alpha", Host: "alpha.example", NodeID: 0, Address: "10.0.0.1"},
		{Name: "bravo", Host: "bravo.example", NodeID: 1, Address: "10.0.0.2"},
		{Name: "charlie", Host: "charlie.example", NodeID: 2, Address: "10.0.0.3", Diskless: true},
	}, r.Drbd.Nodes)

	// One node without DRBD: the resource is storage only everywhere.
	serving(t, st, "charlie", "STORAGE")
	want, _, err = Compile(ctx, st, "alpha")
	require.NoError(t, err)
	assert.Empty(t, want.Resources)
	assert.Len(t, want.Volumes, 1, "the volume is still wanted")

	// A stack set on the definition is followed.
	_, err = st.CreateResourceDefinition(ctx, store.ResourceDefinitionSpec{Name: "plain", LayerStack: []string{"STORAGE"}, Props: map[string]string{"StorPoolName": "pool1"}})
	require.NoError(t, err)
	_, err = st.CreateVolumeDefinition(ctx, "plain", store.VolumeDefinitionSpec{SizeKib: 1024})
	require.NoError(t, err)
	_, err = st.CreateResources(ctx, "plain", []store.ResourceSpec{{Node: "alpha"}, {Node: "bravo"}})
	require.NoError(t, err)
	serving(t, st, "charlie", "DRBD", "STORAGE")
	want, _, err = Compile(ctx, st, "bravo")
	require.NoError(t, err)
	require.Len(t, want.Resources, 1)
	assert.Equal(t, "data", want.Resources[0].Name, "plain is storage only")
	assert.Len(t, want.Volumes, 2)
}

func TestDesiredStateCarriesInheritedStorDriverProperties(t *testing.T) {
	ctx := context.Background()
	st := cluster(t)
	_, err := st.CreateStoragePool(ctx, "alpha", store.StoragePoolSpec{Name: "lvm1", Provider: "LVM",
		Props: map[string]string{"StorDriver/StorPoolName": "vg1", "StorDriver/WaitTimeoutAfterCreate": "900"}})
	require.NoError(t, err)
	require.NoError(t, st.ModifyControllerProps(ctx, store.PropsModify{OverrideProps: map[string]string{
		"StorDriver/WaitTimeoutAfterCreate": "2000", "StorDriver/LvcreateOptions": "--ctrl"}}))
	_, err = st.ModifyNode(ctx, "alpha", "", store.PropsModify{OverrideProps: map[string]string{"StorDriver/LvcreateOptions": "--node"}})
	require.NoError(t, err)
	_, err = st.CreateResourceDefinition(ctx, store.ResourceDefinitionSpec{Name: "lv", Props: map[string]string{"StorPoolName": "lvm1", "StorDriver/LvcreateOptions": "--rd"}})
	require.NoError(t, err)
	_, err = st.CreateVolumeDefinition(ctx, "lv", store.VolumeDefinitionSpec{SizeKib: 1024})
	require.NoError(t, err)
	_, err = st.CreateVolumeDefinition(ctx, "lv", store.VolumeDefinitionSpec{SizeKib: 1024, Props: map[string]string{"StorDriver/LvcreateOptions": "--vd"}})
	require.NoError(t, err)
	_, err = st.CreateResources(ctx, "lv", []store.ResourceSpec{{Node: "alpha"}})
	require.NoError(t, err)

	want, _, err := Compile(ctx, st, "alpha")
	require.NoError(t, err)
	for _, p := range want.Pools {
		if p.Name == "lvm1" {
			assert.Equal(t, "900", p.Props["StorDriver/WaitTimeoutAfterCreate"], "the pool's own value wins")
			assert.Equal(t, "--node", p.Props["StorDriver/LvcreateOptions"], "the node's value wins over the controller's")
		}
	}
	opts := map[int32]string{}
	for _, v := range want.Volumes {
		if v.Resource == "lv" {
			require.NotNil(t, v.CreateOptions)
			opts[v.VlmNr] = *v.CreateOptions
		} else {
			assert.Nil(t, v.CreateOptions, "FILE_THIN volumes take no create options")
		}
	}
	assert.Equal(t, map[int32]string{0: "--rd", 1: "--vd"}, opts)
}

// Connection properties reach the DRBD resource: peer options from the
// node connection, overridden by the resource connection, and one path
// per Paths/<path>/<node> pair of net interfaces.
func TestDesiredStateCarriesConnectionOptionsAndPaths(t *testing.T) {
	ctx := context.Background()
	st := cluster(t)
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		serving(t, st, n, "DRBD", "STORAGE")
	}
	for n, addr := range map[string]string{"alpha": "192.168.1.1", "bravo": "192.168.1.2"} {
		_, err := st.CreateNetInterface(ctx, n, store.NetInterfaceRow{NodeNetDspName: "fast", InetAddress: addr}, false)
		require.NoError(t, err)
	}
	_, err := st.ModifyNodeConnection(ctx, "alpha", "bravo", store.PropsModify{OverrideProps: map[string]string{"DrbdOptions/Net/protocol": "A", "DrbdOptions/Net/max-buffers": "4096"}})
	require.NoError(t, err)
	_, err = st.ModifyResourceConnection(ctx, "data", "bravo", "alpha", store.PropsModify{OverrideProps: map[string]string{
		"DrbdOptions/Net/max-buffers": "8192",
		"Paths/p1/alpha":              "default", "Paths/p1/bravo": "default",
		"Paths/p2/alpha": "fast", "Paths/p2/bravo": "fast"}})
	require.NoError(t, err)

	want, _, err := Compile(ctx, st, "alpha")
	require.NoError(t, err)
	require.Len(t, want.Resources, 1)
	d := want.Resources[0].Drbd
	assert.Equal(t, map[string]string{"DrbdOptions/Net/protocol": "A", "DrbdOptions/Net/max-buffers": "8192"}, d.PeerOptions["bravo"],
		"the resource connection wins over the node connection")
	assert.Equal(t, []proto.DrbdPath{{Local: "10.0.0.1", Peer: "10.0.0.2"}, {Local: "192.168.1.1", Peer: "192.168.1.2"}}, d.Paths["bravo"])
	assert.Empty(t, d.Paths["charlie"], "no paths set: one path between the nodes' addresses")

	want, _, err = Compile(ctx, st, "bravo")
	require.NoError(t, err)
	assert.Equal(t, []proto.DrbdPath{{Local: "10.0.0.2", Peer: "10.0.0.1"}, {Local: "192.168.1.2", Peer: "192.168.1.1"}}, want.Resources[0].Drbd.Paths["alpha"],
		"seen from the other end")
}

// FileSystem/Type on a DRBD resource: only its diskful resource with the
// lowest node id is told to make it, on its DRBD device (never on the
// storage below), and nobody once one replica reported it made.
func TestDrbdFileSystemIsMadeOnOneNodeOnce(t *testing.T) {
	ctx := context.Background()
	st := cluster(t)
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		serving(t, st, n, "DRBD", "STORAGE")
	}
	_, err := st.ModifyResourceDefinition(ctx, "data", store.ResourceDefinitionChange{Props: store.PropsModify{OverrideProps: map[string]string{store.KeyFileSystemType: "xfs"}}})
	require.NoError(t, err)
	told := func(node string) *proto.FileSystem {
		want, _, err := Compile(ctx, st, node)
		require.NoError(t, err)
		require.Len(t, want.Resources, 1)
		for _, v := range want.Volumes {
			assert.Nil(t, v.FileSystem, "never on the storage below DRBD")
		}
		return want.Resources[0].Drbd.Volumes[0].FileSystem
	}
	assert.Equal(t, &proto.FileSystem{Type: "xfs"}, told("alpha"))
	assert.Nil(t, told("bravo"))
	assert.Nil(t, told("charlie"), "diskless")

	require.NoError(t, st.SetFileSystems(ctx, "alpha", map[string]map[int32]string{store.Key("data"): {0: "xfs"}}))
	assert.Nil(t, told("alpha"), "made once")
}
