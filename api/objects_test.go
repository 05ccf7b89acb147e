package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

// The request bodies below are those the linstor CLI sends
// (captured from the real client), sent as it sends them.

func nodeBody(name, addr string) string {
	return fmt.Sprintf(`{"name": %q, "type": "satellite", "net_interfaces": [{"name": "default", "address": %q, "satellite_port": 3366, "satellite_encryption_type": "plain", "is_active": true}]}`, name, addr)
}

// cluster builds the guide's small cluster: three nodes with a FILE_THIN
// pool "pool1" each.
func cluster(c *apiClient) {
	for i, n := range []string{"alpha", "bravo", "charlie"} {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody(n, fmt.Sprintf("10.0.0.%d", i+1)))
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/"+n+"/storage-pools",
			`{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN", "props": {"StorDriver/StorPoolName": "/var/lib/strata/pool1"}}`)
	}
}

func TestNodesAndNetInterfaces(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		rcs := c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("n1", "10.0.0.1"))
		require.Equal(t, int64(20709377), rcs[0].RetCode, "CREATED|MASK_CRT|MASK_NODE as LINSTOR answers")
		require.Equal(t, "n1", rcs[0].ObjRefs["Node"])
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes",
			`{"name": "n2", "type": "combined", "net_interfaces": [{"name": "default", "address": "10.0.0.2", "satellite_port": 3367, "satellite_encryption_type": "ssl", "is_active": true}]}`)

		var nodes []restapi.Node
		c.get("/v1/nodes", &nodes)
		require.Len(t, nodes, 2)
		require.Equal(t, "SATELLITE", nodes[0].Type)
		require.Equal(t, "COMBINED", nodes[1].Type)
		require.Equal(t, "SSL", nodes[1].NetInterfaces[0].SatelliteEncryptionType)
		require.True(t, nodes[0].NetInterfaces[0].IsActive)
		require.Equal(t, "OFFLINE", nodes[0].ConnectionStatus)

		// Case-insensitive names; single GET; 404 with LINSTOR's code.
		var n restapi.Node
		c.get("/v1/nodes/N1", &n)
		require.Equal(t, "n1", n.Name)
		status, body := c.do(http.MethodGet, "/v1/nodes/nope", nil)
		require.Equal(t, http.StatusNotFound, status)
		require.Contains(t, string(body), "Node 'nope' not found.")

		// Properties, filters, paging.
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/n1", `{"override_props": {"Aux/site": "east"}}`)
		c.get("/v1/nodes?props=Aux/site=east", &nodes)
		require.Len(t, nodes, 1)
		require.Equal(t, "east", nodes[0].Props["Aux/site"])
		c.get("/v1/nodes?nodes=n2&nodes=n1", &nodes)
		require.Len(t, nodes, 2)
		c.get("/v1/nodes?offset=1&limit=1", &nodes)
		require.Len(t, nodes, 1)
		require.Equal(t, "n2", nodes[0].Name)
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/n1", `{"delete_namespaces": ["Aux"]}`)
		c.get("/v1/nodes/n1", &n)
		require.NotContains(t, n.Props, "Aux/site")

		// Net interfaces: create, make active, the active one cannot go.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/n1/net-interfaces", `{"name": "data", "address": "10.1.0.1"}`)
		var nifs []restapi.NetInterface
		c.get("/v1/nodes/n1/net-interfaces", &nifs)
		require.Len(t, nifs, 2)
		c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodDelete, "/v1/nodes/n1/net-interfaces/default", nil)
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/n1/net-interfaces/data", `{"name": "data", "address": "10.1.0.9", "satellite_port": 3366, "is_active": true}`)
		var nif restapi.NetInterface
		c.get("/v1/nodes/n1/net-interfaces/data", &nif)
		require.Equal(t, "10.1.0.9", nif.Address)
		require.True(t, nif.IsActive)
		// linstor node interface modify n1 data --active sends no address.
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/n1/net-interfaces/data", `{"name": "data", "is_active": true}`)
		c.get("/v1/nodes/n1/net-interfaces/data", &nif)
		require.Equal(t, "10.1.0.9", nif.Address, "what the modify leaves out stays")
		require.True(t, nif.IsActive)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/nodes/n1/net-interfaces/default", nil)

		// Every node gets its diskless pool.
		var pools []restapi.StoragePool
		c.get("/v1/view/storage-pools", &pools)
		require.Len(t, pools, 2)
		require.Equal(t, "DfltDisklessStorPool", pools[0].StoragePoolName)
		require.Equal(t, "DISKLESS", pools[0].ProviderKind)

		rc := c.fail(http.StatusInternalServerError, apicall.MaskError, http.MethodPut, "/v1/nodes/n2/restore", `{}`)
		require.Equal(t, "Node 'n2' is neither evicted nor evacuated.", rc.Message, "LINSTOR's answer: n2 is neither")
		c.ok(http.StatusOK, http.MethodDelete, "/v1/nodes/n2/lost", nil)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/nodes/n1", nil)
		c.get("/v1/nodes", &nodes)
		require.Empty(t, nodes)
		c.get("/v1/view/storage-pools", &pools)
		require.Empty(t, pools, "a node's pools go with it")
	})
}

