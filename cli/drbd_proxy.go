package cli

import (
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// drbdProxyCompressionOptions are the options of each compression
// plug-in of DRBD Proxy, as LINSTOR's client offers them.
var drbdProxyCompressionOptions = map[string][]string{
	"none": nil,
	"zlib": {"level"},
	"lz4":  nil,
	"zstd": {"level"},
	"lzma": {"level", "contexts", "depth", "dict-size", "fallback-to-zlib", "lc", "lp", "mf", "mode", "nice-len", "numa-threshold", "pb"},
}

// drbdProxyCommand is LINSTOR's drbd-proxy (proxy): connections through
// DRBD Proxy, its options and its compression.
func (a *app) drbdProxyCommand() *cobra.Command {
	c := &cobra.Command{Use: "drbd-proxy", Aliases: []string{"proxy"}, Short: "DRBD Proxy commands"}
	toggle := func(verbName, short string) *cobra.Command {
		var port int32
		cmd := verb(verbName+" NODE_A NODE_B RESOURCE", short, nil, cobra.ExactArgs(3), func(cmd *cobra.Command, args []string) error {
			var body restapi.DrbdProxyEnable
			if cmd.Flags().Changed("port") {
				body.Port = &port
			}
			return a.write(cmd.Context(), http.MethodPost, "/v1/resource-definitions/"+pathEscape(args[2], "drbd-proxy", verbName, args[0], args[1]), body)
		})
		if verbName == "enable" {
			cmd.Flags().Int32VarP(&port, "port", "p", 0, "the port of the proxied connection (default: one of TcpPortAutoRange)")
		}
		return cmd
	}
	proxyProps := propsObject{args: []string{"RESOURCE"}, method: http.MethodPut,
		path: func(a []string) string { return "/v1/resource-definitions/" + pathEscape(a[0], "drbd-proxy") }}
	options := a.drbdOptionsCommand("options", "set DRBD Proxy options of a resource definition", proxyProps, "Proxy")
	compression := &cobra.Command{Use: "compression", Short: "set the compression of DRBD Proxy for a resource definition"}
	for _, typ := range []string{"none", "zlib", "lzma", "lz4", "zstd"} {
		values := map[string]*string{}
		cmd := verb(typ+" RESOURCE", "compress with "+typ, nil, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
			props := map[string]string{}
			for name, v := range values {
				if cmd.Flags().Changed(name) {
					props[name] = *v
				}
			}
			return a.write(cmd.Context(), http.MethodPut, "/v1/resource-definitions/"+pathEscape(args[0], "drbd-proxy"),
				restapi.DrbdProxyModify{CompressionType: &typ, CompressionProps: props})
		})
		for _, name := range drbdProxyCompressionOptions[typ] {
			values[name] = cmd.Flags().String(name, "", typ+" option "+strings.ReplaceAll(name, "-", " "))
		}
		compression.AddCommand(cmd)
	}
	c.AddCommand(toggle("enable", "run the connection of a resource between two nodes through DRBD Proxy"),
		toggle("disable", "stop running a connection through DRBD Proxy"), options, compression)
	return c
}
