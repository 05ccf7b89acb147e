package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// The providers and layers node info shows, in LINSTOR's order.
var (
	infoProviders = []string{"DISKLESS", "LVM", "LVM_THIN", "ZFS", "ZFS_THIN", "FILE", "FILE_THIN", "SPDK", "REMOTE_SPDK", "EXOS"}
	infoLayers    = []string{"DRBD", "LUKS", "NVME", "CACHE", "BCACHE", "WRITECACHE", "STORAGE"}
)

var nodeProps = propsObject{args: []string{"NODE"}, method: http.MethodPut, path: func(a []string) string { return "/v1/nodes/" + pathEscape(a[0]) }}

// listFilter holds the filters of LINSTOR's list commands.
type listFilter struct {
	nodes, resources, pools, props []string
}

func (f *listFilter) query() url.Values {
	q := url.Values{}
	for key, vals := range map[string][]string{"nodes": f.nodes, "resources": f.resources, "storage_pools": f.pools, "props": f.props} {
		for _, v := range vals {
			q.Add(key, v)
		}
	}
	return q
}

func (a *app) listFlags(cmd *cobra.Command, f *listFilter, nodes, resources, pools bool) {
	if nodes {
		cmd.Flags().StringSliceVarP(&f.nodes, "nodes", "n", nil, "only these nodes")
	}
	if resources {
		cmd.Flags().StringSliceVarP(&f.resources, "resources", "r", nil, "only these resources")
	}
	if pools {
		cmd.Flags().StringSliceVarP(&f.pools, "storage-pools", "s", nil, "only these storage pools")
	}
	cmd.Flags().StringArrayVar(&f.props, "props", nil, "only objects with these properties (KEY=VALUE or KEY)")
	cmd.Flags().StringSliceVarP(&a.out.groupBy, "groupby", "g", nil, "sort the rows by these columns")
}

func (a *app) nodeCommand() *cobra.Command {
	c := &cobra.Command{Use: "node", Aliases: []string{"n"}, Short: "node commands"}

	var nodeType, commType string
	var port int32
	create := verb("create NODE [IP]", "register a node (IP: resolved from its name when left out)", aliasCreate, cobra.RangeArgs(1, 2),
		func(cmd *cobra.Command, args []string) error {
			ip := ""
			if len(args) == 2 {
				ip = args[1]
			} else {
				addrs, err := net.LookupHost(args[0])
				if err != nil || len(addrs) == 0 {
					return &exitError{exitUsage, fmt.Sprintf("Unable to resolve the IP address of '%s': give it, as in: strata node create %s 10.0.0.1", args[0], args[0])}
				}
				ip = addrs[0]
			}
			if port == 0 {
				port = 3366
				if strings.EqualFold(commType, "ssl") {
					port = 3367
				}
			}
			return a.write(cmd.Context(), http.MethodPost, "/v1/nodes", restapi.Node{Name: args[0], Type: nodeType,
				NetInterfaces: []restapi.NetInterface{{Name: "default", Address: ip, SatellitePort: &port, SatelliteEncryptionType: commType, IsActive: true}}})
		})
	create.Flags().StringVar(&nodeType, "node-type", "satellite", "controller, satellite, combined or auxiliary")
	create.Flags().StringVar(&commType, "communication-type", "plain", "plain or ssl")
	create.Flags().Int32VarP(&port, "port", "p", 0, "the agent's port (default 3366, 3367 with ssl)")

	var f listFilter
	list := verb("list", "list nodes", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var nodes []restapi.Node
		raw, err := a.get(cmd.Context(), "/v1/nodes", f.query(), &nodes)
		if err != nil {
			return err
		}
		rows := make([][]string, len(nodes))
		timers := slices.ContainsFunc(nodes, func(n restapi.Node) bool { return n.EvictionTimestamp != nil })
		for i, n := range nodes {
			rows[i] = []string{n.Name, n.Type, nodeAddresses(n), nodeState(n) + autoEviction(n, timers)}
		}
		return a.list(raw, []string{"Node", "NodeType", "Addresses", "State"}, rows)
	})
	a.listFlags(list, &f, true, false, false)

	var newType string
	modify := verb("modify NODE", "change a node's type", aliasModify, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPut, nodeProps.path(args), map[string]string{"node_type": newType})
	})
	modify.Flags().StringVar(&newType, "node-type", "", "controller, satellite, combined or auxiliary")
	_ = modify.MarkFlagRequired("node-type")

	perNode := func(use, short string, aliases []string, method, suffix string, body any) *cobra.Command {
		return verb(use+" NODE", short, aliases, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
			return a.write(cmd.Context(), method, nodeProps.path(args)+suffix, body)
		})
	}
	info := verb("info", "show which storage providers and layers each node serves, and why not the others", []string{"i"}, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var nodes []restapi.Node
		raw, err := a.get(cmd.Context(), "/v1/nodes", f.query(), &nodes)
		if err != nil {
			return err
		}
		if a.out.machine {
			return a.out.json(raw)
		}
		var provRows, layerRows, why [][]string
		for _, n := range nodes {
			provRows = append(provRows, supportRow(n.Name, infoProviders, n.StorageProviders))
			layerRows = append(layerRows, supportRow(n.Name, infoLayers, n.ResourceLayers))
			for _, m := range []map[string][]string{n.UnsupportedProviders, n.UnsupportedLayers} {
				for _, k := range sortedKeys(m) {
					why = append(why, []string{n.Name, k, strings.Join(m[k], "; ")})
				}
			}
		}
		fmt.Fprintln(a.out.w, "Supported storage providers: [+/-]")
		if err := a.out.table(append([]string{"Node"}, infoProviders...), provRows); err != nil {
			return err
		}
		fmt.Fprintln(a.out.w, "Supported resource layers: [+/-]")
		if err := a.out.table(append([]string{"Node"}, infoLayers...), layerRows); err != nil {
			return err
		}
		if len(why) == 0 {
			return nil
		}
		fmt.Fprintln(a.out.w, "Unsupported storage providers and layers:")
		return a.out.table([]string{"Node", "Provider/Layer", "Reason"}, why)
	})
	a.listFlags(info, &f, true, false, false)

	c.AddCommand(create, list, info, modify,
		perNode("delete", "delete a node with its storage pools and resources", aliasDelete, http.MethodDelete, "", nil),
		perNode("lost", "delete a node that will not come back", nil, http.MethodDelete, "/lost", nil),
		perNode("reconnect", "reconnect the controller to a node", nil, http.MethodPut, "/reconnect", nil),
		a.nodeRestoreCommand(), a.nodeEvacuateCommand(),
		verb("set-log-level NODE LEVEL", "change a node's agent's log level at run time (ERROR, WARN, INFO, DEBUG, TRACE)", nil, cobra.ExactArgs(2),
			func(cmd *cobra.Command, args []string) error {
				return a.write(cmd.Context(), http.MethodPut, "/v1/nodes/"+pathEscape(args[0])+"/config", map[string]any{"log": map[string]string{"level": strings.ToUpper(args[1])}})
			}),
		a.netInterfaceCommand())
	c.AddCommand(a.propsCommands(nodeProps)...)
	return c
}