func TestStoragePools(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("n1", "10.0.0.1"))
		for _, body := range []string{
			`{"storage_pool_name": "pool1", "provider_kind": "LVM", "props": {"StorDriver/StorPoolName": "vg1"}}`,
			`{"storage_pool_name": "tpool", "provider_kind": "LVM_THIN", "props": {"StorDriver/StorPoolName": "vg1/thin"}}`,
			`{"storage_pool_name": "zpool1", "provider_kind": "ZFS_THIN", "props": {"StorDriver/StorPoolName": "tank"}}`,
			`{"storage_pool_name": "files", "provider_kind": "FILE_THIN", "props": {"StorDriver/StorPoolName": "/srv/files"}, "shared_space": "san1", "external_locking": true}`,
			`{"storage_pool_name": "dlpool", "provider_kind": "DISKLESS"}`,
		} {
			c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/n1/storage-pools", body)
		}
		var pools []restapi.StoragePool
		c.get("/v1/nodes/n1/storage-pools", &pools)
		require.Len(t, pools, 6)
		var tp restapi.StoragePool
		c.get("/v1/nodes/n1/storage-pools/tpool", &tp)
		require.Equal(t, "LVM_THIN", tp.ProviderKind)
		require.Equal(t, "vg1", tp.Props["StorDriver/LvmVg"])
		require.Equal(t, "thin", tp.Props["StorDriver/ThinPool"])
		require.Equal(t, "Thin", tp.StaticTraits["Provisioning"])
		require.True(t, tp.SupportsSnapshots)
		var lvm, zfs restapi.StoragePool
		c.get("/v1/nodes/n1/storage-pools/pool1", &lvm)
		require.Equal(t, "vg1", lvm.Props["StorDriver/LvmVg"])
		c.get("/v1/nodes/n1/storage-pools/zpool1", &zfs)
		require.Equal(t, "tank", zfs.Props["StorDriver/ZPoolThin"])
		c.get("/v1/view/storage-pools?storage_pools=files", &pools)
		require.Len(t, pools, 1)
		require.Equal(t, "san1", pools[0].SharedSpace)
		require.True(t, pools[0].ExternalLocking)

		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/n1/storage-pools/pool1", `{"override_props": {"MaxOversubscriptionRatio": "2"}}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldProp, http.MethodPut, "/v1/nodes/n1/storage-pools/pool1", `{"override_props": {"MaxOversubscriptionRatio": "much"}}`)

		var spds []restapi.StoragePoolDefinition
		c.get("/v1/storage-pool-definitions", &spds)
		require.Len(t, spds, 6, "a definition for each pool name")
		c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodDelete, "/v1/storage-pool-definitions/pool1", nil)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/storage-pool-definitions", `{"storage_pool_name": "later"}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/storage-pool-definitions/later", `{"override_props": {"Aux/tier": "ssd"}}`)
		var spd restapi.StoragePoolDefinition
		c.get("/v1/storage-pool-definitions/later", &spd)
		require.Equal(t, "ssd", spd.Props["Aux/tier"])
		c.ok(http.StatusOK, http.MethodDelete, "/v1/storage-pool-definitions/later", nil)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/nodes/n1/storage-pools/zpool1", nil)
		c.get("/v1/nodes/n1/storage-pools", &pools)
		require.Len(t, pools, 5)
	})
}

