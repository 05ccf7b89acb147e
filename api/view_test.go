package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// The resource view that a controller keeps between lists answers exactly
// what a controller building it from the database afresh answers, after
// every kind of write that changes it, for every filter.
func TestResourceViewStaysCurrent(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		cluster(c)
		queries := []string{"", "?nodes=bravo", "?resources=res1&resources=RES2", "?storage_pools=DfltDisklessStorPool",
			"?props=Aux/tag=x", "?offset=1&limit=2", "?nodes=alpha&storage_pools=pool1"}
		check := func(step string) {
			t.Helper()
			fresh := httptest.NewServer(New(Deps{Store: c.store}))
			defer fresh.Close()
			for _, q := range queries {
				var kept json.RawMessage
				c.get("/v1/view/resources"+q, &kept)
				resp, err := http.Get(fresh.URL + "/v1/view/resources" + q)
				require.NoError(t, err)
				want, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				require.JSONEq(t, string(want), string(kept), "after %s, query %q", step, q)
			}
		}
		post := func(path, body string) { c.ok(http.StatusCreated, http.MethodPost, path, body) }
		put := func(path, body string) { c.ok(http.StatusOK, http.MethodPut, path, body) }
		del := func(path string) { c.ok(http.StatusOK, http.MethodDelete, path, nil) }

		check("nothing")
		for _, rd := range []string{"res1", "res2", "res3"} {
			post("/v1/resource-definitions", `{"resource_definition": {"name": "`+rd+`", "props": {"StorPoolName": "pool1"}}}`)
			post("/v1/resource-definitions/"+rd+"/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		}
		check("definitions")
		post("/v1/resource-definitions/res1/resources", `[{"resource": {"node_name": "alpha"}}, {"resource": {"node_name": "bravo"}}]`)
		post("/v1/resource-definitions/res2/resources", `[{"resource": {"node_name": "bravo"}}, {"resource": {"node_name": "charlie", "flags": ["DRBD_DISKLESS"]}}]`)
		post("/v1/resource-definitions/res3/resources", `[{"resource": {"node_name": "alpha"}}]`)
		check("resource create")
		put("/v1/resource-definitions/res1/resources/bravo", `{"override_props": {"Aux/tag": "x"}}`)
		check("resource property")
		put("/v1/resource-definitions/res2/resources/bravo/volumes/0", `{"override_props": {"Aux/v": "1"}}`)
		check("volume property")
		post("/v1/resource-definitions/res1/volume-definitions", `{"volume_definition": {"size_kib": 2048}}`)
		check("volume definition added to deployed resources")
		put("/v1/resource-definitions/res1/volume-definitions/1", `{"size_kib": 4096}`)
		del("/v1/resource-definitions/res1/volume-definitions/1")
		check("volume definition delete")
		del("/v1/resource-definitions/res1/resources/alpha")
		check("resource delete")
		del("/v1/nodes/bravo")
		check("node delete")
		del("/v1/resource-definitions/res3")
		check("definition delete")
		post("/v1/resource-definitions", `{"resource_definition": {"name": "res3", "props": {"StorPoolName": "pool1"}}}`)
		post("/v1/resource-definitions/res3/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
		post("/v1/resource-definitions/res3/resources", `[{"resource": {"node_name": "charlie"}}]`)
		check("a definition created again under the same name")
	})
}
