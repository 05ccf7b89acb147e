package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

var controllerProps = propsObject{
	path:   func([]string) string { return "/v1/controller/properties" },
	method: http.MethodPost,
	props: func(raw []byte) (map[string]string, error) {
		var m map[string]string
		return m, json.Unmarshal(raw, &m)
	},
}

func (a *app) controllerCommand() *cobra.Command {
	c := &cobra.Command{Use: "controller", Aliases: []string{"c"}, Short: "controller commands"}
	c.AddCommand(verb("version", "show the controller's version", []string{"v"}, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var v struct {
			Version        string `json:"version"`
			GitHash        string `json:"git_hash"`
			BuildTime      string `json:"build_time"`
			RestAPIVersion string `json:"rest_api_version"`
		}
		raw, err := a.get(cmd.Context(), "/v1/controller/version", nil, &v)
		if err != nil {
			return err
		}
		if a.out.machine {
			return a.out.json(raw)
		}
		_, err = fmt.Fprintf(a.out.w, "strata controller %s; GIT-hash: %s\n", v.Version, v.GitHash)
		return err
	}))
	c.AddCommand(verb("backup-db NAME", "write a consistent copy of the embedded database into the controller's backup directory", nil, cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) error {
			return a.startOperation(cmd.Context(), http.MethodPost, "/v1/controller/backup/db", map[string]string{"backup_name": args[0]}, cmd.ErrOrStderr())
		}))
	c.AddCommand(verb("set-log-level LEVEL", "change the controller's log level at run time (ERROR, WARN, INFO, DEBUG, TRACE)", nil, cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) error {
			return a.write(cmd.Context(), http.MethodPut, "/v1/controller/config", map[string]any{"log": map[string]string{"level_linstor": strings.ToUpper(args[0])}})
		}))
	// The controller's property commands take the key right away.
	props := controllerProps
	c.AddCommand(a.propsCommands(props)...)
	c.AddCommand(a.drbdOptionsCommand("drbd-options", "set the controller's DRBD options, inherited by every resource", props, "Net", "Disk", "PeerDevice", "Resource", "Handlers"))
	return c
}