func TestGroupsDefinitionsAndResources(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		// The CLI sends place_count as a string.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups",
			`{"name": "rg1", "select_filter": {"place_count": "2", "storage_pool_list": ["pool1"], "replicas_on_different": ["Aux/zone"], "layer_stack": ["drbd", "storage"], "provider_list": ["FILE_THIN"]}}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-groups/rg1", `{"select_filter": {"place_count": 3}, "override_props": {"DrbdOptions/Net/protocol": "C"}}`)
		var rg restapi.ResourceGroup
		c.get("/v1/resource-groups/rg1", &rg)
		require.EqualValues(t, 3, rg.SelectFilter.PlaceCount)
		require.Equal(t, []string{"pool1"}, rg.SelectFilter.StoragePoolList, "modify keeps what it does not set")
		require.Equal(t, []string{"DRBD", "STORAGE"}, rg.SelectFilter.LayerStack)
		var rgs []restapi.ResourceGroup
		c.get("/v1/resource-groups", &rgs)
		require.Len(t, rgs, 2, "DfltRscGrp and rg1")

		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg1/volume-groups", `{}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-groups/rg1/volume-groups/0", `{"override_props": {"Aux/x": "1"}}`)
		// CACHE after WRITECACHE is a different layer, not a repeat.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "cached", "select_filter": {"layer_stack": ["drbd", "writecache", "cache", "storage"]}}`)
		var vgs []restapi.VolumeGroup
		c.get("/v1/resource-groups/rg1/volume-groups", &vgs)
		require.Len(t, vgs, 1)
		require.EqualValues(t, 0, *vgs[0].VolumeNumber)

		// Definitions: ports from 7000, minors from 1000, numbers from 0.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "backups", "resource_group_name": "rg1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/volume-definitions", `{"volume_definition": {"size_kib": 524288000}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/volume-definitions", `{"volume_definition": {"size_kib": 104857600}}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups/volume-definitions/1", `{"override_props": {"StorPoolName": "pool1"}}`)
		var rd restapi.ResourceDefinition
		c.get("/v1/resource-definitions/backups", &rd)
		require.Equal(t, "rg1", rd.ResourceGroupName)
		require.EqualValues(t, 7000, rd.LayerData[0].Data.Port)
		require.NotEmpty(t, rd.LayerData[0].Data.Secret)
		require.Len(t, rd.VolumeDefinitions, 2)
		require.EqualValues(t, 1, *rd.VolumeDefinitions[1].VolumeNumber)
		require.EqualValues(t, 1001, *rd.VolumeDefinitions[1].LayerData[0].Data.MinorNumber)
		var rds []restapi.ResourceDefinition
		c.get("/v1/resource-definitions?with_volume_definitions=true", &rds)
		require.Len(t, rds, 1)
		require.Len(t, rds[0].VolumeDefinitions, 2)

		// No StorPoolName for volume 0 anywhere: the guide's DfltStorPool error.
		rc := c.fail(http.StatusNotFound, apicall.FailNotFound+10, http.MethodPost, "/v1/resource-definitions/backups/resources", `[{"resource": {"node_name": "alpha"}}]`)
		require.Contains(t, rc.Message, "DfltStorPool")
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups", `{"override_props": {"StorPoolName": "pool1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/resources",
			`[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo", "props": {"StorPoolName": "pool1"}}}]`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/backups/resources/charlie", `{"resource": {"flags": ["DRBD_DISKLESS"]}}`)

		var view []restapi.ResourceWithVolumes
		c.get("/v1/view/resources", &view)
		require.Len(t, view, 3)
		require.Len(t, view[0].Volumes, 2)
		require.Equal(t, "pool1", view[0].Volumes[0].StoragePoolName)
		require.Equal(t, "FILE_THIN", view[0].Volumes[0].ProviderKind)
		require.Equal(t, "DfltDisklessStorPool", view[2].Volumes[0].StoragePoolName)
		c.get("/v1/view/resources?nodes=bravo&resources=backups", &view)
		require.Len(t, view, 1)
		c.get("/v1/view/resources?storage_pools=DfltDisklessStorPool", &view)
		require.Len(t, view, 1)
		require.Equal(t, "charlie", view[0].NodeName)

		// What agents report shows as the volumes' layers: DRBD over a
		// logical volume on alpha, a diskless DRBD device on charlie.
		kib := int64(524288000)
		require.NoError(t, c.store.SetVolumeActual(t.Context(), "alpha", map[string]map[int32]store.VolumeActual{"BACKUPS": {0: {
			DevicePath: "/dev/drbd1000", BackingDevice: "/dev/vg/backups_00000", TopLayer: "DRBD", AllocatedKib: &kib, UsableKib: &kib, DiskState: "UpToDate"}}}))
		require.NoError(t, c.store.SetVolumeActual(t.Context(), "charlie", map[string]map[int32]store.VolumeActual{"BACKUPS": {0: {
			DevicePath: "/dev/drbd1000", TopLayer: "DRBD", DiskState: "Diskless"}}}))
		var layered restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/backups/resources/alpha", &layered)
		layers := layered.Volumes[0].LayerDataList
		require.Len(t, layers, 2)
		require.Equal(t, "DRBD", layers[0].Type)
		require.Equal(t, "/dev/vg/backups_00000", layers[0].Data.(map[string]any)["backing_device"])
		require.Equal(t, "STORAGE", layers[1].Type)
		require.Equal(t, "/dev/vg/backups_00000", layers[1].Data.(map[string]any)["device_path"])
		c.get("/v1/resource-definitions/backups/resources/charlie", &layered)
		require.Len(t, layered.Volumes[0].LayerDataList, 1)
		require.Equal(t, "Diskless", layered.Volumes[0].State.DiskState)
		require.NotNil(t, layered.LayerObject, "LINSTOR's clients read the layer tree of every resource")
		require.Nil(t, layered.State, "no state before the node's agent reported one")
		inUse := true
		require.NoError(t, c.store.SetResourceActual(t.Context(), "alpha", map[string]store.ResourceActual{"BACKUPS": {InUse: &inUse,
			DrbdRole: "Primary", PromotionScore: 10102, DrbdConnections: map[string]string{"bravo": "Connected", "charlie": "Connecting"}}}))
		c.get("/v1/resource-definitions/backups/resources/alpha", &layered)
		require.True(t, *layered.State.InUse, "Primary is in use")
		require.EqualValues(t, 10102, layered.LayerObject.Drbd.PromotionScore)
		require.Equal(t, restapi.DrbdConnection{Connected: false, Message: "Connecting"}, layered.LayerObject.Drbd.Connections["charlie"])
		require.True(t, layered.LayerObject.Drbd.Connections["bravo"].Connected)
		require.Equal(t, "STORAGE", layered.LayerObject.Children[0].Type)
		require.Equal(t, "/dev/vg/backups_00000", layered.LayerObject.Children[0].Storage.StorageVolumes[0].DevicePath)
		require.Equal(t, "/dev/vg/backups_00000", layered.LayerObject.Drbd.DrbdVolumes[0].BackingDevice, "the Proxmox plug-in reads the DRBD volumes' sizes here")

		// Effective properties say where a value comes from.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"DrbdOptions/Net/protocol": "A"}}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups/resources/alpha", `{"override_props": {"DrbdOptions/Net/protocol": "B"}}`)
		var r restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/backups/resources/alpha", &r)
		eff := r.EffectiveProps["DrbdOptions/Net/protocol"]
		require.Equal(t, "B", eff.Value)
		require.Equal(t, "Resource", eff.Type)
		require.Equal(t, []restapi.PropertyWithDescription{{Type: "ResourceGroup", Value: "C"}, {Type: "Controller", Value: "A"}}, eff.Other)

		// Growing always works; shrinking is refused while resources exist.
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups/volume-definitions/0", `{"size_kib": 629145600}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldVlmSize, http.MethodPut, "/v1/resource-definitions/backups/volume-definitions/0", `{"size_kib": 1024}`)

		// Connections: DRBD peer options as properties.
		rcs := c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups/resource-connections/alpha/bravo", `{"override_props": {"DrbdOptions/Net/max-buffers": "8192"}}`)
		require.Contains(t, messages(rcs), "Resource 'backups' deployed on 0 nodes.", "the nodes get the change (their agents are offline here)")
		var conns []restapi.Connection
		var conn restapi.Connection
		c.get("/v1/resource-definitions/backups/resource-connections/bravo/alpha", &conn)
		require.Equal(t, "8192", conn.Props["DrbdOptions/Net/max-buffers"])
		rcs = c.ok(http.StatusOK, http.MethodPut, "/v1/node-connections/alpha/charlie", `{"override_props": {"DrbdOptions/Net/protocol": "A"}}`)
		require.Contains(t, messages(rcs), "Resource 'backups' deployed on 0 nodes.", "each definition on both nodes is deployed")
		c.get("/v1/node-connections?node_a=charlie", &conns)
		require.Len(t, conns, 1)

		// The guide's refusal, and a move that makes the delete possible.
		rc = c.fail(http.StatusInternalServerError, apicall.FailExists+1, http.MethodDelete, "/v1/resource-groups/rg1", nil) // FAIL_EXISTS_RSC_DFN
		require.Equal(t, "Cannot delete resource group 'rg1' because it has existing resource definitions.", rc.Message)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/backups", `{"resource_group": "DfltRscGrp"}`)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-groups/rg1", nil)

		// Deployed resources are deleted by their nodes: they stay, flagged,
		// until the node's agent was sent a state without them (its
		// confirmation stands in for the agents these tests do not run).
		c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-definitions/backups/resources/charlie", nil)
		c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodDelete, "/v1/nodes/alpha/storage-pools/pool1", nil)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-definitions/backups", nil)
		c.get("/v1/view/resources", &view)
		require.Len(t, view, 2)
		for _, r := range view {
			require.Contains(t, r.Flags, "DELETE", "%s waits for its node", r.NodeName)
		}
		for _, n := range []string{"alpha", "charlie"} {
			require.NoError(t, c.store.PurgeDeleted(t.Context(), n, []string{"BACKUPS"}))
		}
		c.get("/v1/view/resources", &view)
		require.Empty(t, view)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/nodes/alpha/storage-pools/pool1", nil)
		props, err := c.store.Props(t.Context(), "/RESOURCES/BACKUPS/ALPHA")
		require.NoError(t, err)
		require.Empty(t, props, "a deleted object's properties go with it")
	})
}

