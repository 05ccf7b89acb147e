package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// completeNames gives every command that takes objects' names shell
// completion of those names, fetched from the controller: the argument
// at each position is the one its usage line names there (NODE,
// RESOURCE, POOL, RESOURCE_GROUP).
func (a *app) completeNames(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		a.completeNames(c)
	}
	if cmd.RunE == nil || cmd.ValidArgsFunction != nil {
		return
	}
	words := strings.Fields(cmd.Use)[1:]
	cmd.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(words) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		word := words[min(len(args), len(words)-1)]
		if len(args) >= len(words) && !strings.HasSuffix(word, "...]") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.names(c, strings.Trim(word, "[]."), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// nameSources are where each kind of argument's names are listed.
var nameSources = map[string]struct{ path, field string }{
	"NODE":           {"/v1/nodes", "name"},
	"NODE_A":         {"/v1/nodes", "name"},
	"NODE_B":         {"/v1/nodes", "name"},
	"RESOURCE":       {"/v1/resource-definitions", "name"},
	"POOL":           {"/v1/storage-pool-definitions", "storage_pool_name"},
	"RESOURCE_GROUP": {"/v1/resource-groups", "name"},
}

func (a *app) names(cmd *cobra.Command, kind, prefix string) []string {
	src, ok := nameSources[strings.TrimSuffix(kind, "...")]
	if !ok {
		return nil
	}
	a.conn.out, a.out.w = cmd.ErrOrStderr(), cmd.ErrOrStderr() // failures must not land among the completions
	var objs []map[string]any
	if _, err := a.get(cmd.Context(), src.path, nil, &objs); err != nil {
		return nil
	}
	var out []string
	for _, o := range objs {
		if n, ok := o[src.field].(string); ok && strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
