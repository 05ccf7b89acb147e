package api

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/agentlink"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

var (
	nodeTypes       = []string{store.NodeTypeController, store.NodeTypeSatellite, store.NodeTypeCombined, store.NodeTypeAuxiliary}
	encryptionTypes = []string{"PLAIN", "SSL"}
)

// NodeEvacuate is LINSTOR's optional body of node evacuate.
type NodeEvacuate struct {
	Target      []string `json:"target,omitempty" doc:"nodes to move the resources to"`
	DoNotTarget []string `json:"do_not_target,omitempty" doc:"nodes not to move the resources to"`
}

type NodePath struct {
	Node string `path:"node" doc:"Node name"`
}

type NetIfPath struct {
	NodePath
	NetInterface string `path:"netinterface" doc:"Net interface name"`
}

func (s *server) registerNodes(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "nodeList", Method: http.MethodGet, Path: "/v1/nodes", Summary: "list nodes", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			ListParams
			Nodes []string `query:"nodes,explode"`
		}) (*struct{ Body []restapi.Node }, error) {
			nodes, err := s.Store.ListNodes(ctx, in.Nodes)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskNode, nil)
			}
			nodes = page(filter(nodes, func(n store.Node) map[string]string { return n.Props }, in.Props), in.ListParams)
			out := make([]restapi.Node, len(nodes))
			for i, n := range nodes {
				out[i] = s.nodeJSON(n)
			}
			return &struct{ Body []restapi.Node }{out}, nil
		})

	huma.Register(h, huma.Operation{OperationID: "nodeGet", Method: http.MethodGet, Path: "/v1/nodes/{node}", Summary: "show one node", Tags: []string{"developers"}},
		func(ctx context.Context, in *NodePath) (*struct{ Body restapi.Node }, error) {
			n, err := s.Store.GetNode(ctx, in.Node)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct{ Body restapi.Node }{s.nodeJSON(n)}, nil
		})

	huma.Register(h, huma.Operation{OperationID: "nodeAdd", Method: http.MethodPost, Path: "/v1/nodes", Summary: "add a node", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct{ Body restapi.Node }) (*rcOutput, error) {
			return s.createNode(ctx, in.Body)
		})

	huma.Register(h, huma.Operation{OperationID: "nodeModify", Method: http.MethodPut, Path: "/v1/nodes/{node}", Summary: "modify a node", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodePath
			Body restapi.NodeModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskNode
			refs := map[string]string{"Node": in.Node}
			typ := ""
			if in.Body.NodeType != "" {
				var ok bool
				if typ, ok = upperEnum(in.Body.NodeType, nodeTypes); !ok {
					return nil, invalid(apicall.FailInvldNodeType, op, obj, fmt.Sprintf("Invalid node type '%s'.", apicall.Clip(in.Body.NodeType)), "", "Use one of: "+strings.Join(nodeTypes, ", ")+".")
				}
			}
			row, err := s.Store.ModifyNode(ctx, in.Node, typ, propsModify(in.Body.PropsModify))
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Node '%s' modified.", row.NodeDspName), row.UUID, refs), nil
		})

	deleteNode := func(lost bool) func(context.Context, *struct {
		NodePath
		OperationWaitParam
	}) (*rcOutput, error) {
		return func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
		}) (*rcOutput, error) {
			if lost && s.Agents != nil && s.Agents.Status(in.Node).Connection == agentlink.Online {
				return nil, apicall.Failure(apicall.FailExistsNodeConn, apicall.MaskDel, apicall.MaskNode, fmt.Sprintf("Node '%s' still connected, please use the 'DelNode' api.", in.Node), "", "")
			}
			return s.run(ctx, operation{op: apicall.MaskDel, obj: apicall.MaskNode, id: workflows.NodeDeleteID(in.Node), workflow: workflows.NodeDelete,
				input: activities.NodeDeleteInput{Node: in.Node, Lost: lost}, what: fmt.Sprintf("Deleting node '%s'", in.Node), refs: map[string]string{"Node": in.Node}}, in.wait(s.OperationWait))
		}
	}
	huma.Register(h, huma.Operation{OperationID: "nodeDelete", Method: http.MethodDelete, Path: "/v1/nodes/{node}", Summary: "delete a node", Tags: []string{"developers"}}, deleteNode(false))
	huma.Register(h, huma.Operation{OperationID: "nodeLost", Method: http.MethodDelete, Path: "/v1/nodes/{node}/lost", Summary: "delete an unrecoverable node", Tags: []string{"developers"}}, deleteNode(true))

	huma.Register(h, huma.Operation{OperationID: "nodeReconnect", Method: http.MethodPut, Path: "/v1/nodes/{node}/reconnect", Summary: "reconnect a node to the controller", Tags: []string{"developers"}},
		func(ctx context.Context, in *NodePath) (*rcOutput, error) {
			n, err := s.Store.GetNode(ctx, in.Node)
			if err != nil {
				return nil, failure(err, apicall.MaskMod, apicall.MaskNode, map[string]string{"Node": in.Node})
			}
			refs := map[string]string{"Node": n.NodeDspName}
			if n.Flags.Has(store.FlagEvicted) {
				return nil, apicall.Failure(apicall.FailInUse, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Node '%s' is evicted and cannot reconnect.", n.NodeDspName),
					"An evicted node's resources were replaced elsewhere.", "Restore it (node restore), or remove it (node lost).")
			}
			id, err := StartNodeSync(ctx, s.Temporal, s.taskQueue(), n.NodeDspName)
			if err != nil {
				return nil, apicall.Failure(apicall.FailNotConnected, apicall.MaskMod, apicall.MaskNode, "Failed to start sending the node its state.", err.Error(), "Check that Temporal is reachable (GET /health).")
			}
			refs["WorkflowId"] = id
			out := success(apicall.Modified, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Node '%s' is being reconnected.", n.NodeDspName), "", refs)
			out.Body[0].Details = "Workflow " + id + " sends the node its whole state."
			return out, nil
		})

	huma.Register(h, huma.Operation{OperationID: "nodeRestore", Method: http.MethodPut, Path: "/v1/nodes/{node}/restore", Summary: "restore an evicted or evacuated node", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
			Body *restapi.NodeRestore `required:"false"`
		}) (*rcOutput, error) {
			input := activities.RestoreNodeInput{Node: in.Node}
			if b := in.Body; b != nil {
				input.DeleteResources = b.DeleteResources != nil && *b.DeleteResources
				input.DeleteSnapshots = b.DeleteSnapshots != nil && *b.DeleteSnapshots
			}
			return s.run(ctx, operation{op: apicall.MaskMod, obj: apicall.MaskNode, id: workflows.NodeRestoreID(in.Node), workflow: workflows.NodeRestore, input: input,
				what: fmt.Sprintf("Restoring node '%s'", in.Node), refs: map[string]string{"Node": in.Node}}, in.wait(s.OperationWait))
		})

	huma.Register(h, huma.Operation{OperationID: "nodeEvict", Method: http.MethodPut, Path: "/v1/nodes/{node}/evict", Summary: "evict an offline node: its DRBD resources are replaced elsewhere", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskNode
			if s.Agents != nil && s.Agents.Status(in.Node).Connection == agentlink.Online {
				return nil, apicall.Failure(apicall.FailInUse, op, obj, "Eviction of an online node is not possible.", "", "")
			}
			return s.runUntilAccepted(ctx, operation{op: op, obj: obj, id: workflows.NodeEvictID(in.Node), workflow: workflows.NodeEvacuate, input: activities.EvacuateInput{Node: in.Node, Evict: true},
				what: fmt.Sprintf("Eviction of node '%s'", in.Node), refs: map[string]string{"Node": in.Node}}, in.wait(s.OperationWait))
		})

	huma.Register(h, huma.Operation{OperationID: "nodeEvacuate", Method: http.MethodPut, Path: "/v1/nodes/{node}/evacuate", Summary: "move every resource off a node", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodePath
			OperationWaitParam
			Body *NodeEvacuate `required:"false"`
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskNode
			input := activities.EvacuateInput{Node: in.Node}
			if b := in.Body; b != nil {
				for _, n := range slices.Concat(b.Target, b.DoNotTarget) {
					if err := checkNodeName(n, op, obj); err != nil {
						return nil, err
					}
				}
				input.Target, input.DoNotTarget = b.Target, b.DoNotTarget
			}
			return s.runUntilAccepted(ctx, operation{op: op, obj: obj, id: workflows.NodeEvacuateID(in.Node), workflow: workflows.NodeEvacuate, input: input,
				what: fmt.Sprintf("Evacuation of node '%s'", in.Node), refs: map[string]string{"Node": in.Node}}, in.wait(s.OperationWait))
		})

	s.registerNetInterfaces(h)
}