func TestControllerProperties(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"TcpPortAutoRange": "7100-7199", "Aux/owner": "ops"}}`)
		var props map[string]string
		c.get("/v1/controller/properties", &props)
		require.Equal(t, "7100-7199", props["TcpPortAutoRange"])
		c.ok(http.StatusOK, http.MethodDelete, "/v1/controller/properties/Aux/owner", nil)
		c.get("/v1/controller/properties", &props)
		require.NotContains(t, props, "Aux/owner")

		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "r1"}}`)
		var rd restapi.ResourceDefinition
		c.get("/v1/resource-definitions/r1", &rd)
		require.EqualValues(t, 7100, rd.LayerData[0].Data.Port, "the port comes from TcpPortAutoRange")
		require.Equal(t, "DfltRscGrp", rd.ResourceGroupName)
	})
}

// Bad input gets LINSTOR's error and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "rg1"}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "res1", "resource_group_name": "rg1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/res1/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		before := snapshot(c)

		tests := []struct {
			name   string
			method string
			path   string
			body   string
			status int
			code   uint64
		}{
			{"unparsable json", http.MethodPost, "/v1/nodes", `{"name": `, http.StatusBadRequest, apicall.APICallParseError & apicall.MaskCode},
			{"node exists (case-insensitive)", http.MethodPost, "/v1/nodes", nodeBody("ALPHA", "10.0.0.9"), http.StatusInternalServerError, apicall.FailExists},
			{"node name with underscore", http.MethodPost, "/v1/nodes", nodeBody("bad_name", "10.0.0.9"), http.StatusInternalServerError, apicall.FailInvldNodeName},
			{"node without address", http.MethodPost, "/v1/nodes", `{"name": "n9", "type": "satellite", "net_interfaces": [{"name": "default", "address": "nowhere"}]}`, http.StatusInternalServerError, apicall.FailInvldNetAddr},
			{"node type unknown", http.MethodPost, "/v1/nodes", `{"name": "n9", "type": "boss", "net_interfaces": [{"name": "default", "address": "10.0.0.9"}]}`, http.StatusInternalServerError, apicall.FailInvldNodeType},
			{"property not whitelisted", http.MethodPut, "/v1/nodes/alpha", `{"override_props": {"NoSuchKey": "1"}}`, http.StatusInternalServerError, apicall.FailInvldProp},
			{"property of another object", http.MethodPut, "/v1/nodes/alpha", `{"override_props": {"PeerSlotsNewResource": "3"}}`, http.StatusInternalServerError, apicall.FailInvldProp},
			{"missing node", http.MethodPut, "/v1/nodes/zulu", `{"override_props": {"Aux/a": "1"}}`, http.StatusNotFound, apicall.FailNotFound},
			{"pool name too short", http.MethodPost, "/v1/nodes/alpha/storage-pools", `{"storage_pool_name": "p", "provider_kind": "LVM", "props": {"StorDriver/StorPoolName": "vg"}}`, http.StatusInternalServerError, apicall.FailInvldStorPoolName},
			{"pool provider unknown", http.MethodPost, "/v1/nodes/alpha/storage-pools", `{"storage_pool_name": "pool2", "provider_kind": "TAPE"}`, http.StatusInternalServerError, apicall.FailInvldProvider},
			{"pool exists", http.MethodPost, "/v1/nodes/alpha/storage-pools", `{"storage_pool_name": "POOL1", "provider_kind": "FILE", "props": {"StorDriver/StorPoolName": "/x"}}`, http.StatusInternalServerError, apicall.FailExists + 10},
			{"resource group exists", http.MethodPost, "/v1/resource-groups", `{"name": "RG1"}`, http.StatusInternalServerError, apicall.FailExists + 22},
			{"bad layer stack", http.MethodPost, "/v1/resource-groups", `{"name": "rg2", "select_filter": {"layer_stack": ["storage", "drbd"]}}`, http.StatusInternalServerError, apicall.FailInvldLayerStack},
			{"layer given twice", http.MethodPost, "/v1/resource-groups", `{"name": "rg2", "select_filter": {"layer_stack": ["drbd", "drbd", "storage"]}}`, http.StatusInternalServerError, apicall.FailInvldLayerStack},
			{"bad regex", http.MethodPost, "/v1/resource-groups", `{"name": "rg2", "select_filter": {"not_place_with_rsc_regex": "("}}`, http.StatusInternalServerError, apicall.FailInvldRequest},
			{"reserved resource name", http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "all"}}`, http.StatusInternalServerError, apicall.FailInvldRscName},
			{"resource name with a dot", http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "a.b"}}`, http.StatusInternalServerError, apicall.FailInvldRscName},
			{"definition in a missing group", http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "res2", "resource_group_name": "nope"}}`, http.StatusNotFound, apicall.FailNotFound + 17},
			{"port taken", http.MethodPost, "/v1/resource-definitions", `{"drbd_port": 7000, "resource_definition": {"name": "res2"}}`, http.StatusInternalServerError, 203},
			{"zero size", http.MethodPost, "/v1/resource-definitions/res1/volume-definitions", `{"volume_definition": {"size_kib": 0}}`, http.StatusInternalServerError, apicall.FailInvldVlmSize},
			{"volume number taken", http.MethodPost, "/v1/resource-definitions/res1/volume-definitions", `{"volume_definition": {"volume_number": 0, "size_kib": 10}}`, http.StatusInternalServerError, apicall.FailExists + 3},
			{"resource on a missing node", http.MethodPost, "/v1/resource-definitions/res1/resources", `[{"resource": {"node_name": "zulu", "props": {"StorPoolName": "pool1"}}}]`, http.StatusNotFound, apicall.FailNotFound},
			{"one of two resources bad", http.MethodPost, "/v1/resource-definitions/res1/resources", `[{"resource": {"node_name": "alpha", "props": {"StorPoolName": "pool1"}}}, {"resource": {"node_name": "bravo", "props": {"StorPoolName": "nopool"}}}]`, http.StatusNotFound, apicall.FailNotFound + 10},
			{"unknown resource flag", http.MethodPost, "/v1/resource-definitions/res1/resources", `[{"resource": {"node_name": "alpha", "flags": ["FAST"]}}]`, http.StatusInternalServerError, apicall.FailInvldRequest},
			{"connection to itself", http.MethodPut, "/v1/node-connections/alpha/ALPHA", `{"override_props": {"DrbdOptions/Net/protocol": "C"}}`, http.StatusInternalServerError, apicall.FailInvldRequest},
			{"connection of missing resources", http.MethodPut, "/v1/resource-definitions/res1/resource-connections/alpha/bravo", `{"override_props": {"DrbdOptions/Net/protocol": "C"}}`, http.StatusNotFound, apicall.FailNotFound + 2},
			{"delete missing definition", http.MethodDelete, "/v1/resource-definitions/nope", "", http.StatusNotFound, apicall.FailNotFound + 1},
			{"delete group in use", http.MethodDelete, "/v1/resource-groups/rg1", "", http.StatusInternalServerError, apicall.FailExists + 1},
			{"delete default group", http.MethodDelete, "/v1/resource-groups/DfltRscGrp", "", http.StatusInternalServerError, apicall.FailInUse},
			{"controller property value", http.MethodPost, "/v1/controller/properties", `{"override_props": {"TcpPortAutoRange": "lots"}}`, http.StatusInternalServerError, apicall.FailInvldProp},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body any
				if tt.body != "" {
					body = tt.body
				}
				rc := c.fail(tt.status, tt.code, tt.method, tt.path, body)
				require.NotEmpty(t, rc.Message)
				require.Equal(t, before, snapshot(c), "a refused request changes nothing")
			})
		}
	})
}

// snapshot is every list of the object model, as JSON.
func snapshot(c *apiClient) string {
	c.t.Helper()
	out := map[string]json.RawMessage{}
	for _, p := range []string{"/v1/nodes", "/v1/view/storage-pools", "/v1/storage-pool-definitions", "/v1/resource-groups",
		"/v1/resource-definitions?with_volume_definitions=true", "/v1/view/resources", "/v1/node-connections", "/v1/controller/properties"} {
		var raw json.RawMessage
		c.get(p, &raw)
		out[p] = raw
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// A GET of one missing object answers 404 with LINSTOR's not-found code
// for that kind of object (golinstor only looks at the status).
func TestGetMissingObject(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "res1", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/res1/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/res1/resources", `[{"resource": {"node_name": "alpha"}}]`)
		for path, code := range map[string]uint64{
			"/v1/nodes/zulu":                                          apicall.FailNotFound,
			"/v1/nodes/alpha/net-interfaces/nope":                     apicall.FailNotFound + 5,
			"/v1/storage-pool-definitions/nopool":                     apicall.FailNotFound + 9,
			"/v1/nodes/alpha/storage-pools/nopool":                    apicall.FailNotFound + 10,
			"/v1/resource-groups/nogroup":                             apicall.FailNotFound + 17,
			"/v1/resource-groups/DfltRscGrp/volume-groups/3":          apicall.FailNotFound + 18,
			"/v1/resource-definitions/nores":                          apicall.FailNotFound + 1,
			"/v1/resource-definitions/res1/volume-definitions/7":      apicall.FailNotFound + 3,
			"/v1/resource-definitions/res1/resources/bravo":           apicall.FailNotFound + 2,
			"/v1/resource-definitions/res1/resources/alpha/volumes/7": apicall.FailNotFound + 4,
		} {
			rc := c.fail(http.StatusNotFound, code, http.MethodGet, path, nil)
			require.Contains(t, rc.Message, "not found", path)
		}
	})
}

// The properties/info endpoints list what each object accepts, as the
// CLI's set-property help reads them.
func TestPropertiesInfo(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	var info map[string]store.PropInfo
	c.get("/v1/controller/properties/info", &info)
	require.Equal(t, store.PropInfo{Info: "Weight of 'MaxFreeSpace' autoplacer-strategy", PropType: "regex", Value: "^[0-9]+([.][0-9]+)?", Dflt: "1.0"}, info["Autoplacer/Weights/MaxFreeSpace"])
	require.Equal(t, "(1 - 31)", info["PeerSlotsNewResource"].Value)
	require.NotContains(t, info, "StorPoolName", "a key of other objects")
	c.get("/v1/resource-definitions/res1/volume-definitions/properties/info", &info)
	require.Equal(t, "ext4|xfs", info["FileSystem/Type"].Value)
	c.get("/v1/nodes/n1/storage-pools/properties/info", &info)
	require.Contains(t, info, "MaxOversubscriptionRatio")
	require.NotContains(t, info, "StorDriver/StorPoolName", "internal keys are not offered")
	var all map[string]map[string]store.PropInfo
	c.get("/v1/controller/properties/info/all", &all)
	require.Contains(t, all["NODE"], "AutoplaceTarget")
	require.Contains(t, all["RESOURCE_GROUP"], "PeerSlotsNewResource")
}

// The per-object reads and the volume-group delete, beside the lists the
// other tests use.
func TestObjectReads(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "rg1"}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg1/volume-groups", `{"volume_number": 3, "flags": ["GROSS_SIZE"]}`)
		var vg restapi.VolumeGroup
		c.get("/v1/resource-groups/rg1/volume-groups/3", &vg)
		require.Equal(t, []string{"GROSS_SIZE"}, vg.Flags)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-groups/rg1/volume-groups/3", `{"flags": ["-GROSS_SIZE"]}`)
		c.get("/v1/resource-groups/rg1/volume-groups/3", &vg)
		require.Empty(t, vg.Flags)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-groups/rg1/volume-groups/3", nil)
		var vgs []restapi.VolumeGroup
		c.get("/v1/resource-groups/rg1/volume-groups", &vgs)
		require.Empty(t, vgs)

		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "res1", "resource_group_name": "rg1", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/res1/volume-definitions", `{"volume_definition": {"volume_number": 5, "size_kib": 2048}, "drbd_minor_number": 2000}`)
		var vds []restapi.VolumeDefinition
		c.get("/v1/resource-definitions/res1/volume-definitions", &vds)
		require.Len(t, vds, 1)
		var vd restapi.VolumeDefinition
		c.get("/v1/resource-definitions/res1/volume-definitions/5", &vd)
		require.EqualValues(t, 2048, vd.SizeKib)
		require.EqualValues(t, 2000, *vd.LayerData[0].Data.MinorNumber)

		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/res1/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo"}, "drbd_node_id": 7}]`)
		var rscs []restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/res1/resources", &rscs)
		require.Len(t, rscs, 3, "two diskful replicas get a tie-breaker")
		require.Equal(t, "alpha", rscs[0].NodeName)
		require.Equal(t, []string{"DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"}, rscs[2].Flags)
		var vlms []restapi.Volume
		c.get("/v1/resource-definitions/res1/resources/bravo/volumes", &vlms)
		require.Len(t, vlms, 1)
		var vlm restapi.Volume
		c.get("/v1/resource-definitions/res1/resources/bravo/volumes/5", &vlm)
		require.Equal(t, "pool1", vlm.StoragePoolName)

		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/res1/resource-connections/alpha/bravo", `{"override_props": {"Paths/path1/alpha": "default", "Paths/path1/bravo": "default"}}`)
		var conns []restapi.Connection
		c.get("/v1/resource-definitions/res1/resource-connections", &conns)
		require.Len(t, conns, 1)
		require.Equal(t, "default", conns[0].Props["Paths/path1/bravo"])
		require.Equal(t, "alpha", conns[0].NodeA)
	})
}

