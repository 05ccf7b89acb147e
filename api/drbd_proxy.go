package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

// registerDrbdProxy serves LINSTOR's drbd-proxy commands: a resource
// connection through DRBD Proxy on both its nodes (enable, disable), and
// the definition's proxy options and compression (modify), all rendered
// into the nodes' DRBD resource files.
func (s *server) registerDrbdProxy(h huma.API) {
	huma.Register(h, developerOp("resourceDrbdProxyModify", http.MethodPut, "/v1/resource-definitions/{resource}/drbd-proxy", "change a definition's DRBD Proxy options and compression"),
		func(ctx context.Context, in *struct {
			RdPath
			OperationWaitParam
			Body restapi.DrbdProxyModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskRscDfn
			refs := map[string]string{"RscDfn": in.Resource}
			b := in.Body
			row, err := s.Store.ModifyDrbdProxy(ctx, in.Resource, store.DrbdProxyChange{Options: b.OverrideProps, Delete: b.DeleteProps,
				Compression: b.CompressionType, CompressionOptions: b.CompressionProps})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			out := success(apicall.Modified, op, obj, fmt.Sprintf("Successfully updated proxy options for resource definition '%s'.", row.ResourceDspName), row.UUID, refs).Body
			return s.answerDeployed(ctx, out, op, obj, row.ResourceDspName, nil, in.wait(s.OperationWait))
		})
	huma.Register(h, developerOp("resourceDrbdProxyPropsInfo", http.MethodGet, "/v1/resource-definitions/{resource}/drbd-proxy/properties/info", "list DRBD Proxy's options"),
		func(context.Context, *RdPath) (*struct{ Body map[string]store.PropInfo }, error) {
			return &struct{ Body map[string]store.PropInfo }{store.DrbdProxyPropertiesInfo()}, nil
		})
	toggle := func(id, verb string, enable bool) {
		huma.Register(h, developerOp(id, http.MethodPost, "/v1/resource-definitions/{resource}/drbd-proxy/"+verb+"/{node_a}/{node_b}", verb+" DRBD Proxy on a resource connection"),
			func(ctx context.Context, in *struct {
				RdPath
				ConnPath
				OperationWaitParam
				Body *restapi.DrbdProxyEnable `required:"false"`
			}) (*rcOutput, error) {
				const op, obj = apicall.MaskMod, apicall.MaskRscConn
				refs := map[string]string{"RscDfn": in.Resource, "Node1": in.NodeA, "Node2": in.NodeB}
				var port *int32
				if b := in.Body; b != nil && enable {
					port = b.Port
					if b.PortSrc != nil {
						port = b.PortSrc
					}
				}
				row, err := s.Store.SetDrbdProxy(ctx, in.Resource, in.NodeA, in.NodeB, enable, port)
				if err != nil {
					return nil, failure(err, op, obj, refs)
				}
				msg := fmt.Sprintf("DRBD Proxy disabled on resource connection between '%s' and '%s' of '%s'.", in.NodeA, in.NodeB, in.Resource)
				if enable {
					msg = fmt.Sprintf("DRBD Proxy enabled on resource connection between '%s' and '%s' of '%s', port %d.", in.NodeA, in.NodeB, in.Resource, *row.TCPPort)
				}
				out := success(apicall.Modified, op, obj, msg, row.UUID, refs).Body
				return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
			})
	}
	toggle("resourceDrbdProxyEnable", "enable", true)
	toggle("resourceDrbdProxyDisable", "disable", false)
}
