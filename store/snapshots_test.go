package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"strata/apicall"
)

// snapshotCluster is three nodes with a FILE_THIN pool each, whose agents
// probed reflinks (and the diskless pool every node gets), and definition data with 1 MiB on alpha and bravo and
// a diskless resource on charlie.
func snapshotCluster(t *testing.T, s *Store) {
	ctx := context.Background()
	yes := true
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		_, err := s.CreateNode(ctx, NodeSpec{Name: n, Type: "SATELLITE"})
		require.NoError(t, err)
		_, err = s.CreateStoragePool(ctx, n, StoragePoolSpec{Name: "pool1", Provider: ProviderFileThin, Props: map[string]string{"StorDriver/FileDir": "/srv"}})
		require.NoError(t, err)
		require.NoError(t, s.SetStoragePoolCapacity(ctx, n, "pool1", 1<<20, 1<<20, &yes))
	}
	_, err := s.CreateResourceDefinition(ctx, ResourceDefinitionSpec{Name: "data", Props: map[string]string{KeyStorPoolName: "pool1", "Aux/app": "db"}})
	require.NoError(t, err)
	_, err = s.CreateVolumeDefinition(ctx, "data", VolumeDefinitionSpec{SizeKib: 1024, Props: map[string]string{"Aux/csi-volume-name": "pvc-1"}})
	require.NoError(t, err)
	_, err = s.CreateResources(ctx, "data", []ResourceSpec{{Node: "alpha"}, {Node: "bravo"}, {Node: "charlie", Flags: NewFlags("DRBD_DISKLESS")}})
	require.NoError(t, err)
}

func refusalCode(t *testing.T, err error) uint64 {
	t.Helper()
	e, ok := AsError(err)
	require.True(t, ok, "a refusal, not %v", err)
	return e.RetCode()
}

func TestSnapshotCreateChecksInLinstorsOrder(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		snapshotCluster(t, s)
		online := NodeAvailability{}
		for _, tc := range []struct {
			name  string
			spec  SnapshotSpec
			avail NodeAvailability
			code  uint64
			text  string
		}{
			{"missing definition", SnapshotSpec{Resource: "nope", Name: "s1"}, online, apicall.FailNotFound + 1, "Resource definition 'nope' not found."},
			{"diskless node named", SnapshotSpec{Resource: "data", Name: "s1", Nodes: []string{"charlie"}}, online, apicall.FailSnapshotsNotSupported, "Cannot create snapshot from diskless resource on node 'charlie'"},
			{"no diskful node online", SnapshotSpec{Resource: "data", Name: "s1"}, NodeAvailability{Offline: map[string]bool{"ALPHA": true, "BRAVO": true}}, apicall.FailNotConnected, "No diskful connected satellite for snapshot or no resources."},
			{"bad property", SnapshotSpec{Resource: "data", Name: "s1", Props: map[string]string{"Nope": "1"}}, online, apicall.FailInvldProp, "The property 'Nope' with value '1' is invalid."},
		} {
			_, err := s.CreateSnapshots(ctx, []SnapshotSpec{tc.spec}, tc.avail)
			require.Equal(t, tc.code, refusalCode(t, err), tc.name)
			require.EqualError(t, err, tc.text, tc.name)
		}
		list, err := s.ListSnapshots(ctx, SnapshotFilter{})
		require.NoError(t, err)
		require.Empty(t, list, "refusals change nothing")

		// An offline diskful node is skipped with LINSTOR's warning.
		created, err := s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "s1"}}, NodeAvailability{Offline: map[string]bool{"BRAVO": true}})
		require.NoError(t, err)
		require.Equal(t, []string{"alpha"}, created[0].Nodes)
		require.Equal(t, []string{"alpha", "bravo", "charlie"}, created[0].Holders, "every node's I/O is suspended, the diskless one's too")
		require.Equal(t, []string{"Snapshot for resource 'data' will not be created on node 'bravo' because that node is currently offline."}, created[0].Skipped)

		_, err = s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "S1"}}, online)
		require.Equal(t, apicall.FailExistsSnapshotDfn, refusalCode(t, err))
		require.EqualError(t, err, "A snapshot definition with the name 'S1' already exists in resource definition 'data'.")

		// A pool without reflinks refuses before anything changes.
		no := false
		require.NoError(t, s.SetStoragePoolCapacity(ctx, "bravo", "pool1", 1<<20, 1<<20, &no))
		_, err = s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "s2"}}, online)
		require.Equal(t, apicall.FailSnapshotsNotSupported, refusalCode(t, err))
		require.EqualError(t, err, "Storage driver 'FILE_THIN' does not support snapshots.")
		e, _ := AsError(err)
		require.Equal(t, "Used for storage pool 'pool1' on 'bravo'.", e.Cause)
	})
}

func TestSnapshotLifecycleInTheStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		snapshotCluster(t, s)
		_, err := s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "s1"}}, NodeAvailability{})
		require.NoError(t, err)
		ref := SnapshotRef{Resource: "data", Snapshot: "s1"}

		// While it is taken, every node holds the definition's I/O; the
		// diskful ones take it.
		states := func(node string) ([]NodeSnapshotState, []string) {
			snaps, suspended, err := s.NodeSnapshots(ctx, node)
			require.NoError(t, err)
			return snaps, suspended
		}
		snaps, suspended := states("charlie")
		require.Empty(t, snaps)
		require.Equal(t, []string{"data"}, suspended)
		snaps, _ = states("alpha")
		require.Empty(t, snaps, "in phase suspend nothing is taken yet")
		require.NoError(t, s.SetSnapshotPhase(ctx, PhaseTake, ref))
		snaps, suspended = states("alpha")
		require.Len(t, snaps, 1)
		require.True(t, snaps[0].Take)
		require.Equal(t, "pool1", snaps[0].Volumes[0].StorPoolDspName)
		require.Equal(t, []string{"data"}, suspended)

		require.NoError(t, s.FinishSnapshots(ctx, SnapshotSuccessful, 1700000000000, ref))
		snaps, suspended = states("alpha")
		require.Empty(t, suspended, "I/O resumes")
		require.True(t, snaps[0].Keep)
		require.False(t, snaps[0].Take)

		sn, err := s.GetSnapshot(ctx, "data", "S1")
		require.NoError(t, err)
		require.Equal(t, "db", sn.ResourceDefinitionProps["Aux/app"], "the definition's properties are kept with the snapshot")
		require.Equal(t, "pvc-1", sn.VolumeDefinitions[0].VolumeDefinitionProps["Aux/csi-volume-name"])
		require.Equal(t, int64(1024), sn.VolumeDefinitions[0].SizeKib)
		require.Len(t, sn.Nodes, 2)
		for _, n := range sn.Nodes {
			require.Equal(t, int64(1700000000000), n.CreateTimestamp)
		}
		_, _, err = s.MarkResourceDefinitionDeleting(ctx, "data")
		require.Equal(t, apicall.FailExistsSnapshotDfn, refusalCode(t, err), "a definition with snapshots stays")

		// Delete on one node, then all: rows go once the agents no longer
		// have them.
		_, marked, missing, err := s.MarkSnapshotDeleting(ctx, "data", "s1", []string{"bravo", "charlie"})
		require.NoError(t, err)
		require.Equal(t, []string{"bravo"}, marked)
		require.Equal(t, []string{"charlie"}, missing)
		require.NoError(t, s.PurgeDeletedSnapshots(ctx, "bravo", []SnapshotRef{ref}, nil), "bravo still has it")
		sn, err = s.GetSnapshot(ctx, "data", "s1")
		require.NoError(t, err)
		require.Len(t, sn.Nodes, 2)
		require.NoError(t, s.PurgeDeletedSnapshots(ctx, "bravo", nil, nil))
		sn, err = s.GetSnapshot(ctx, "data", "s1")
		require.NoError(t, err)
		require.Len(t, sn.Nodes, 1)
		_, _, _, err = s.MarkSnapshotDeleting(ctx, "data", "s1", nil)
		require.NoError(t, err)
		require.NoError(t, s.PurgeDeletedSnapshots(ctx, "alpha", nil, []string{"pool1"}), "a pool the agent could not read keeps its rows")
		_, err = s.GetSnapshot(ctx, "data", "s1")
		require.NoError(t, err)
		require.NoError(t, s.PurgeDeletedSnapshots(ctx, "alpha", nil, nil))
		_, err = s.GetSnapshot(ctx, "data", "s1")
		require.Equal(t, apicall.FailNotFound+15, refusalCode(t, err), "gone with its last part: FAIL_NOT_FOUND_SNAPSHOT")
	})
}

