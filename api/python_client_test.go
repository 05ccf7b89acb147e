package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/store"
)

// keysAt checks that every object at path (dot-separated; a list is
// entered element by element) has the keys: those LINSTOR's Python
// client (linstor-api-py responses.py) reads with [] and so crashes
// without.
func keysAt(t *testing.T, what string, v any, path string, keys ...string) {
	t.Helper()
	objs := []any{v}
	if path != "" {
		for _, step := range strings.Split(path, ".") {
			var next []any
			for _, o := range objs {
				next = append(next, elements(o)...)
			}
			objs = nil
			for _, o := range next {
				m, ok := o.(map[string]any)
				require.True(t, ok, "%s: %s is not an object: %v", what, step, o)
				if m[step] != nil {
					objs = append(objs, m[step])
				}
			}
			require.NotEmpty(t, objs, "%s: nothing at %s", what, path)
		}
	}
	n := 0
	for _, o := range objs {
		for _, e := range elements(o) {
			m, ok := e.(map[string]any)
			require.True(t, ok, "%s at %q: not an object: %v", what, path, e)
			for _, k := range keys {
				require.Contains(t, m, k, "%s at %q: the Python client reads %q", what, path, k)
			}
			n++
		}
	}
	require.NotZero(t, n, "%s: no object at %q to check", what, path)
}