// Auto-quorum (guide 2.15.3): quorum with three diskful replicas or two
// and a diskless one, a tie-breaker for two alone that a real diskless
// resource replaces, and the guide's message when quorum goes.
func TestAutoQuorumAndTieBreaker(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("delta", "10.0.0.4"))
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/delta/storage-pools",
			`{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN", "props": {"StorDriver/StorPoolName": "/var/lib/strata/pool1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "db", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		quorum := func() (string, string) {
			var rd restapi.ResourceDefinition
			c.get("/v1/resource-definitions/db", &rd)
			return rd.Props["DrbdOptions/Resource/quorum"], rd.Props["DrbdOptions/Resource/on-no-quorum"]
		}
		flags := func(node string) []string {
			var r restapi.ResourceWithVolumes
			c.get("/v1/resource-definitions/db/resources/"+node, &r)
			return r.Flags
		}

		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources", `[{"resource": {"node_name": "alpha"}}]`)
		q, onNo := quorum()
		require.Empty(t, q, "one replica has no quorum")
		require.Empty(t, onNo)
		rcs := c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources", `[{"resource": {"node_name": "bravo"}}]`)
		require.Equal(t, []string{"DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"}, flags("charlie"), "the best rated node without a replica: no pool reported its capacity, so they rate alike and the first by name wins")
		require.Contains(t, messages(rcs), "Tie breaker resource 'db' created on charlie")
		q, onNo = quorum()
		require.Equal(t, "majority", q)
		require.Equal(t, "io-error", onNo, "the default policy")

		// A diskless resource asked for on the tie-breaker's node replaces it.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources/charlie", `{"resource": {"flags": ["DRBD_DISKLESS"]}}`)
		require.Equal(t, []string{"DISKLESS", "DRBD_DISKLESS"}, flags("charlie"))
		var rscs []restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/db/resources", &rscs)
		require.Len(t, rscs, 3, "no second tie-breaker: a diskless replica gives quorum")

		// The group's policy applies; disabled leaves the properties alone.
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-groups/DfltRscGrp", `{"override_props": {"DrbdOptions/auto-quorum": "suspend-io"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources/delta", `{"resource": {}}`)
		_, onNo = quorum()
		require.Equal(t, "suspend-io", onNo)

		// Down to one diskful replica and a diskless one: quorum goes,
		// with the guide's message.
		c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-definitions/db/resources/delta", nil)
		rcs = c.ok(http.StatusOK, http.MethodDelete, "/v1/resource-definitions/db/resources/bravo", nil)
		require.Contains(t, messages(rcs), "Resource-definition property 'DrbdOptions/Resource/quorum' was removed as there are not enough resources for quorum")
		require.Contains(t, messages(rcs), "Resource-definition property 'DrbdOptions/Resource/on-no-quorum' was removed as there are not enough resources for quorum")
		q, onNo = quorum()
		require.Empty(t, q)
		require.Empty(t, onNo)

		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/db", `{"override_props": {"DrbdOptions/auto-quorum": "disabled", "DrbdOptions/Resource/quorum": "off"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources/bravo", `{"resource": {}}`)
		q, _ = quorum()
		require.Equal(t, "off", q, "disabled: the user's value stays")
		c.get("/v1/resource-definitions/db/resources", &rscs)
		require.Len(t, rscs, 3, "disabled: no tie-breaker either")
	})
}

