package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"strata/store"
)

// propsInfoPaths are LINSTOR's properties/info endpoints: the keys each
// kind of object accepts, with type, allowed values, default and meaning.
var propsInfoPaths = []struct {
	id, path string
	kind     store.Kind
}{
	{"controllerPropsInfo", "/v1/controller/properties/info", store.KindController},
	{"nodePropsInfo", "/v1/nodes/properties/info", store.KindNode},
	{"storagePoolDfnPropsInfo", "/v1/storage-pool-definitions/properties/info", store.KindStorPoolDefinition},
	{"nodeStoragePoolPropsInfo", "/v1/nodes/{node}/storage-pools/properties/info", store.KindStoragePool},
	{"resourceGroupPropsInfo", "/v1/resource-groups/properties/info", store.KindResourceGroup},
	{"volumeGroupPropsInfo", "/v1/resource-groups/{resource_group}/volume-groups/properties/info", store.KindVolumeGroup},
	{"resourceDefinitionPropsInfo", "/v1/resource-definitions/properties/info", store.KindResourceDefinition},
	{"volumeDefinitionPropsInfo", "/v1/resource-definitions/{resource}/volume-definitions/properties/info", store.KindVolumeDefinition},
	{"resourcePropsInfo", "/v1/resource-definitions/{resource}/resources/properties/info", store.KindResource},
	{"volumePropsInfo", "/v1/resource-definitions/{resource}/resources/{node}/volumes/properties/info", store.KindVolume},
	{"resourceConnectionPropsInfo", "/v1/resource-definitions/{resource}/resource-connections/properties/info", store.KindResourceConnection},
}

func (s *server) registerPropsInfo(h huma.API) {
	type out struct{ Body map[string]store.PropInfo }
	for _, p := range propsInfoPaths {
		huma.Register(h, huma.Operation{OperationID: p.id, Method: http.MethodGet, Path: p.path, Summary: "list the properties that can be set", Tags: []string{"developers"}},
			func(context.Context, *struct{}) (*out, error) { return &out{store.PropertiesInfo(p.kind)}, nil })
	}
	huma.Register(h, huma.Operation{OperationID: "controllerPropsInfoAll", Method: http.MethodGet, Path: "/v1/controller/properties/info/all", Summary: "list the properties of every kind of object", Tags: []string{"developers"}},
		func(context.Context, *struct{}) (*struct {
			Body map[string]map[string]store.PropInfo
		}, error) {
			all := map[string]map[string]store.PropInfo{}
			for name, kind := range store.PropertiesInfoEntities {
				all[name] = store.PropertiesInfo(kind)
			}
			return &struct {
				Body map[string]map[string]store.PropInfo
			}{all}, nil
		})
}
