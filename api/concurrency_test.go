package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
)

// 50 concurrent conflicting requests leave consistent state: a duplicate
// is created once, numbers are never handed out twice, and a delete racing
// with creates of children either wins whole or loses whole.
func TestConcurrentConflictingRequests(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		const n = 50
		run := func(req func(i int) (int, []byte)) []int {
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { statuses[i], _ = req(i) })
			}
			wg.Wait()
			return statuses
		}
		count := func(statuses []int, want int) (k int) {
			for _, s := range statuses {
				if s == want {
					k++
				}
			}
			return k
		}

		// The same definition, 50 times: one is created.
		st := run(func(int) (int, []byte) {
			return c.do(http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "same"}}`)
		})
		require.Equal(t, 1, count(st, http.StatusCreated))
		require.Equal(t, n-1, count(st, http.StatusInternalServerError))

		// 50 different definitions at once get 50 different ports, each
		// with two volume definitions of distinct minors.
		st = run(func(i int) (int, []byte) {
			return c.do(http.MethodPost, "/v1/resource-definitions", fmt.Sprintf(`{"resource_definition": {"name": "r%d"}}`, i))
		})
		require.Equal(t, n, count(st, http.StatusCreated))
		st = run(func(i int) (int, []byte) {
			return c.do(http.MethodPost, fmt.Sprintf("/v1/resource-definitions/r%d/volume-definitions", i%25), `{"volume_definition": {"size_kib": 1024}}`)
		})
		require.Equal(t, n, count(st, http.StatusCreated))
		var rds []restapi.ResourceDefinition
		c.get("/v1/resource-definitions?with_volume_definitions=true", &rds)
		ports, minors := map[int32]bool{}, map[int32]bool{}
		for _, rd := range rds {
			ports[rd.LayerData[0].Data.Port] = true
			if rd.Name == "same" {
				continue
			}
			for i, vd := range rd.VolumeDefinitions {
				require.EqualValues(t, i, *vd.VolumeNumber, "volume numbers of %s are 0, 1, ...", rd.Name)
				minors[*vd.LayerData[0].Data.MinorNumber] = true
			}
		}
		require.Len(t, ports, n+1, "every definition has its own port")
		require.Len(t, minors, n, "every volume definition has its own minor")

		// Deleting a group while definitions are created in it: the delete
		// either happens before every create (which then fail) or is
		// refused; never a definition in a deleted group.
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-groups", `{"name": "racy"}`)
		st = run(func(i int) (int, []byte) {
			if i%10 == 0 {
				return c.do(http.MethodDelete, "/v1/resource-groups/racy", nil)
			}
			return c.do(http.MethodPost, "/v1/resource-definitions", fmt.Sprintf(`{"resource_definition": {"name": "g%d", "resource_group_name": "racy"}}`, i))
		})
		c.get("/v1/resource-definitions", &rds)
		inGroup := 0
		for _, rd := range rds {
			if rd.ResourceGroupName == "racy" {
				inGroup++
			}
		}
		status, _ := c.do(http.MethodGet, "/v1/resource-groups/racy", nil)
		if status == http.StatusNotFound {
			require.Zero(t, inGroup, "no definition outlives its group")
		} else {
			require.Equal(t, count(st, http.StatusCreated), inGroup)
		}

		// Resources on the same node, 50 times: one, with node id 0. The
		// requests that came while it was being created joined its
		// operation and got its answer; later ones are refused.
		st = run(func(int) (int, []byte) {
			return c.do(http.MethodPost, "/v1/resource-definitions/r0/resources", `[{"resource": {"node_name": "alpha", "props": {"StorPoolName": "pool1"}}}]`)
		})
		require.GreaterOrEqual(t, count(st, http.StatusCreated), 1)
		require.Equal(t, n, count(st, http.StatusCreated)+count(st, http.StatusInternalServerError), "created (joined) or refused as existing")
		var view []restapi.ResourceWithVolumes
		c.get("/v1/view/resources?resources=r0", &view)
		require.Len(t, view, 1)
		require.Len(t, view[0].Volumes, 2)

		// Concurrent property writes on one object all land.
		run(func(i int) (int, []byte) {
			return c.do(http.MethodPut, "/v1/nodes/bravo", fmt.Sprintf(`{"override_props": {"Aux/k%d": "v"}}`, i))
		})
		var node restapi.Node
		c.get("/v1/nodes/bravo", &node)
		aux := 0
		for k := range node.Props {
			if strings.HasPrefix(k, "Aux/") {
				aux++
			}
		}
		require.Equal(t, n, aux)
	})
}

// Twenty concurrent placements of one resource: it ends with the place
// count, not twenty times it, and each request either placed or found
// nothing left to place.
func TestConcurrentAutoplacements(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		for i, n := range []string{"alpha", "bravo", "charlie"} {
			require.NoError(t, c.store.SetStoragePoolCapacity(t.Context(), n, "pool1", int64(10+i)<<20, 100<<20, nil))
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "hot"}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/hot/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		const n = 20
		statuses := make([]int, n)
		bodies := make([][]byte, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i], bodies[i] = c.do(http.MethodPost, "/v1/resource-definitions/hot/autoplace", `{"select_filter": {"place_count": 2, "storage_pool": "pool1"}}`)
			})
		}
		wg.Wait()
		placedNow := 0
		for i := range n {
			require.Contains(t, []int{http.StatusCreated, http.StatusInternalServerError}, statuses[i], "%s", bodies[i])
			if strings.Contains(string(bodies[i]), "successfully autoplaced") {
				placedNow++
			}
		}
		require.GreaterOrEqual(t, placedNow, 1)
		var rscs []restapi.ResourceWithVolumes
		c.get("/v1/resource-definitions/hot/resources", &rscs)
		diskful := 0
		for _, r := range rscs {
			if !strings.Contains(strings.Join(r.Flags, ","), "DISKLESS") {
				diskful++
			}
		}
		require.Equal(t, 2, diskful, "the place count, however many requests raced")
	})
}

// The same request sent ten times at once has one effect: the requests
// that come while its operation runs join it (and get its answer), those
// that come after it are refused or find nothing left to do.
func TestRepeatedRequestsHaveOneEffect(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("delta", "10.0.0.4"))
		for i, n := range []string{"alpha", "bravo", "charlie"} {
			require.NoError(t, c.store.SetStoragePoolCapacity(t.Context(), n, "pool1", int64(10+i)<<20, 100<<20, nil))
		}
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "hot", "props": {"StorPoolName": "pool1"}}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/hot/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/hot/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo"}}]`)
		repeat := func(method, path, body string) (answers map[string]int) {
			const n = 10
			bodies := make([][]byte, n)
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { statuses[i], bodies[i] = c.do(method, path, body) })
			}
			wg.Wait()
			answers = map[string]int{}
			for i := range n {
				var rcs apicall.RcList
				require.NoError(t, json.Unmarshal(bodies[i], &rcs), "%s", bodies[i])
				answers[fmt.Sprintf("%d %s", statuses[i], rcs[0].Message)]++
			}
			return answers
		}
		diskful := func() []string {
			var rscs []restapi.ResourceWithVolumes
			c.get("/v1/resource-definitions/hot/resources", &rscs)
			var out []string
			for _, r := range rscs {
				if !strings.Contains(strings.Join(r.Flags, ","), "DISKLESS") {
					out = append(out, r.NodeName)
				}
			}
			return out
		}

		// (A place count, not +1: a +1 that comes after the first is
		// finished asks for one more replica, and gets it.)
		answers := repeat(http.MethodPost, "/v1/resource-definitions/hot/autoplace", `{"select_filter": {"place_count": 3}}`)
		require.Len(t, diskful(), 3, "one more replica, not ten: %v", answers)
		for a := range answers {
			require.True(t, strings.HasPrefix(a, "201 Resource 'hot' successfully autoplaced on 1 nodes") || strings.HasPrefix(a, "201 Resource 'hot' already has"), "%v", answers)
		}

		answers = repeat(http.MethodPut, "/v1/resource-definitions/hot/resources/alpha/toggle-disk/diskless", "")
		require.Len(t, diskful(), 2, "%v", answers)
		require.NotContains(t, diskful(), "alpha")
		for a := range answers {
			require.True(t, a == "200 Resource 'hot' on node 'alpha' is now diskless." || a == "500 Resource 'hot' on node 'alpha' is already diskless.", "%v", answers)
		}
	})
}