func (s *server) createNode(ctx context.Context, n restapi.Node) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskNode
	refs := map[string]string{"Node": n.Name}
	if err := checkNodeName(n.Name, op, obj); err != nil {
		return nil, err
	}
	typ, ok := upperEnum(n.Type, nodeTypes)
	if !ok {
		return nil, invalid(apicall.FailInvldNodeType, op, obj, fmt.Sprintf("Invalid node type '%s'.", apicall.Clip(n.Type)),
			"", "Use one of: "+strings.Join(nodeTypes, ", ")+" (case does not matter).")
	}
	if len(n.NetInterfaces) == 0 {
		return nil, invalid(apicall.FailInvldNetAddr, op, obj, fmt.Sprintf("Node '%s' needs a net interface.", n.Name),
			"A node is reached through at least one net interface.", "Give the node's IP address.")
	}
	spec := store.NodeSpec{Name: n.Name, Type: typ, Props: n.Props}
	var active string
	for _, nif := range n.NetInterfaces {
		row, err := netIfRow(nif, op, obj)
		if err != nil {
			return nil, err
		}
		if nif.IsActive && active == "" {
			active = nif.Name
		}
		spec.NetInterfaces = append(spec.NetInterfaces, row)
	}
	if active != "" {
		spec.Props = withProp(spec.Props, store.KeyCurStltConnName, active)
	}
	if err := (store.PropsModify{OverrideProps: n.Props}).Check(store.KindNode); err != nil {
		return nil, failure(err, op, obj, refs)
	}
	row, err := s.Store.CreateNode(ctx, spec)
	if err != nil {
		return nil, failure(err, op, obj, refs)
	}
	return success(apicall.Created, op, obj, fmt.Sprintf("New node '%s' registered.", row.NodeDspName), row.UUID, refs), nil
}

