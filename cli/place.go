package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// placeFlags are the flags of the commands that have the autoplacer
// choose nodes: the group's filter plus these override it.
type placeFlags struct {
	filterFlags
	dryRun bool
}

func (pf *placeFlags) addDryRun(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&pf.dryRun, "dry-run", false, "show where the resource would go, and change nothing")
}

// path adds ?dry_run=true to a path when asked.
func (pf *placeFlags) path(p string) string {
	if !pf.dryRun {
		return p
	}
	return p + "?" + url.Values{"dry_run": {"true"}}.Encode()
}

// parseAutoPlace reads --auto-place's value into f: a count of replicas,
// or +N more than the resource has.
func parseAutoPlace(v string, f *restapi.AutoSelectFilter) error {
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 32)
	if err != nil || n < 1 {
		return &exitError{exitUsage, fmt.Sprintf("argument --auto-place: invalid value '%s': give a number of replicas, or +1 for one more", v)}
	}
	if strings.HasPrefix(v, "+") {
		f.AdditionalPlaceCount = restapi.FlexInt(n)
	} else {
		f.PlaceCount = restapi.FlexInt(n)
	}
	return nil
}

// autoplaceBody is the AutoPlaceRequest of a filter.
func autoplaceBody(f *restapi.AutoSelectFilter) map[string]any {
	body := map[string]any{"select_filter": f}
	if f.DisklessOnRemaining != nil {
		body["diskless_on_remaining"] = *f.DisklessOnRemaining
	}
	return body
}

func (a *app) autoPlaceCommand() *cobra.Command {
	var pf placeFlags
	cmd := verb("auto-place RESOURCE", "have the autoplacer place the replicas a resource still needs", []string{"ap"}, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, pf.path(resourceDefinitionProps.path(args)+"/autoplace"), autoplaceBody(pf.filter(cmd)))
	})
	pf.add(cmd)
	pf.addDryRun(cmd)
	return cmd
}

func (a *app) spawnCommand() *cobra.Command {
	var partial, definitionsOnly bool
	var pf placeFlags
	cmd := verb("spawn-resources RESOURCE_GROUP RESOURCE [SIZE...]", "create a resource definition from the group, with a volume per size, and place it", []string{"spawn"}, cobra.MinimumNArgs(2),
		func(cmd *cobra.Command, args []string) error {
			sizes := []int64{}
			for _, s := range args[2:] {
				kib, err := parseSize(s)
				if err != nil {
					return &exitError{exitUsage, err.Error()}
				}
				sizes = append(sizes, kib)
			}
			body := map[string]any{"resource_definition_name": args[1], "volume_sizes": sizes, "partial": partial, "definitions_only": definitionsOnly,
				"select_filter": pf.filter(cmd)}
			return a.write(cmd.Context(), http.MethodPost, pf.path(resourceGroupProps.path(args[:1])+"/spawn"), body)
		})
	cmd.Flags().BoolVarP(&partial, "partial", "p", false, "allow fewer or more sizes than the group has volume groups")
	cmd.Flags().BoolVarP(&definitionsOnly, "definitions-only", "d", false, "create the definitions only, place nothing")
	pf.addDryRun(cmd)
	return cmd
}