// A lost node takes its replicas with it, and its resources' peers get
// auto-quorum applied again: two diskful replicas left get a tie-breaker.
func TestNodeLostReappliesQuorum(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("delta", "10.0.0.4"))
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "db", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo"}}, {"resource": {"node_name": "charlie"}}]`)
		rcs := c.ok(http.StatusOK, http.MethodDelete, "/v1/nodes/charlie/lost", nil)
		require.Contains(t, messages(rcs), "Tie breaker resource 'db' created on delta")
		var rscs []restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/db/resources", &rscs)
		require.Len(t, rscs, 3)
		require.Equal(t, "delta", rscs[2].NodeName)
		require.Contains(t, rscs[2].Flags, "TIE_BREAKER")
	})
}

// A definition lists its whole layer stack, whatever its top layer.
func TestDefinitionLayers(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	for name, stack := range map[string][]string{"nvme": {"NVME", "STORAGE"}, "plain": {"STORAGE"}, "drbd": {"DRBD", "LUKS", "STORAGE"}} {
		var layers []map[string]string
		for _, l := range stack {
			layers = append(layers, map[string]string{"type": l})
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": name, "layer_data": layers}})
		var rd restapi.ResourceDefinition
		c.get("/v1/resource-definitions/"+name, &rd)
		var got []string
		for _, l := range rd.LayerData {
			got = append(got, l.Type)
		}
		require.Equal(t, stack, got, name)
	}

	// Without layers of its own, a definition on a node without DRBD is
	// storage only, and shown so.
	cluster(c)
	require.NoError(t, c.store.SetNodeAgentInfo(t.Context(), "alpha", "alpha", []string{"STORAGE"}))
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "local", "props": {"StorPoolName": "pool1"}}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/local/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
	stackOf := func(name string) []string {
		var rds []restapi.ResourceDefinition
		c.get("/v1/resource-definitions?resource_definitions="+name, &rds)
		require.Len(t, rds, 1)
		var got []string
		for _, l := range rds[0].LayerData {
			got = append(got, l.Type)
		}
		return got
	}
	require.Equal(t, []string{"DRBD", "STORAGE"}, stackOf("local"), "no resource yet: LINSTOR's default stack")
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/local/resources", `[{"resource": {"node_name": "alpha"}}]`)
	require.Equal(t, []string{"STORAGE"}, stackOf("local"))
}

