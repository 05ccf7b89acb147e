package cli

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// fileCommand is LINSTOR's file (f): external files, written by the
// agents of the nodes holding a resource of the definitions they are
// deployed with.
func (a *app) fileCommand() *cobra.Command {
	c := &cobra.Command{Use: "file", Aliases: []string{"f"}, Short: "external file commands"}
	path := func(file string) string { return "/v1/files/" + pathEscape(file) }
	list := verb("list", "list the external files", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var all []restapi.ExternalFile
		raw, err := a.get(cmd.Context(), "/v1/files", nil, &all)
		if err != nil {
			return err
		}
		rows := make([][]string, len(all))
		for i, f := range all {
			rows[i] = []string{f.Path}
		}
		return a.list(raw, []string{"Path"}, rows)
	})
	show := verb("show FILE", "print an external file's content", aliasShow, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		var f restapi.ExternalFile
		if _, err := a.get(cmd.Context(), path(args[0]), nil, &f); err != nil {
			return err
		}
		content, err := base64.StdEncoding.DecodeString(f.Content)
		if err != nil {
			return fmt.Errorf("the content of %s is not base64: %w", args[0], err)
		}
		_, err = cmd.OutOrStdout().Write(content)
		return err
	})
	modify := verb("modify FILE", "register an external file or change its content, read from standard input", aliasModify, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		content, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return err
		}
		return a.write(cmd.Context(), http.MethodPut, path(args[0]), restapi.ExternalFile{Path: args[0], Content: base64.StdEncoding.EncodeToString(content)})
	})
	del := verb("delete FILE", "delete an external file from the nodes and the cluster", aliasDelete, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, path(args[0]), nil)
	})
	deployed := func(use, short string, method string) *cobra.Command {
		return verb(use+" FILE RESOURCE", short, nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
			return a.write(cmd.Context(), method, "/v1/resource-definitions/"+pathEscape(args[1])+"/files/"+pathEscape(args[0]), nil)
		})
	}
	c.AddCommand(list, show, modify, del,
		deployed("deploy", "deploy an external file with a resource definition", http.MethodPost),
		deployed("undeploy", "stop deploying an external file with a resource definition", http.MethodDelete))
	return c
}