func withProp(props map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for pk, pv := range props {
		out[pk] = pv
	}
	return out
}

// netIfRow validates a net interface of a request.
func netIfRow(nif restapi.NetInterface, op, obj uint64) (store.NetInterfaceRow, error) {
	if nif.Name == "" {
		nif.Name = "default"
	}
	if err := netIfNameRule.check(nif.Name, op, obj); err != nil {
		return store.NetInterfaceRow{}, err
	}
	if net.ParseIP(nif.Address) == nil {
		return store.NetInterfaceRow{}, invalid(apicall.FailInvldNetAddr, op, obj, fmt.Sprintf("Invalid IP address '%s'.", apicall.Clip(nif.Address)),
			"A net interface has an IPv4 or IPv6 address.", "Give the interface's address, such as 10.0.0.1.")
	}
	row := store.NetInterfaceRow{NodeNetDspName: nif.Name, InetAddress: nif.Address}
	if nif.SatellitePort != nil {
		if *nif.SatellitePort < 1 || *nif.SatellitePort > 65535 {
			return row, invalid(apicall.FailInvldNetPort, op, obj, fmt.Sprintf("Invalid satellite port %d.", *nif.SatellitePort), "A port is from 1 to 65535.", "Use 3366 (plain) or 3367 (SSL).")
		}
		enc := "PLAIN"
		if nif.SatelliteEncryptionType != "" {
			var ok bool
			if enc, ok = upperEnum(nif.SatelliteEncryptionType, encryptionTypes); !ok {
				return row, invalid(apicall.FailInvldNetType, op, obj, fmt.Sprintf("Invalid communication type '%s'.", nif.SatelliteEncryptionType), "", "Use PLAIN or SSL.")
			}
		}
		port := *nif.SatellitePort
		row.StltConnPort, row.StltConnEncrType = &port, &enc
	}
	return row, nil
}

func (s *server) nodeJSON(n store.Node) restapi.Node {
	active := store.Key(n.Props[store.KeyCurStltConnName])
	out := restapi.Node{Name: n.NodeDspName, Type: n.NodeType, Flags: n.Flags.List(), Props: n.Props, UUID: n.UUID, ConnectionStatus: agentlink.Offline, EvictionTimestamp: n.EvictionTimestamp}
	if s.Agents != nil {
		st := s.Agents.Status(n.NodeName)
		out.ConnectionStatus = st.Connection
		if st.Connection == agentlink.Online {
			out.StorageProviders, out.ResourceLayers = st.Info.Providers, st.Info.Layers
			out.UnsupportedProviders, out.UnsupportedLayers = st.Info.UnsupportedProviders, st.Info.UnsupportedLayers
		}
	}
	for _, nif := range n.NetInterfaces {
		out.NetInterfaces = append(out.NetInterfaces, netIfJSON(nif, nif.NodeNetName == active))
	}
	return out
}