// resource create --layer-list: a node whose agent does not serve a layer
// is refused as LINSTOR refuses it; the first stack given becomes the
// definition's, and another one is refused.
func TestResourceCreateLayerList(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	cluster(c)
	require.NoError(t, c.store.SetNodeAgentInfo(t.Context(), "alpha", "alpha", []string{"STORAGE", "LUKS"}))
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "data", "props": {"StorPoolName": "pool1"}}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/data/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)

	rc := c.fail(http.StatusInternalServerError, apicall.FailStltDoesNotSupportLayer, http.MethodPost, "/v1/resource-definitions/data/resources",
		`[{"resource": {"node_name": "alpha"}, "layer_list": ["drbd", "storage"]}]`)
	require.Equal(t, "Satellite 'alpha' does not support the following layers: [DRBD]", rc.Message)
	require.Empty(t, placed(c, "data"))

	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/data/resources", `[{"resource": {"node_name": "alpha"}, "layer_list": ["storage"]}]`)
	var rd restapi.ResourceDefinition
	c.get("/v1/resource-definitions/data", &rd)
	require.Len(t, rd.LayerData, 1)
	require.Equal(t, "STORAGE", rd.LayerData[0].Type, "the definition takes the first stack given")
	c.fail(http.StatusInternalServerError, apicall.FailInvldLayerStack, http.MethodPost, "/v1/resource-definitions/data/resources",
		`[{"resource": {"node_name": "bravo"}, "layer_list": ["drbd", "storage"]}]`)
	require.Equal(t, []string{"alpha"}, placed(c, "data"))
}