// elements is a list's elements, or the value itself.
func elements(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// The fields every command family of LINSTOR's `linstor` client reads
// from an answer without a default (linstor-api-py's responses.py reads
// them as rest_data["…"]), over a cluster with DRBD and storage-only
// resources whose agents reported their volumes.
func TestPythonClientFindsTheFieldsItReads(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		ctx := t.Context()
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "rg", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg/volume-groups", `{}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "db", "resource_group_name": "rg", "layer_data": [{"type": "DRBD"}, {"type": "STORAGE"}]}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "local", "layer_data": [{"type": "STORAGE"}]}}`)
		for _, rd := range []string{"db", "local"} {
			c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		}
		for _, n := range []string{"alpha", "bravo"} {
			c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/db/resources", `[{"resource": {"node_name": "`+n+`", "props": {"StorPoolName": "pool1"}}}]`)
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/local/resources", `[{"resource": {"node_name": "alpha", "props": {"StorPoolName": "pool1"}}}]`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/db/resource-connections/alpha/bravo", `{"override_props": {"DrbdOptions/Net/protocol": "A"}}`)
		c.ok(http.StatusOK, http.MethodPut, "/v1/key-value-store/csi", `{"override_props": {"a": "1"}}`)
		allocated, usable := int64(1024), int64(1020)
		for i, n := range []string{"alpha", "bravo"} {
			require.NoError(t, c.store.SetStoragePoolCapacity(ctx, n, "pool1", 50<<20, 100<<20, nil))
			require.NoError(t, c.store.SetVolumeActual(ctx, n, map[string]map[int32]store.VolumeActual{
				store.Key("db"): {0: {DevicePath: "/dev/drbd1000", BackingDevice: fmt.Sprintf("/dev/loop%d", i), TopLayer: "DRBD", AllocatedKib: &allocated, UsableKib: &usable, DiskState: "UpToDate"}},
			}))
			peer := map[string]string{"alpha": "bravo", "bravo": "alpha"}[n]
			require.NoError(t, c.store.SetResourceActual(ctx, n, map[string]store.ResourceActual{store.Key("db"): {DrbdRole: "Secondary", DrbdConnections: map[string]string{peer: "Connected"}}}))
		}

		get := func(path string) any {
			var v any
			c.get(path, &v)
			return v
		}
		keysAt(t, "node list", get("/v1/nodes"), "", "name", "type")
		keysAt(t, "node interface list", get("/v1/nodes"), "net_interfaces", "name", "address")
		keysAt(t, "storage-pool list", get("/v1/view/storage-pools"), "", "storage_pool_name", "node_name")
		keysAt(t, "storage-pool-definition list", get("/v1/storage-pool-definitions"), "", "storage_pool_name")
		keysAt(t, "resource-group list", get("/v1/resource-groups"), "", "name")
		keysAt(t, "volume-group list", get("/v1/resource-groups/rg/volume-groups"), "", "volume_number")
		rds := get("/v1/resource-definitions?with_volume_definitions=true")
		keysAt(t, "resource-definition list", rds, "", "name")
		keysAt(t, "resource-definition list", rds, "layer_data", "type")
		keysAt(t, "volume-definition list", rds, "volume_definitions", "volume_number", "size_kib")
		vds := get("/v1/resource-definitions/db/volume-definitions")
		keysAt(t, "volume-definition list", vds, "layer_data", "type")
		var drbdRd []any
		for _, rd := range rds.([]any) {
			if rd.(map[string]any)["name"] == "db" {
				drbdRd = append(drbdRd, rd)
			}
		}
		for _, l := range drbdRd[0].(map[string]any)["layer_data"].([]any) {
			if l.(map[string]any)["type"] == "DRBD" {
				keysAt(t, "resource-definition list (DRBD)", l, "data", "port", "secret")
			}
		}
		for _, l := range vds.([]any)[0].(map[string]any)["layer_data"].([]any) {
			if l.(map[string]any)["type"] == "DRBD" {
				keysAt(t, "volume-definition list (DRBD)", l, "data", "volume_number", "minor_number")
			}
		}
		rscs := get("/v1/view/resources")
		keysAt(t, "resource list", rscs, "", "name", "node_name")
		// (The client's name_suffix reads rsc_name_suffix, which LINSTOR
		// never sends: it sends resource_name_suffix, as Strata does.)
		keysAt(t, "resource list", rscs, "layer_object", "resource_name_suffix", "type")
		keysAt(t, "resource list-volumes", rscs, "volumes", "volume_number", "provider_kind")
		keysAt(t, "resource list-volumes", rscs, "volumes.layer_data_list", "type")
		db := get("/v1/resource-definitions/db/resources")
		keysAt(t, "resource list (DRBD)", db, "layer_object", "drbd")
		var conns []any
		for _, r := range db.([]any) {
			reported, _ := r.(map[string]any)["layer_object"].(map[string]any)["drbd"].(map[string]any)["connections"].(map[string]any)
			for _, c := range reported {
				conns = append(conns, c)
			}
		}
		keysAt(t, "resource list (DRBD connections)", conns, "", "connected")
		var drbdVolumes []any
		for _, r := range db.([]any) {
			vols, _ := r.(map[string]any)["volumes"].([]any)
			for _, v := range vols {
				layers, _ := v.(map[string]any)["layer_data_list"].([]any)
				for _, l := range layers {
					if l.(map[string]any)["type"] == "DRBD" {
						drbdVolumes = append(drbdVolumes, l.(map[string]any)["data"])
					}
				}
			}
		}
		keysAt(t, "volume list (DRBD)", drbdVolumes, "", "drbd_volume_definition", "device_path", "allocated_size_kib", "usable_size_kib")
		keysAt(t, "volume list (DRBD)", drbdVolumes, "drbd_volume_definition", "volume_number", "minor_number", "resource_name_suffix")
		keysAt(t, "resource-connection list", get("/v1/resource-definitions/db/resource-connections"), "", "node_a", "node_b")
		keysAt(t, "key-value-store list", get("/v1/key-value-store"), "", "name")
		keysAt(t, "controller version", get("/v1/controller/version"), "", "version", "build_time")
		var sizes any
		status, body := c.do(http.MethodOptions, "/v1/query-max-volume-size", `{"place_count": 1, "storage_pool": "pool1"}`)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &sizes))
		keysAt(t, "resource-group query-size-info", sizes, "", "default_max_oversubscription_ratio")
		keysAt(t, "resource-group query-size-info", sizes, "candidates", "max_volume_size_kib", "storage_pool", "all_thin")
	})
}