func netIfJSON(nif store.NetInterfaceRow, active bool) restapi.NetInterface {
	out := restapi.NetInterface{Name: nif.NodeNetDspName, Address: nif.InetAddress, SatellitePort: nif.StltConnPort, IsActive: active, UUID: nif.UUID}
	if nif.StltConnEncrType != nil {
		out.SatelliteEncryptionType = *nif.StltConnEncrType
	}
	return out
}

func (s *server) registerNetInterfaces(h huma.API) {
	listNetIfs := func(ctx context.Context, node, name string) ([]restapi.NetInterface, error) {
		n, err := s.Store.GetNode(ctx, node)
		if err != nil {
			return nil, err
		}
		active := store.Key(n.Props[store.KeyCurStltConnName])
		var out []restapi.NetInterface
		for _, nif := range n.NetInterfaces {
			if name == "" || nif.NodeNetName == store.Key(name) {
				out = append(out, netIfJSON(nif, nif.NodeNetName == active))
			}
		}
		return out, nil
	}
	huma.Register(h, huma.Operation{OperationID: "netinterfaceList", Method: http.MethodGet, Path: "/v1/nodes/{node}/net-interfaces", Summary: "list a node's net interfaces", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NodePath
			ListParams
		}) (*struct{ Body []restapi.NetInterface }, error) {
			out, err := listNetIfs(ctx, in.Node, "")
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct{ Body []restapi.NetInterface }{page(out, in.ListParams)}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "netinterfaceGet", Method: http.MethodGet, Path: "/v1/nodes/{node}/net-interfaces/{netinterface}", Summary: "show one net interface", Tags: []string{"developers"}},
		func(ctx context.Context, in *NetIfPath) (*struct{ Body restapi.NetInterface }, error) {
			out, err := listNetIfs(ctx, in.Node, in.NetInterface)
			if err != nil {
				return nil, notFoundOnly(err)
			}
			if len(out) == 0 {
				return nil, missing(store.KindNetInterface, "Net interface '%s' on node '%s' not found.", in.NetInterface, in.Node)
			}
			return &struct{ Body restapi.NetInterface }{out[0]}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "netinterfaceCreate", Method: http.MethodPost, Path: "/v1/nodes/{node}/net-interfaces", Summary: "create a net interface on a node", Tags: []string{"developers"}, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			NodePath
			Body restapi.NetInterface
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskNetIf
			refs := map[string]string{"Node": in.Node, "NetIf": in.Body.Name}
			row, err := netIfRow(in.Body, op, obj)
			if err != nil {
				return nil, err
			}
			row, err = s.Store.CreateNetInterface(ctx, in.Node, row, in.Body.IsActive)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Created, op, obj, fmt.Sprintf("New net interface '%s' on node '%s' created.", row.NodeNetDspName, in.Node), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "netinterfaceModified", Method: http.MethodPut, Path: "/v1/nodes/{node}/net-interfaces/{netinterface}", Summary: "modify a net interface", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			NetIfPath
			Body restapi.NetInterfaceModify
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskNetIf
			refs := map[string]string{"Node": in.Node, "NetIf": in.NetInterface}
			b := in.Body
			body := restapi.NetInterface{Name: in.NetInterface, Address: cmp.Or(b.Address, "::"), SatellitePort: b.SatellitePort, SatelliteEncryptionType: b.SatelliteEncryptionType}
			want, err := netIfRow(body, op, obj)
			if err != nil {
				return nil, err
			}
			row, err := s.Store.ModifyNetInterface(ctx, in.Node, in.NetInterface, func(r *store.NetInterfaceRow) {
				if b.Address != "" {
					r.InetAddress = want.InetAddress
				}
				if want.StltConnPort != nil {
					r.StltConnPort, r.StltConnEncrType = want.StltConnPort, want.StltConnEncrType
				}
			}, in.Body.IsActive)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Net interface '%s' on node '%s' modified.", row.NodeNetDspName, in.Node), row.UUID, refs), nil
		})
	huma.Register(h, huma.Operation{OperationID: "netinterfaceDelete", Method: http.MethodDelete, Path: "/v1/nodes/{node}/net-interfaces/{netinterface}", Summary: "delete a net interface", Tags: []string{"developers"}},
		func(ctx context.Context, in *NetIfPath) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskNetIf
			refs := map[string]string{"Node": in.Node, "NetIf": in.NetInterface}
			row, err := s.Store.DeleteNetInterface(ctx, in.Node, in.NetInterface)
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			return success(apicall.Deleted, op, obj, fmt.Sprintf("Net interface '%s' on node '%s' deleted.", row.NodeNetDspName, in.Node), row.UUID, refs), nil
		})
}