// create-device-pool takes the kinds as the linstor client spells them.
func TestDevicePoolKinds(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("alpha", "10.0.0.1"))
	for _, kind := range []string{"LVMTHIN", "zfsthin", "LVM_THIN"} {
		_, out := c.do(http.MethodPost, "/v1/physical-storage/alpha", map[string]any{"provider_kind": kind, "device_paths": []string{"/dev/vdb"}, "pool_name": "vg1"})
		var rcs apicall.RcList
		require.NoError(t, json.Unmarshal(out, &rcs))
		require.NotEqual(t, apicall.FailInvldProvider, uint64(rcs[0].RetCode)&(apicall.MaskError|apicall.MaskCode), "%s: %s", kind, out)
	}
	c.fail(http.StatusInternalServerError, apicall.FailInvldProvider, http.MethodPost, "/v1/physical-storage/alpha", `{"provider_kind": "EXT4", "device_paths": ["/dev/vdb"], "pool_name": "vg1"}`)
}

// linstor space-reporting query: the cluster's space, pool by pool.
func TestSpaceReport(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	cluster(c)
	require.NoError(t, c.store.SetStoragePoolCapacity(t.Context(), "alpha", "pool1", 300, 1000, nil))
	require.NoError(t, c.store.SetStoragePoolCapacity(t.Context(), "bravo", "pool1", 100, 1000, nil))
	var r SpaceReport
	c.get("/v1/space-report", &r)
	require.Regexp(t, `alpha\s+pool1\s+FILE_THIN\s+1000\s+300`, r.ReportText)
	require.Contains(t, r.ReportText, "Total capacity: 2000 KiB, free: 400 KiB, used: 1600 KiB")
	require.Contains(t, r.ReportText, "1 storage pools have not reported their capacity yet.", "charlie's")
	require.NotContains(t, r.ReportText, "DfltDisklessStorPool")
}

// A storage pool definition with pools is refused as LINSTOR refuses it.
func TestStoragePoolDefinitionInUse(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	cluster(c)
	rc := c.fail(http.StatusInternalServerError, apicall.FailInUse, http.MethodDelete, "/v1/storage-pool-definitions/pool1", nil)
	require.Equal(t, "Storage pool definition 'pool1' has still storage pools on node(s): 'alpha', 'bravo', 'charlie'.", rc.Message)
	require.Equal(t, "Remove the storage pools first.", rc.Correction)
}
