package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
)

// Size queries answer from the capacities the agents reported, with the
// oversubscription ratios of the guide.
func TestSizeQueries(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c) // FILE_THIN pool1 on alpha, bravo, charlie
		ctx := t.Context()
		for node, freeGiB := range map[string]int64{"alpha": 10, "bravo": 30, "charlie": 20} {
			require.NoError(t, c.store.SetStoragePoolCapacity(ctx, node, "pool1", freeGiB<<20, 100<<20, nil))
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "rg1", "select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)

		// Thin pools oversubscribe free space 20 times by default; the
		// second-best node bounds two replicas.
		var sizes MaxVolumeSizes
		c.get("/v1/resource-groups/rg1/query-max-volume-size", &sizes)
		require.Equal(t, 20.0, sizes.DefaultMaxOversubscriptionRatio)
		require.Equal(t, []Candidate{{StoragePool: "pool1", MaxVolumeSizeKib: 20 * (20 << 20), NodeNames: []string{"bravo", "charlie"}, AllThin: true}}, sizes.Candidates)

		c.ok(http.StatusCreated, http.MethodPost, "/v1/controller/properties", `{"override_props": {"MaxOversubscriptionRatio": "1"}}`)
		info := sizeInfo(c, `{"select_filter": {}}`)
		require.EqualValues(t, 20<<20, info.SpaceInfo.MaxVlmSizeInKib)
		require.EqualValues(t, 50<<20, *info.SpaceInfo.AvailableSizeInKib)
		require.EqualValues(t, 200<<20, *info.SpaceInfo.CapacityInKib)
		require.Equal(t, []QuerySizeInfoSpawnResult{{"bravo", "pool1"}, {"charlie", "pool1"}}, info.SpaceInfo.NextSpawnResult)

		// A node the autoplacer may not use is left out; three replicas
		// then do not fit and the answer says why.
		c.ok(http.StatusOK, http.MethodPut, "/v1/nodes/bravo", `{"override_props": {"AutoplaceTarget": "false"}}`)
		info = sizeInfo(c, `{"select_filter": {"place_count": 3}}`)
		require.Zero(t, info.SpaceInfo.MaxVlmSizeInKib)
		require.Len(t, info.Reports, 1)
		require.Contains(t, info.Reports[0].Cause, "2 nodes")

		// The legacy OPTIONS query takes the filter as its body.
		status, body := c.do(http.MethodOptions, "/v1/query-max-volume-size", `{"place_count": 1, "node_name_list": ["alpha"]}`)
		require.Equal(t, http.StatusOK, status, "%s", body)
		sizes = MaxVolumeSizes{}
		require.NoError(t, json.Unmarshal(body, &sizes))
		require.Equal(t, []Candidate{{StoragePool: "pool1", MaxVolumeSizeKib: 10 << 20, NodeNames: []string{"alpha"}, AllThin: true}}, sizes.Candidates)

		c.fail(http.StatusNotFound, apicall.FailNotFound+17, http.MethodGet, "/v1/resource-groups/nope/query-max-volume-size", nil)
	})
}

func sizeInfo(c *apiClient, body string) QuerySizeInfoResponse {
	c.t.Helper()
	status, out := c.do(http.MethodPost, "/v1/resource-groups/rg1/query-size-info", body)
	require.Equal(c.t, http.StatusOK, status, "%s", out)
	var info QuerySizeInfoResponse
	require.NoError(c.t, json.Unmarshal(out, &info))
	return info
}