func TestRestoreChecksAndMarksTheVolumes(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		snapshotCluster(t, s)
		ref := SnapshotRef{Resource: "data", Snapshot: "s1"}
		_, err := s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "s1"}}, NodeAvailability{})
		require.NoError(t, err)
		_, err = s.CreateResourceDefinition(ctx, ResourceDefinitionSpec{Name: "copy"})
		require.NoError(t, err)
		_, _, _, err = s.RestoreResources(ctx, RestoreSpec{Resource: "data", Snapshot: "s1", To: "copy"})
		require.Equal(t, apicall.FailUnknownError, refusalCode(t, err))
		require.EqualError(t, err, "Unable to use failed snapshot")
		require.NoError(t, s.FinishSnapshots(ctx, SnapshotSuccessful, 1, ref))

		_, err = s.CreateVolumeDefinition(ctx, "copy", VolumeDefinitionSpec{SizeKib: 2048})
		require.NoError(t, err)
		_, _, _, err = s.RestoreResources(ctx, RestoreSpec{Resource: "data", Snapshot: "s1", To: "copy"})
		require.Equal(t, apicall.FailInvldVlmSize, refusalCode(t, err))
		require.EqualError(t, err, "Snapshot size does not match for volume number 0; snapshot size: 1024KiB, required size: 2048KiB")
		_, err = s.DeleteVolumeDefinition(ctx, "copy", 0)
		require.NoError(t, err)

		vds, err := s.RestoreVolumeDefinitions(ctx, "data", "s1", "copy")
		require.NoError(t, err)
		require.Len(t, vds, 1)
		_, err = s.RestoreVolumeDefinitions(ctx, "data", "s1", "copy")
		require.Equal(t, apicall.FailExists+3, refusalCode(t, err), "FAIL_EXISTS_VLM_DFN, which linstor-csi takes as done")

		_, _, _, err = s.RestoreResources(ctx, RestoreSpec{Resource: "data", Snapshot: "s1", To: "copy", Nodes: []string{"bravo"}, PoolRename: map[string]string{"pool1": "fast"}})
		require.Equal(t, apicall.FailNotFound+10, refusalCode(t, err), "stor_pool_rename to a pool the node lacks")
		_, _, _, err = s.RestoreResources(ctx, RestoreSpec{Resource: "data", Snapshot: "s1", To: "copy", Nodes: []string{"delta"}})
		require.Equal(t, apicall.FailNotFound+15, refusalCode(t, err), "a node without the snapshot")

		rows, nodes, any, err := s.RestoreResources(ctx, RestoreSpec{Resource: "data", Snapshot: "s1", To: "copy", Nodes: []string{"bravo"}})
		require.NoError(t, err)
		require.True(t, any)
		require.Equal(t, []string{"bravo"}, nodes)
		require.True(t, rows[0].Flags.Has(FlagRestoreFromSnapshot))
		require.EqualValues(t, 1, rows[0].DrbdNodeID, "bravo's DRBD node id in data, which the metadata in the snapshot names")
		r, err := s.GetResource(ctx, "copy", "bravo")
		require.NoError(t, err)
		require.Equal(t, "data", r.Volumes[0].Props[KeyRestoreFromResource])
		require.Equal(t, "s1", r.Volumes[0].Props[KeyRestoreFromSnapshot])
		copyDef, err := s.GetResourceDefinition(ctx, "copy")
		require.NoError(t, err)
		require.Equal(t, "db", copyDef.Props["Aux/app"], "the snapshot's definition properties are restored")

		_, _, _, err = s.RestoreResources(ctx, RestoreSpec{Resource: "data", Snapshot: "s1", To: "copy"})
		require.Equal(t, apicall.FailExists+2, refusalCode(t, err))
		require.EqualError(t, err, "Cannot restore to resource definition which already has resources")

		pending, err := s.FinishRestore(ctx, "copy")
		require.NoError(t, err)
		require.Equal(t, []string{"BRAVO"}, pending, "not deployed yet: still restoring")
		require.NoError(t, s.SetVolumeActual(ctx, "bravo", map[string]map[int32]VolumeActual{"COPY": {0: {DevicePath: "/dev/loop9", DiskState: "UpToDate"}}}))
		pending, err = s.FinishRestore(ctx, "copy")
		require.NoError(t, err)
		require.Empty(t, pending)
		r, err = s.GetResource(ctx, "copy", "bravo")
		require.NoError(t, err)
		require.False(t, r.Flags.Has(FlagRestoreFromSnapshot))
		require.Empty(t, r.Volumes[0].Props[KeyRestoreFromSnapshot])
	})
}

