package tests

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// linstor-csi's controller flows against Strata, call by call as
// linstor-csi's pkg/client/linstor.go makes them through golinstor, on
// two agents with FILE_THIN pools, on SQLite and PostgreSQL: CreateVolume
// (resource group reconcile, definition with file system properties,
// volume definition, autoplace), ControllerPublish/Unpublish (attach by
// make-available), ControllerExpand, ListVolumes with health, GetCapacity,
// in-cluster snapshots with a volume made from one (its file there), and
// DeleteVolume with its clean-up, which must leave nothing behind.
func TestLinstorCSIControllerFlows(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			opts := harness.ControllerOptions{}
			if dialect == "postgres" {
				opts.PostgresURL = harness.PostgresDatabase(t)
			}
			csiFlows(t, opts)
		})
	}
}

func csiFlows(t *testing.T, opts harness.ControllerOptions) {
	ctx := context.Background()
	// The pools sit on a reflink file system, so that snapshots and
	// volumes from them are real.
	root := harness.ReflinkDir(t, 600)
	dirs := map[string]string{"alpha": filepath.Join(root, "alpha"), "bravo": filepath.Join(root, "bravo")}
	for _, d := range dirs {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	t.Cleanup(func() { detachLoops(dirs) })
	c := harness.StartController(t, opts)
	u, err := url.Parse(c.URL)
	require.NoError(t, err)
	cli, err := lapi.NewClient(lapi.BaseURL(u))
	require.NoError(t, err)
	for _, n := range []string{"alpha", "bravo"} {
		ag := harness.StartAgent(t)
		must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": n, "type": "satellite",
			"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": ag.Port}}}, http.StatusCreated)
		eventually(t, 20*time.Second, n+" online", func() bool { return nodeStatus(t, c, n).ConnectionStatus == "ONLINE" })
		must(t, c, http.MethodPost, "/v1/nodes/"+n+"/storage-pools", map[string]any{"storage_pool_name": "thin", "provider_kind": "FILE_THIN",
			"props": map[string]string{"StorDriver/StorPoolName": dirs[n]}}, http.StatusCreated)
	}

	// CreateVolume: reconcileResourceGroup.
	const rgName, vol = "sc-fast", "pvc-0d3f"
	_, err = cli.ResourceGroups.Get(ctx, rgName)
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	require.NoError(t, cli.ResourceGroups.Create(ctx, lapi.ResourceGroup{Name: rgName, Props: map[string]string{}, SelectFilter: lapi.AutoSelectFilter{}}))
	require.NoError(t, cli.ResourceGroups.CreateVolumeGroup(ctx, rgName, lapi.VolumeGroup{}))
	_, err = cli.ResourceGroups.Get(ctx, rgName)
	require.NoError(t, err)
	require.NoError(t, cli.ResourceGroups.Modify(ctx, rgName, lapi.ResourceGroupModify{
		SelectFilter:  lapi.AutoSelectFilter{PlaceCount: 1, StoragePool: "thin"},
		OverrideProps: map[string]string{"Aux/csi-parameters": "fast"},
	}))
	rg, err := cli.ResourceGroups.Get(ctx, rgName)
	require.NoError(t, err)
	require.EqualValues(t, 1, rg.SelectFilter.PlaceCount)
	// reconcileResourceDefinition, with the file system the agent makes.
	_, err = cli.ResourceDefinitions.Get(ctx, vol)
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	require.NoError(t, cli.ResourceDefinitions.Create(ctx, lapi.ResourceDefinitionCreate{ResourceDefinition: lapi.ResourceDefinition{
		Name: vol, ResourceGroupName: rgName, Props: map[string]string{linstor.NamespcFilesystem + "/" + linstor.KeyFsType: "ext4", linstor.NamespcFilesystem + "/" + linstor.KeyFsMkfsparameters: ""}}}))
	_, err = cli.ResourceDefinitions.Get(ctx, vol)
	require.NoError(t, err)
	// reconcileVolumeDefinition.
	_, err = cli.ResourceDefinitions.GetVolumeDefinition(ctx, vol, 0)
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	zero := int32(0)
	require.NoError(t, cli.ResourceDefinitions.CreateVolumeDefinition(ctx, vol, lapi.VolumeDefinitionCreate{VolumeDefinition: lapi.VolumeDefinition{VolumeNumber: &zero, SizeKib: 64 << 10}}))
	_, err = cli.ResourceDefinitions.GetVolumeDefinition(ctx, vol, 0)
	require.NoError(t, err)
	// reconcileResourcePlacement (the autoplace scheduler) and the extra properties.
	require.NoError(t, cli.Resources.Autoplace(ctx, vol, lapi.AutoPlaceRequest{}))
	require.NoError(t, cli.ResourceDefinitions.Modify(ctx, vol, lapi.GenericPropsModify{OverrideProps: map[string]string{"Aux/csi-provisioning-completed-by": "linstor-csi"}}))

	healthy := func() ([]string, bool) { // NodesAndConditionFromResources
		ress, err := cli.Resources.GetAll(ctx, vol)
		require.NoError(t, err)
		var nodes []string
		ok := len(ress) > 0
		for _, r := range ress {
			nodes = append(nodes, r.NodeName)
			ok = ok && r.State != nil
			if r.LayerObject.Type == "DRBD" {
				ok = ok && r.LayerObject.Drbd.PromotionScore != 0
			}
		}
		sort.Strings(nodes)
		return nodes, ok
	}
	var placedOn []string
	eventually(t, 30*time.Second, "the volume is placed and healthy", func() bool {
		nodes, ok := healthy()
		placedOn = nodes
		return ok && len(nodes) == 1
	})
	first := placedOn[0]
	other := map[string]string{"alpha": "bravo", "bravo": "alpha"}[first]
	v, err := cli.Resources.GetVolume(ctx, vol, first, 0)
	require.NoError(t, err)
	require.Equal(t, "ext4", blkidValue(t, v.DevicePath, "TYPE"), "the agent made the file system linstor-csi mounts")

	// ControllerPublish on the node without a replica (Attach).
	ress, err := cli.Resources.GetAll(ctx, vol)
	require.NoError(t, err)
	require.Len(t, ress, 1)
	require.NoError(t, cli.Resources.MakeAvailable(ctx, vol, other, lapi.ResourceMakeAvailable{Diskful: false}))
	_, err = cli.Resources.Get(ctx, vol, other)
	require.NoError(t, err)
	require.NoError(t, cli.Resources.ModifyVolume(ctx, vol, other, 0, lapi.GenericPropsModify{OverrideProps: map[string]string{"Aux/csi-created-for": "temporary-diskless-attach"}}))
	eventually(t, 30*time.Second, "attached and healthy on both nodes", func() bool {
		nodes, ok := healthy()
		return ok && slices.Equal(nodes, []string{"alpha", "bravo"})
	})
	// ControllerUnpublish (Detach): storage only, the attached replica has a
	// disk, so linstor-csi keeps it.
	attached, err := cli.Resources.GetVolume(ctx, vol, other, 0)
	require.NoError(t, err)
	require.Equal(t, "temporary-diskless-attach", attached.Props["Aux/csi-created-for"])
	require.NotEqual(t, lapi.DISKLESS, attached.ProviderKind, "without DRBD, make-available gives the node a disk")

	// ControllerExpand.
	vds, err := cli.ResourceDefinitions.GetVolumeDefinitions(ctx, vol)
	require.NoError(t, err)
	require.EqualValues(t, 64<<10, vds[0].SizeKib)
	require.NoError(t, cli.ResourceDefinitions.ModifyVolumeDefinition(ctx, vol, int(*vds[0].VolumeNumber), lapi.VolumeDefinitionModify{SizeKib: 128 << 10}))
	eventually(t, 30*time.Second, "both replicas grew", func() bool {
		for _, n := range []string{"alpha", "bravo"} {
			v, err := cli.Resources.GetVolume(ctx, vol, n, 0)
			if err != nil || v.UsableSizeKib < 128<<10 {
				return false
			}
		}
		return true
	})

	// ListVolumes and GetCapacity.
	rds, err := cli.ResourceDefinitions.GetAll(ctx, lapi.RDGetAllRequest{WithVolumeDefinitions: true})
	require.NoError(t, err)
	require.Len(t, rds, 1)
	require.Equal(t, "ext4", rds[0].Props["FileSystem/Type"])
	view, err := cli.Resources.GetResourceView(ctx)
	require.NoError(t, err)
	require.Len(t, view, 2)
	cached := true
	pools, err := cli.Nodes.GetStoragePoolView(ctx, &lapi.ListOpts{Cached: &cached})
	require.NoError(t, err)
	var free int64
	for _, p := range pools {
		if p.ProviderKind != lapi.DISKLESS {
			free += p.FreeCapacity
		}
	}
	require.Positive(t, free)
	_, err = cli.Nodes.GetAll(ctx)
	require.NoError(t, err)

	// CreateSnapshot (in cluster): every resource's state is known, then
	// the snapshot, ready once SUCCESSFUL. A file written first must be in
	// the volume made from it.
	mnt := t.TempDir()
	run(t, "mount", v.DevicePath, mnt)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "marker"), []byte("before the snapshot"), 0o644))
	run(t, "umount", mnt)
	const snap = "snapshot-7a1c"
	ress, err = cli.Resources.GetAll(ctx, vol)
	require.NoError(t, err)
	for _, r := range ress {
		require.NotNil(t, r.State, "linstor-csi refuses to snapshot a resource in unknown state")
	}
	require.NoError(t, cli.Resources.CreateSnapshot(ctx, lapi.Snapshot{Name: snap, ResourceName: vol}))
	eventually(t, 30*time.Second, "the snapshot is ready", func() bool {
		sn, err := cli.Resources.GetSnapshot(ctx, vol, snap)
		require.NoError(t, err)
		return slices.Contains(sn.Flags, linstor.FlagSuccessful)
	})
	all, err := cli.Resources.GetSnapshotView(ctx) // ListSnapshots
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Len(t, all[0].VolumeDefinitions, 1)
	require.NotEmpty(t, all[0].Snapshots)

	// Volume from snapshot (VolFromSnap): definition, volume definitions
	// and one resource restored from the snapshot, then the placement.
	const restored = "pvc-9e21"
	require.NoError(t, cli.ResourceDefinitions.Create(ctx, lapi.ResourceDefinitionCreate{ResourceDefinition: lapi.ResourceDefinition{
		Name: restored, ResourceGroupName: rgName, Props: map[string]string{"FileSystem/Type": "ext4"}}}))
	sn, err := cli.Resources.GetSnapshot(ctx, vol, snap)
	require.NoError(t, err)
	vds, err = cli.ResourceDefinitions.GetVolumeDefinitions(ctx, restored)
	require.NoError(t, err)
	require.Empty(t, vds)
	require.NoError(t, cli.Resources.RestoreVolumeDefinitionSnapshot(ctx, vol, snap, lapi.SnapshotRestore{ToResource: restored}))
	require.NotEmpty(t, sn.Nodes)
	require.NoError(t, cli.Resources.RestoreSnapshot(ctx, vol, snap, lapi.SnapshotRestore{ToResource: restored, Nodes: []string{sn.Nodes[0]}}))
	_, err = cli.ResourceDefinitions.GetVolumeDefinition(ctx, restored, 0)
	require.NoError(t, err)
	require.NoError(t, cli.Resources.Autoplace(ctx, restored, lapi.AutoPlaceRequest{}))
	var rv lapi.Volume
	eventually(t, 30*time.Second, "the restored volume is there", func() bool {
		rv, err = cli.Resources.GetVolume(ctx, restored, sn.Nodes[0], 0)
		return err == nil && rv.DevicePath != "" && rv.State.DiskState == "UpToDate"
	})
	run(t, "mount", rv.DevicePath, mnt)
	got, err := os.ReadFile(filepath.Join(mnt, "marker"))
	run(t, "umount", mnt)
	require.NoError(t, err, "the restored volume brings the snapshot's file system, not a new one")
	require.Equal(t, "before the snapshot", string(got))

	// DeleteSnapshot.
	require.NoError(t, cli.Resources.DeleteSnapshot(ctx, vol, snap))
	eventually(t, 30*time.Second, "the snapshot is gone", func() bool {
		snaps, err := cli.Resources.GetSnapshots(ctx, vol)
		require.NoError(t, err)
		return len(snaps) == 0
	})

	// DeleteVolume, of both: the volume definition first, then the
	// resources, then the definition and the group if nothing else uses
	// them (the first delete finds the group still used).
	deleteVolume := func(vol string) {
		require.NoError(t, cli.ResourceDefinitions.DeleteVolumeDefinition(ctx, vol, 0))
		ress, err := cli.Resources.GetAll(ctx, vol)
		require.NoError(t, err)
		for _, r := range ress {
			require.NoError(t, cli.Resources.Delete(ctx, vol, r.NodeName))
		}
		ress, err = cli.Resources.GetAll(ctx, vol)
		require.NoError(t, err)
		for _, r := range ress {
			require.Contains(t, r.Flags, linstor.FlagDelete, "not deleting resource definition, found undeleted resource")
		}
		snaps, err := cli.Resources.GetSnapshots(ctx, vol)
		require.NoError(t, err)
		require.Empty(t, snaps)
		rd, err := cli.ResourceDefinitions.Get(ctx, vol)
		require.NoError(t, err)
		require.NoError(t, cli.ResourceDefinitions.Delete(ctx, vol))
		if err := cli.ResourceGroups.Delete(ctx, rd.ResourceGroupName); err != nil {
			require.True(t, lapi.IsApiCallError(err, linstor.FailExistsRscDfn), "linstor-csi leaves a group in use alone: %v", err)
		}
	}
	deleteVolume(restored)
	_, err = cli.ResourceGroups.Get(ctx, rgName)
	require.NoError(t, err, "the group still holds the first volume")
	deleteVolume(vol)

	// Nothing is left behind: no definition, group, resource or file.
	_, err = cli.ResourceDefinitions.Get(ctx, vol)
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	_, err = cli.ResourceGroups.Get(ctx, rgName)
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	_, err = cli.ResourceDefinitions.Get(ctx, restored)
	require.True(t, errors.Is(err, lapi.NotFoundError), "%v", err)
	eventually(t, 30*time.Second, "every volume file is gone", func() bool {
		view, err := cli.Resources.GetResourceView(ctx)
		require.NoError(t, err)
		for _, dir := range dirs {
			if files, _ := filepath.Glob(filepath.Join(dir, "pvc-*")); len(files) > 0 {
				return false
			}
		}
		return len(view) == 0
	})
	_, err = os.Stat(dirs["alpha"])
	require.NoError(t, err)
}
