package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// DrbdOptions/auto-diskful on a definition (guide 2.15.5): its diskless
// resource that has been Primary that long gets a disk on its node, and
// once it is UpToDate one replica beyond the place count goes: not one
// in use, not one whose auto-diskful-allow-cleanup is false. A Primary
// of a definition without auto-diskful stays diskless.
func TestAutoDiskfulGivesADisklessPrimaryItsDisk(t *testing.T) {
	c, doubles, nodes := doubledCluster(t, 3, 100*time.Millisecond)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"DrbdOptions/auto-add-quorum-tiebreaker": "false"}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "rg", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg/volume-groups", `{}`)
	for _, rd := range []string{"vm-1", "vm-2"} {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups/rg/spawn", fmt.Sprintf(`{"resource_definition_name": %q, "volume_sizes": [10240]}`, rd))
	}
	diskful := func(rd string) []string {
		var rscs []restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/"+rd+"/resources", &rscs)
		var out []string
		for _, r := range rscs {
			if !slices.Contains(r.Flags, store.FlagDelete) && !slices.Contains(r.Flags, "DRBD_DISKLESS") {
				out = append(out, r.NodeName)
			}
		}
		return out
	}
	holders := diskful("vm-1")
	require.Len(t, holders, 2)
	client := nodes[slices.IndexFunc(nodes, func(n string) bool { return !slices.Contains(holders, n) })]
	for _, rd := range []string{"vm-1", "vm-2"} {
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", fmt.Sprintf(`[{"resource": {"node_name": %q, "flags": ["DRBD_DISKLESS"]}}]`, client))
	}
	keep := holders[0]
	c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/vm-1/resources/"+keep, `{"override_props": {"DrbdOptions/auto-diskful-allow-cleanup": "false"}}`)
	c.ok(http.StatusOK, http.MethodPut, "/v1/resource-definitions/vm-1", `{"override_props": {"DrbdOptions/auto-diskful": "3"}}`)
	doubles.promote(client, "vm-1")
	doubles.promote(client, "vm-2")

	require.Eventually(t, func() bool { return slices.Contains(diskful("vm-1"), client) }, 20*time.Second, 100*time.Millisecond, "the Primary gets its disk")
	var r restapi.ResourceWithVolumes
	c.get("/v1/resource-definitions/vm-1/resources/"+client, &r)
	require.Equal(t, store.DiskfulByAutoDiskful, r.Props[store.KeyDiskfulBy])
	require.Eventually(t, func() bool {
		return slices.Equal(diskful("vm-1"), []string{keep, client}) || slices.Equal(diskful("vm-1"), []string{client, keep})
	},
		20*time.Second, 100*time.Millisecond, "once it is UpToDate, the replica that may be cleaned up goes: %v", diskful("vm-1"))
	op := finished(t, c, workflows.AutoDiskfulID("vm-1", client))
	require.Equal(t, "done", op.State)
	var texts []string
	for _, rc := range op.Replies {
		texts = append(texts, rc.Message)
	}
	require.Contains(t, strings.Join(texts, "\n"), fmt.Sprintf("Deleting excess resource 'vm-1' on node '%s' after auto-diskful of resource 'vm-1' on node '%s'.", holders[1], client))

	time.Sleep(time.Second) // ten looks of the watch
	c.get("/v1/resource-definitions/vm-2/resources/"+client, &r)
	require.Contains(t, r.Flags, "DRBD_DISKLESS", "vm-2 has no auto-diskful")
	require.Len(t, diskful("vm-2"), 2)
}
