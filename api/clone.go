package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

func (s *server) registerClone(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionClone", Method: http.MethodPost, Path: "/v1/resource-definitions/{resource}/clone",
		Summary: "clone a resource definition with its data", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			RdPath
			Body restapi.ResourceDefinitionCloneRequest
		}) (*struct {
			Body restapi.ResourceDefinitionCloneStarted
		}, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskRscDfn
			b := in.Body
			refs := map[string]string{"RscDfn": b.Name, "SourceRscDfn": in.Resource}
			if err := rscNameRule.check(b.Name, op, obj); err != nil {
				return nil, err
			}
			if len(b.VolumePassphrases) > 0 {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "Volume passphrases for clones are not supported by Strata.", "", "Clone without volume_passphrases.")
			}
			spec := store.CloneSpec{Source: in.Resource, Target: b.Name, ExternalName: b.ExternalName, ResourceGroup: b.ResourceGroup,
				Props: store.PropsModify{OverrideProps: b.OverrideProps, DeleteProps: b.DeleteProps, DeleteNamespaces: b.DeleteNamespaces}}
			if len(b.LayerList) > 0 {
				var err error
				if spec.LayerStack, err = checkLayers(b.LayerList, op, obj); err != nil {
					return nil, err
				}
			}
			if _, err := s.Store.GetResourceDefinition(ctx, in.Resource); err != nil {
				return nil, failure(err, op, obj, refs)
			}
			// Refused here too (the clone's first step refuses it again): an
			// existing definition must not look like the clone's start.
			if _, err := s.Store.GetResourceDefinition(ctx, b.Name); err == nil {
				return nil, apicall.Failure(apicall.FailExists+1, op, obj, fmt.Sprintf("Resource definition '%s' already exists.", b.Name), "", "Clone into another name.")
			}
			id := workflows.CloneID(b.Name)
			r, err := s.start(ctx, id, workflows.Clone, activities.CloneInput{CloneSpec: spec})
			if err != nil {
				return nil, notStarted(operation{op: op, obj: obj}, err)
			}
			// The answer waits until the clone is recorded (or refused), so
			// that its status can be asked for at once.
			done := make(chan error, 1)
			var out workflows.Outcome
			go func() { done <- r.Get(ctx, &out) }()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for recorded := false; !recorded; {
				select {
				case err := <-done:
					if _, missing := s.Store.GetResourceDefinition(ctx, b.Name); missing != nil { // ended before it was recorded
						if err != nil {
							return nil, apicall.Failure(apicall.FailUnknownError, op, obj, "The clone failed.", err.Error(), "See workflow "+id+" in the Temporal UI.")
						}
						return nil, out.Replies
					}
					recorded = true
				case <-tick.C:
					_, err := s.Store.GetResourceDefinition(ctx, b.Name)
					recorded = err == nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			rc := apicall.NewRc(apicall.InfoOperationRunning, op, obj, fmt.Sprintf("Cloning '%s' into '%s'.", in.Resource, b.Name))
			rc.ObjRefs = map[string]string{"RscDfn": b.Name, "WorkflowId": id}
			return &struct {
				Body restapi.ResourceDefinitionCloneStarted
			}{restapi.ResourceDefinitionCloneStarted{
				Location: "/v1/resource-definitions/" + in.Resource + "/clone/" + b.Name, SourceName: in.Resource, CloneName: b.Name, Messages: []apicall.ApiCallRc{rc}}}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceDefinitionCloneStatus", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/clone/{clone}",
		Summary: "the status of a clone", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			Clone string `path:"clone"`
		}) (*struct {
			Body restapi.ResourceDefinitionCloneStatus
		}, error) {
			rd, err := s.Store.GetResourceDefinition(ctx, in.Clone)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct {
				Body restapi.ResourceDefinitionCloneStatus
			}{restapi.ResourceDefinitionCloneStatus{Status: store.CloneStatus(rd.ResourceDefinitionRow)}}, nil
		})
}
