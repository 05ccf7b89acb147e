package cli

import (
	"net/http"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// keyValueStoreCommand is LINSTOR's key-value-store (kv): the stores
// clients keep their own state in.
func (a *app) keyValueStoreCommand() *cobra.Command {
	c := &cobra.Command{Use: "key-value-store", Aliases: []string{"kv"}, Short: "key-value store commands"}
	path := func(instance string) string { return "/v1/key-value-store/" + pathEscape(instance) }
	list := verb("list", "list the key-value stores", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var all []restapi.KeyValueStore
		raw, err := a.get(cmd.Context(), "/v1/key-value-store", nil, &all)
		if err != nil {
			return err
		}
		rows := make([][]string, len(all))
		for i, k := range all {
			rows[i] = []string{k.Name}
		}
		return a.list(raw, []string{"Name"}, rows)
	})
	show := verb("show INSTANCE", "list the keys and values of a key-value store", aliasShow, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		raw, err := a.get(cmd.Context(), path(args[0]), nil, nil)
		if err != nil {
			return err
		}
		props, err := firstProps(raw)
		if err != nil {
			return err
		}
		return a.propsTable(raw, props)
	})
	modify := verb("modify INSTANCE KEY [VALUE]", "set a key (without VALUE: delete it); the store is created by its first key and goes with its last", aliasModify,
		cobra.RangeArgs(2, 3), func(cmd *cobra.Command, args []string) error {
			change := restapi.PropsModify{DeleteProps: []string{args[1]}}
			if len(args) == 3 {
				change = restapi.PropsModify{OverrideProps: map[string]string{args[1]: args[2]}}
			}
			return a.write(cmd.Context(), http.MethodPut, path(args[0]), change)
		})
	c.AddCommand(list, show, modify)
	return c
}