// nodeAddresses shows the interface the controller uses, as LINSTOR does.
func nodeAddresses(n restapi.Node) string {
	for _, nif := range n.NetInterfaces {
		if nif.IsActive || len(n.NetInterfaces) == 1 {
			s := nif.Address
			if nif.SatellitePort != nil {
				s += fmt.Sprintf(":%d", *nif.SatellitePort)
			}
			if nif.SatelliteEncryptionType != "" {
				s += " (" + strings.ToUpper(nif.SatelliteEncryptionType) + ")"
			}
			return s
		}
	}
	return ""
}

// nodeState is the State column of node list, as LINSTOR's client shows
// it: a node's EVICTED, DELETE or EVACUATE flag before its connection.
func nodeState(n restapi.Node) string {
	for _, f := range []string{"EVICTED", "DELETE", "EVACUATE"} {
		if slices.Contains(n.Flags, f) {
			return f
		}
	}
	switch strings.ToUpper(n.ConnectionStatus) {
	case "ONLINE":
		return "Online"
	case "VERSION_MISMATCH":
		return "OFFLINE(VERSION_MISMATCH)"
	case "":
		return "Unknown"
	}
	return "OFFLINE"
}

// autoEviction is what LINSTOR's client adds to an offline node's state
// once any node's auto-evict timer runs: when this one is evicted, or
// that it is not.
func autoEviction(n restapi.Node, timers bool) string {
	if !timers || nodeState(n) != "OFFLINE" {
		return ""
	}
	if n.EvictionTimestamp == nil {
		return " (Auto-eviction at Disabled)"
	}
	return " (Auto-eviction at " + time.UnixMilli(*n.EvictionTimestamp).Local().Format("2006-01-02 15:04:05") + ")"
}