func TestAutoSnapshotNamesAndKeep(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		snapshotCluster(t, s)
		require.NoError(t, s.ModifyControllerProps(ctx, PropsModify{OverrideProps: map[string]string{KeyAutoSnapshotRunEvery: "15", KeyAutoSnapshotKeep: "2"}}))
		all, err := s.AutoSnapshots(ctx)
		require.NoError(t, err)
		require.Equal(t, AutoSnapshotSettings{RunEveryMinutes: 15, Keep: 2, Prefix: "autoSnap"}, all["data"], "inherited from the controller")
		one, err := s.AutoSnapshotSettingsOf(ctx, "DATA")
		require.NoError(t, err)
		require.Equal(t, all["data"], one, "read for the definition alone, the same")
		_, err = s.ModifyResourceDefinition(ctx, "data", ResourceDefinitionChange{Props: PropsModify{OverrideProps: map[string]string{KeyAutoSnapshotRunEvery: "0"}}})
		require.NoError(t, err)
		all, err = s.AutoSnapshots(ctx)
		require.NoError(t, err)
		require.NotContains(t, all, "data", "the definition's 0 switches it off")
		one, err = s.AutoSnapshotSettingsOf(ctx, "data")
		require.NoError(t, err)
		require.Zero(t, one.RunEveryMinutes)

		var names []string
		for range 3 {
			name, err := s.NextAutoSnapshotName(ctx, "data", "autoSnap")
			require.NoError(t, err)
			names = append(names, name)
			_, err = s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: name, Flags: NewFlags(SnapshotAuto)}}, NodeAvailability{})
			require.NoError(t, err)
		}
		require.Equal(t, []string{"autoSnap00001", "autoSnap00002", "autoSnap00003"}, names)
		_, err = s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "autoSnap00000"}}, NodeAvailability{})
		require.NoError(t, err) // manual, so never cleaned up
		old, err := s.AutoSnapshotsBeyondKeep(ctx, "data", "autoSnap", 2)
		require.NoError(t, err)
		require.Equal(t, []string{"autoSnap00001"}, old)
		old, err = s.AutoSnapshotsBeyondKeep(ctx, "data", "autoSnap", 0)
		require.NoError(t, err)
		require.Empty(t, old, "Keep ≤ 0 keeps all")
	})
}

// A rollback checks what LINSTOR checks, and refuses ZFS, where a zvol
// cannot be made again while it holds its snapshots.
func TestRollbackChecks(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		snapshotCluster(t, s)
		ref := SnapshotRef{Resource: "data", Snapshot: "s1"}
		_, err := s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "s1", Nodes: []string{"alpha"}}}, NodeAvailability{})
		require.NoError(t, err)
		require.NoError(t, s.FinishSnapshots(ctx, SnapshotSuccessful, 1, ref))
		_, err = s.CheckRollback(ctx, "data", "s1", NodeAvailability{Offline: map[string]bool{"CHARLIE": true}})
		require.Equal(t, apicall.FailNotConnected, refusalCode(t, err))
		require.EqualError(t, err, "Snapshot rollback cannot be performed when the corresponding satellites are not connected.")
		_, err = s.CheckRollback(ctx, "data", "s1", NodeAvailability{})
		require.EqualError(t, err, "Snapshot 's1' of resource 'data' is not on node 'bravo'.", "bravo is diskful and has no part of it")

		_, err = s.CreateSnapshots(ctx, []SnapshotSpec{{Resource: "data", Name: "s2"}}, NodeAvailability{})
		require.NoError(t, err)
		require.NoError(t, s.FinishSnapshots(ctx, SnapshotSuccessful, 1, SnapshotRef{Resource: "data", Snapshot: "s2"}))
		nodes, err := s.CheckRollback(ctx, "data", "s2", NodeAvailability{})
		require.NoError(t, err)
		require.Equal(t, []string{"alpha", "bravo", "charlie"}, nodes)
		inUse := true
		require.NoError(t, s.SetResourceActual(ctx, "alpha", map[string]ResourceActual{"DATA": {DrbdRole: "Primary", InUse: &inUse}}))
		_, err = s.CheckRollback(ctx, "data", "s2", NodeAvailability{})
		require.Equal(t, apicall.FailInUse, refusalCode(t, err), "%v", err)
		require.EqualError(t, err, "Resource 'data' on node 'alpha' is still in use.")
		require.NoError(t, s.SetResourceActual(ctx, "alpha", map[string]ResourceActual{"DATA": {DrbdRole: "Secondary", InUse: new(bool)}}))

		require.NoError(t, s.Write(ctx, func(tx *gorm.DB) error {
			return tx.Model(&StoragePoolRow{}).Where("node_name = ?", "BRAVO").Update("driver_name", ProviderZFSThin).Error
		}))
		_, err = s.CheckRollback(ctx, "data", "s2", NodeAvailability{})
		require.Equal(t, apicall.FailSnapshotsNotSupported, refusalCode(t, err))
		require.EqualError(t, err, "Snapshot rollback of volume 0 on node 'bravo' is not supported on storage driver 'ZFS_THIN'.")
	})
}
