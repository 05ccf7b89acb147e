package api

import (
	"errors"
	"net"
	"net/url"
	"testing"

	linstor "github.com/LINBIT/golinstor"
	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"
)

// golinstor is LINSTOR's own Go client (the one linstor-csi uses) on the
// test's API.
func (c *apiClient) golinstor() *lapi.Client {
	u, err := url.Parse(c.srv.URL)
	require.NoError(c.t, err)
	cli, err := lapi.NewClient(lapi.BaseURL(u))
	require.NoError(c.t, err)
	return cli
}

// golinstor drives Strata unchanged.
func TestGolinstorClient(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cli := c.golinstor()
		var err error

		port := int32(3366)
		node := lapi.Node{Name: "csi-1", Type: "satellite", NetInterfaces: []lapi.NetInterface{{Name: "default", Address: net.ParseIP("10.0.0.1"), SatellitePort: port, SatelliteEncryptionType: "plain"}}}
		require.NoError(t, cli.Nodes.Create(ctx, node))
		err = cli.Nodes.Create(ctx, node)
		require.True(t, lapi.IsApiCallError(err, linstor.FailExistsNode), "golinstor recognises LINSTOR's code: %v", err)

		got, err := cli.Nodes.Get(ctx, "csi-1")
		require.NoError(t, err)
		require.Equal(t, "SATELLITE", got.Type)
		require.Equal(t, "10.0.0.1", got.NetInterfaces[0].Address.String())
		_, err = cli.Nodes.Get(ctx, "missing")
		require.True(t, errors.Is(err, lapi.NotFoundError), "a 404 is golinstor's NotFoundError: %v", err)

		require.NoError(t, cli.Nodes.CreateStoragePool(ctx, "csi-1", lapi.StoragePool{StoragePoolName: "thin", ProviderKind: lapi.FILE_THIN,
			Props: map[string]string{"StorDriver/StorPoolName": "/srv/thin"}}))
		pools, err := cli.Nodes.GetStoragePoolView(ctx, &lapi.ListOpts{StoragePool: []string{"thin"}})
		require.NoError(t, err)
		require.Len(t, pools, 1)
		require.Equal(t, lapi.FILE_THIN, pools[0].ProviderKind)

		require.NoError(t, cli.ResourceGroups.Create(ctx, lapi.ResourceGroup{Name: "csi-rg", SelectFilter: lapi.AutoSelectFilter{PlaceCount: 2, StoragePool: "thin"}}))
		rg, err := cli.ResourceGroups.Get(ctx, "csi-rg")
		require.NoError(t, err)
		require.EqualValues(t, 2, rg.SelectFilter.PlaceCount)

		require.NoError(t, cli.ResourceDefinitions.Create(ctx, lapi.ResourceDefinitionCreate{ResourceDefinition: lapi.ResourceDefinition{
			Name: "pvc-1", ResourceGroupName: "csi-rg", Props: map[string]string{"Aux/csi-volume": "pvc-1", "StorPoolName": "thin"}}}))
		require.NoError(t, cli.ResourceDefinitions.CreateVolumeDefinition(ctx, "pvc-1", lapi.VolumeDefinitionCreate{VolumeDefinition: lapi.VolumeDefinition{SizeKib: 1 << 20}}))
		rds, err := cli.ResourceDefinitions.GetAll(ctx, lapi.RDGetAllRequest{WithVolumeDefinitions: true})
		require.NoError(t, err)
		require.Len(t, rds, 1)
		require.EqualValues(t, 1<<20, rds[0].VolumeDefinitions[0].SizeKib)

		require.NoError(t, cli.Resources.Create(ctx, lapi.ResourceCreate{Resource: lapi.Resource{Name: "pvc-1", NodeName: "csi-1"}}))
		view, err := cli.Resources.GetResourceView(ctx, &lapi.ListOpts{Resource: []string{"pvc-1"}})
		require.NoError(t, err)
		require.Len(t, view, 1)
		require.Equal(t, "thin", view[0].Volumes[0].StoragePoolName)

		// Size queries, as linstor-csi asks them before provisioning.
		require.NoError(t, c.store.SetStoragePoolCapacity(ctx, "csi-1", "thin", 1<<20, 4<<20, nil))
		sizes, err := cli.Resources.QueryMaxVolumeSize(ctx, lapi.AutoSelectFilter{PlaceCount: 1, StoragePool: "thin"})
		require.NoError(t, err)
		require.Len(t, sizes.Candidates, 1)
		require.EqualValues(t, 20<<20, sizes.Candidates[0].MaxVolumeSizeKib, "a thin pool's free space oversubscribed 20 times")
		require.NoError(t, c.store.SetStoragePoolCapacity(ctx, "csi-1", "thin", 4<<20, 4<<20, nil))
		info, err := cli.ResourceGroups.QuerySizeInfo(ctx, "csi-rg", lapi.QuerySizeInfoRequest{SelectFilter: &lapi.AutoSelectFilter{PlaceCount: 1}})
		require.NoError(t, err)
		require.EqualValues(t, 79<<20, info.SpaceInfo.MaxVlmSizeInKib, "20 times the capacity, less the 1 GiB volume already placed")
		require.Equal(t, "csi-1", info.SpaceInfo.NextSpawnResult[0].NodeName)

		// Provisioning as linstor-csi does it: spawn from the group, then
		// add a replica by autoplace; toggle a diskless one to diskful.
		require.NoError(t, cli.Nodes.Create(ctx, lapi.Node{Name: "csi-2", Type: "satellite", NetInterfaces: []lapi.NetInterface{{Name: "default", Address: net.ParseIP("10.0.0.2"), SatellitePort: port}}}))
		require.NoError(t, cli.Nodes.CreateStoragePool(ctx, "csi-2", lapi.StoragePool{StoragePoolName: "thin", ProviderKind: lapi.FILE_THIN,
			Props: map[string]string{"StorDriver/StorPoolName": "/srv/thin"}}))
		require.NoError(t, c.store.SetStoragePoolCapacity(ctx, "csi-2", "thin", 8<<20, 8<<20, nil))
		require.NoError(t, cli.ResourceGroups.CreateVolumeGroup(ctx, "csi-rg", lapi.VolumeGroup{}))
		require.NoError(t, cli.ResourceGroups.Spawn(ctx, "csi-rg", lapi.ResourceGroupSpawn{ResourceDefinitionName: "pvc-2", VolumeSizes: []int64{1 << 20},
			SelectFilter: lapi.AutoSelectFilter{PlaceCount: 1}}))
		spawned, err := cli.Resources.GetAll(ctx, "pvc-2")
		require.NoError(t, err)
		require.Len(t, spawned, 1)
		require.Equal(t, "csi-2", spawned[0].NodeName, "the pool with the most free space")
		require.NoError(t, cli.Resources.Autoplace(ctx, "pvc-2", lapi.AutoPlaceRequest{SelectFilter: lapi.AutoSelectFilter{AdditionalPlaceCount: 1}}))
		spawned, err = cli.Resources.GetAll(ctx, "pvc-2")
		require.NoError(t, err)
		require.Len(t, spawned, 2)
		err = cli.Resources.Autoplace(ctx, "pvc-2", lapi.AutoPlaceRequest{SelectFilter: lapi.AutoSelectFilter{AdditionalPlaceCount: 1}})
		require.True(t, lapi.IsApiCallError(err, linstor.FailNotEnoughNodes), "no third node: %v", err)
		require.NoError(t, cli.Resources.Diskless(ctx, "pvc-2", "csi-1", ""))
		require.NoError(t, cli.Resources.Diskful(ctx, "pvc-2", "csi-1", "thin", nil))
		require.NoError(t, cli.ResourceDefinitions.Delete(ctx, "pvc-2"))

		err = cli.ResourceGroups.Delete(ctx, "csi-rg")
		require.True(t, lapi.IsApiCallError(err, linstor.FailExistsRscDfn), "linstor-csi leaves a group with definitions alone on this code: %v", err)
		require.NoError(t, cli.ResourceDefinitions.Delete(ctx, "pvc-1"))
		require.NoError(t, cli.ResourceGroups.Delete(ctx, "csi-rg"))
	})
}