func (a *app) netInterfaceCommand() *cobra.Command {
	c := &cobra.Command{Use: "interface", Aliases: []string{"i"}, Short: "net interfaces of a node"}
	var port int32
	var commType string
	var active bool
	nif := func(name, ip string) restapi.NetInterface {
		nif := restapi.NetInterface{Name: name, Address: ip, SatelliteEncryptionType: commType, IsActive: active}
		if port != 0 {
			nif.SatellitePort = &port
		}
		return nif
	}
	create := verb("create NODE NAME IP", "add a net interface to a node", aliasCreate, cobra.ExactArgs(3), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, nodeProps.path(args)+"/net-interfaces", nif(args[1], args[2]))
	})
	var ip string
	modify := verb("modify NODE NAME", "change a net interface; --active makes it the controller's link", aliasModify, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		if ip == "" {
			var cur restapi.NetInterface
			if _, err := a.get(cmd.Context(), nodeProps.path(args)+"/net-interfaces/"+pathEscape(args[1]), nil, &cur); err != nil {
				return err
			}
			ip = cur.Address
		}
		return a.write(cmd.Context(), http.MethodPut, nodeProps.path(args)+"/net-interfaces/"+pathEscape(args[1]), nif(args[1], ip))
	})
	modify.Flags().StringVar(&ip, "ip", "", "new IP address")
	for _, cmd := range []*cobra.Command{create, modify} {
		cmd.Flags().Int32VarP(&port, "port", "p", 0, "the agent's port on this interface")
		cmd.Flags().StringVar(&commType, "communication-type", "", "plain or ssl")
		cmd.Flags().BoolVar(&active, "active", false, "make it the interface the controller reaches the node through")
	}
	list := verb("list NODE", "list a node's net interfaces", aliasList, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		var nifs []restapi.NetInterface
		raw, err := a.get(cmd.Context(), nodeProps.path(args)+"/net-interfaces", nil, &nifs)
		if err != nil {
			return err
		}
		rows := make([][]string, len(nifs))
		for i, n := range nifs {
			port := ""
			if n.SatellitePort != nil {
				port = fmt.Sprintf("%d (%s)", *n.SatellitePort, strings.ToUpper(n.SatelliteEncryptionType))
			}
			rows[i] = []string{n.Name, n.Address, port, yesNo(n.IsActive)}
		}
		return a.list(raw, []string{"Name", "IP", "Port", "Active"}, rows)
	})
	del := verb("delete NODE NAME", "delete a net interface", aliasDelete, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, nodeProps.path(args)+"/net-interfaces/"+pathEscape(args[1]), nil)
	})
	c.AddCommand(create, list, modify, del)
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// supportRow marks each of all with + when have holds it, - otherwise.
func supportRow(name string, all, have []string) []string {
	row := []string{name}
	for _, k := range all {
		mark := "-"
		if slices.Contains(have, k) {
			mark = "+"
		}
		row = append(row, mark)
	}
	return row
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nodeEvacuateCommand moves every resource off a node, following the
// evacuation with a progress display.
func (a *app) nodeEvacuateCommand() *cobra.Command {
	var target, doNotTarget []string
	c := verb("evacuate NODE", "move every resource off a node (it stays EVACUATE until node delete or node restore)", nil, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		body := map[string][]string{}
		if len(target) > 0 {
			body["target"] = target
		}
		if len(doNotTarget) > 0 {
			body["do_not_target"] = doNotTarget
		}
		return a.startOperation(cmd.Context(), http.MethodPut, "/v1/nodes/"+pathEscape(args[0])+"/evacuate", body, cmd.ErrOrStderr())
	})
	c.Flags().StringSliceVar(&target, "target", nil, "move the resources to these nodes only")
	c.Flags().StringSliceVar(&doNotTarget, "do-not-target", nil, "never move the resources to these nodes")
	return c
}

// nodeRestoreCommand ends a node's eviction or evacuation.
func (a *app) nodeRestoreCommand() *cobra.Command {
	var deleteResources, deleteSnapshots bool
	c := verb("restore NODE", "restore an evicted or evacuated node", nil, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		body := map[string]bool{}
		if deleteResources {
			body["delete_resources"] = true
		}
		if deleteSnapshots {
			body["delete_snapshots"] = true
		}
		return a.write(cmd.Context(), http.MethodPut, "/v1/nodes/"+pathEscape(args[0])+"/restore", body)
	})
	c.Flags().BoolVar(&deleteResources, "delete-resources", false, "delete the node's resources (but the last diskful one of each definition)")
	c.Flags().BoolVar(&deleteSnapshots, "delete-snapshots", false, "delete the node's snapshots")
	return c
}
