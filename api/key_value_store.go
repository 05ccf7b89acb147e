package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

var kvsNameRule = nameRule{"key value store", 2, 48, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldKvsName}

type kvsPath struct {
	Instance string `path:"instance"`
}

func kvsJSON(k store.KeyValueStore) restapi.KeyValueStore {
	return restapi.KeyValueStore{Name: k.Name, Props: k.Props}
}

// registerKeyValueStore serves LINSTOR's key-value stores. They hold only
// the clients' data, so their changes are plain transactions: nothing on
// a node follows from them.
func (s *server) registerKeyValueStore(h huma.API) {
	huma.Register(h, developerOp("keyValueStoresList", http.MethodGet, "/v1/key-value-store", "list every key value store"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []restapi.KeyValueStore }, error) {
			all, err := s.Store.ListKeyValueStores(ctx)
			if err != nil {
				return nil, failure(err, 0, 0, nil)
			}
			out := make([]restapi.KeyValueStore, len(all))
			for i, k := range all {
				out[i] = kvsJSON(k)
			}
			return &struct{ Body []restapi.KeyValueStore }{out}, nil
		})
	huma.Register(h, developerOp("keyValueStoreList", http.MethodGet, "/v1/key-value-store/{instance}", "show one key value store"),
		func(ctx context.Context, in *kvsPath) (*struct{ Body []restapi.KeyValueStore }, error) {
			k, err := s.Store.GetKeyValueStore(ctx, in.Instance)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct{ Body []restapi.KeyValueStore }{[]restapi.KeyValueStore{kvsJSON(k)}}, nil
		})
	huma.Register(h, developerOp("keyValueStoreModify", http.MethodPut, "/v1/key-value-store/{instance}", "create or modify a key value store"),
		func(ctx context.Context, in *struct {
			Instance string `path:"instance"`
			Body     restapi.PropsModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskCtrlConf
			if err := kvsNameRule.check(in.Instance, op, 0); err != nil {
				return nil, err
			}
			if err := s.Store.ModifyKeyValueStore(ctx, in.Instance, propsModify(in.Body)); err != nil {
				return nil, failure(err, op, obj, nil)
			}
			return success(apicall.Modified, op, obj, "Successfully updated properties", "", nil), nil
		})
	huma.Register(h, developerOp("keyValueStoreDelete", http.MethodDelete, "/v1/key-value-store/{instance}", "delete a key value store"),
		func(ctx context.Context, in *kvsPath) (*rcOutput, error) {
			deleted, err := s.Store.DeleteKeyValueStore(ctx, in.Instance)
			if err != nil {
				return nil, failure(err, apicall.MaskDel, 0, nil)
			}
			if !deleted {
				rc := apicall.NewRc(apicall.WarnNotFound, 0, 0, fmt.Sprintf("Deletion of kvs '%s' had no effect.", in.Instance))
				rc.Cause = fmt.Sprintf("Kvs '%s' does not exist.", in.Instance)
				return &rcOutput{apicall.RcList{rc}}, nil
			}
			return success(apicall.Deleted, 0, 0, fmt.Sprintf("Kvs '%s' deleted.", in.Instance), "", nil), nil
		})
}
