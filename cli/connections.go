package cli

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"strata/restapi"
)

var (
	nodeConnectionProps = propsObject{args: []string{"NODE_A", "NODE_B"}, method: http.MethodPut,
		path:  func(a []string) string { return "/v1/node-connections/" + pathEscape(a[0], a[1]) },
		props: firstProps}
	resourceConnectionProps = propsObject{args: []string{"NODE_A", "NODE_B", "RESOURCE"}, method: http.MethodPut,
		path: func(a []string) string {
			return "/v1/resource-definitions/" + pathEscape(a[2], "resource-connections", a[0], a[1])
		}}
)

// connectionRows are the rows of a connection list: the nodes and the
// properties set on the connection.
func connectionRows(conns []restapi.Connection) [][]string {
	rows := make([][]string, len(conns))
	for i, c := range conns {
		var props []string
		for k, v := range c.Props {
			props = append(props, k+"="+v)
		}
		slices.Sort(props)
		rows[i] = []string{c.NodeA, c.NodeB, strings.Join(props, "\n")}
	}
	return rows
}

func (a *app) nodeConnectionCommand() *cobra.Command {
	c := &cobra.Command{Use: "node-connection", Aliases: []string{"nc"}, Short: "node connection commands"}
	list := verb("list [NODE_A [NODE_B]]", "list node connections", aliasList, cobra.MaximumNArgs(2), func(cmd *cobra.Command, args []string) error {
		q := url.Values{}
		for i, key := range []string{"node_a", "node_b"} {
			if i < len(args) {
				q.Set(key, args[i])
			}
		}
		var conns []restapi.Connection
		raw, err := a.get(cmd.Context(), "/v1/node-connections", q, &conns)
		if err != nil {
			return err
		}
		return a.list(raw, []string{"Node A", "Node B", "Properties"}, connectionRows(conns))
	})
	c.AddCommand(list, a.drbdOptionsCommand("drbd-peer-options", "set DRBD options of the connections between two nodes", nodeConnectionProps, "Net", "PeerDevice"))
	c.AddCommand(a.propsCommands(nodeConnectionProps)...)
	return c
}

func (a *app) resourceConnectionCommand() *cobra.Command {
	c := &cobra.Command{Use: "resource-connection", Aliases: []string{"rc"}, Short: "resource connection commands"}
	list := verb("list RESOURCE", "list a resource's connections", aliasList, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		var conns []restapi.Connection
		raw, err := a.get(cmd.Context(), resourceDefinitionProps.path(args)+"/resource-connections", nil, &conns)
		if err != nil {
			return err
		}
		return a.list(raw, []string{"Node A", "Node B", "Properties"}, connectionRows(conns))
	})
	c.AddCommand(list, a.drbdOptionsCommand("drbd-peer-options", "set DRBD options of a resource's connection between two nodes", resourceConnectionProps, "Net", "PeerDevice"))
	c.AddCommand(a.propsCommands(resourceConnectionProps)...)
	return c
}
