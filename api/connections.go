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

type ConnPath struct {
	NodeA string `path:"node_a" doc:"First node"`
	NodeB string `path:"node_b" doc:"Second node"`
}

func connectionJSON(a, b string, props map[string]string, flags store.Flags, port *int32) restapi.Connection {
	c := restapi.Connection{NodeA: a, NodeB: b, Props: props, Flags: flags.List(), Port: port}
	if flags.Has(store.FlagLocalDrbdProxy) {
		c.DrbdProxyPortA, c.DrbdProxyPortB = port, port
	}
	return c
}

func (s *server) registerConnections(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "nodeConnectionsList", Method: http.MethodGet, Path: "/v1/node-connections", Summary: "list node connections", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodeA string `query:"node_a"`
			NodeB string `query:"node_b"`
		}) (*struct{ Body []restapi.Connection }, error) {
			conns, err := s.Store.ListNodeConnections(ctx, in.NodeA, in.NodeB)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskNodeConn, nil)
			}
			out := make([]restapi.Connection, len(conns))
			for i, c := range conns {
				out[i] = connectionJSON(c.NodeADspName, c.NodeBDspName, c.Props, "", nil)
			}
			return &struct{ Body []restapi.Connection }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "nodeConnectionModify", Method: http.MethodPut, Path: "/v1/node-connections/{node_a}/{node_b}", Summary: "modify a node connection", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			ConnPath
			OperationWaitParam
			Body restapi.PropsModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskNodeConn
			refs := map[string]string{"Node1": in.NodeA, "Node2": in.NodeB}
			row, err := s.Store.ModifyNodeConnection(ctx, in.NodeA, in.NodeB, propsModify(in.Body))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			out := success(apicall.Modified, op, obj, fmt.Sprintf("Node connection between nodes '%s' and '%s' modified.", in.NodeA, in.NodeB), row.UUID, refs).Body
			// The definitions on both nodes get the connection's options and paths.
			shared, err := s.Store.DefinitionsOnBoth(ctx, in.NodeA, in.NodeB)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return s.deployAll(ctx, out, op, obj, shared, in.wait(s.OperationWait))
		})

	list := func(ctx context.Context, rd, a, b string) ([]restapi.Connection, error) {
		conns, err := s.Store.ListResourceConnections(ctx, rd, a, b)
		if err != nil {
			return nil, notFoundOnly(err)
		}
		out := make([]restapi.Connection, len(conns))
		for i, c := range conns {
			out[i] = connectionJSON(c.NodeADspName, c.NodeBDspName, c.Props, c.Flags, c.TCPPort)
		}
		return out, nil
	}
	huma.Register(h, huma.Operation{OperationID: "resourceConnectionsList", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/resource-connections", Summary: "list a definition's resource connections", Tags: []string{"developers"}},
		func(ctx context.Context, in *RdPath) (*struct{ Body []restapi.Connection }, error) {
			out, err := list(ctx, in.Resource, "", "")
			return &struct{ Body []restapi.Connection }{out}, err
		})
	huma.Register(h, huma.Operation{OperationID: "resourceConnectionList", Method: http.MethodGet, Path: "/v1/resource-definitions/{resource}/resource-connections/{node_a}/{node_b}", Summary: "show one resource connection", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			ConnPath
		}) (*struct{ Body restapi.Connection }, error) {
			// One object, as LINSTOR's server answers and its clients (golinstor's
			// GetResourceConnection, linstor rc list-properties) read it; its
			// description says a list.
			out, err := list(ctx, in.Resource, in.NodeA, in.NodeB)
			if err != nil {
				return nil, err
			}
			if len(out) == 0 {
				return &struct{ Body restapi.Connection }{connectionJSON(in.NodeA, in.NodeB, nil, "", nil)}, nil
			}
			return &struct{ Body restapi.Connection }{out[0]}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "resourceConnectionModify", Method: http.MethodPut, Path: "/v1/resource-definitions/{resource}/resource-connections/{node_a}/{node_b}", Summary: "modify a resource connection", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			RdPath
			ConnPath
			OperationWaitParam
			Body restapi.PropsModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskRscConn
			refs := map[string]string{"RscDfn": in.Resource, "Node1": in.NodeA, "Node2": in.NodeB}
			row, err := s.Store.ModifyResourceConnection(ctx, in.Resource, in.NodeA, in.NodeB, propsModify(in.Body))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			out := success(apicall.Modified, op, obj, fmt.Sprintf("Resource connection of '%s' between nodes '%s' and '%s' modified.", in.Resource, in.NodeA, in.NodeB), row.UUID, refs).Body
			// Both nodes get the connection's new options and paths.
			return s.answerDeployed(ctx, out, op, obj, in.Resource, nil, in.wait(s.OperationWait))
		})
	s.registerDrbdProxy(h)
}
