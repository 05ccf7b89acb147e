package cli

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// snapshotState is the State column of snapshot list, as LINSTOR's
// client words the flags.
func snapshotState(s restapi.Snapshot) string {
	has := func(f string) bool { return slices.Contains(s.Flags, f) }
	switch {
	case has("DELETE"):
		return "DELETING"
	case has("FAILED_DEPLOYMENT"):
		return "Failed"
	case has("FAILED_DISCONNECT"):
		return "Satellite disconnected"
	case has("SUCCESSFUL"):
		return "Successful"
	}
	return "Incomplete"
}

// snapshotCreatedOn is the CreatedOn column: the first node's time stamp.
func snapshotCreatedOn(s restapi.Snapshot) string {
	if len(s.Snapshots) == 0 || s.Snapshots[0].CreateTimestamp == 0 {
		return ""
	}
	return time.UnixMilli(s.Snapshots[0].CreateTimestamp).Format("2006-01-02 15:04:05")
}

func (a *app) snapshotCommand() *cobra.Command {
	c := &cobra.Command{Use: "snapshot", Aliases: []string{"s"}, Short: "snapshot commands"}
	rdPath := func(rd string, rest ...string) string {
		return "/v1/resource-definitions/" + pathEscape(append([]string{rd}, rest...)...)
	}
	var nodes []string
	create := verb("create RESOURCE SNAPSHOT", "take a snapshot of a resource on its diskful nodes (or --nodes)", aliasCreate, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		body := map[string]any{"name": args[1]}
		if len(nodes) > 0 {
			body["nodes"] = nodes
		}
		return a.write(cmd.Context(), http.MethodPost, rdPath(args[0], "snapshots"), body)
	})
	create.Flags().StringSliceVarP(&nodes, "nodes", "n", nil, "only on these nodes")

	var multi []string
	createMultiple := verb("create-multiple -r RESOURCE... -- SNAPSHOT", "take snapshots of several resources together (one crash-consistent group)", nil, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		if len(multi) == 0 {
			return &exitError{exitUsage, "the following arguments are required: -r/--resources"}
		}
		var snaps []map[string]any
		for _, rd := range multi {
			snaps = append(snaps, map[string]any{"name": args[0], "resource_name": rd})
		}
		return a.write(cmd.Context(), http.MethodPost, "/v1/actions/snapshot/multi", map[string]any{"snapshots": snaps})
	})
	createMultiple.Flags().StringSliceVarP(&multi, "resources", "r", nil, "the resources")

	var f listFilter
	list := verb("list", "list snapshots", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var snaps []restapi.Snapshot
		raw, err := a.get(cmd.Context(), "/v1/view/snapshots", f.query(), &snaps)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, s := range snaps {
			var sizes []string
			for _, vd := range s.VolumeDefinitions {
				sizes = append(sizes, formatKiB(vd.SizeKib))
			}
			rows = append(rows, []string{s.ResourceName, s.Name, strings.Join(s.Nodes, ", "), strings.Join(sizes, ", "), snapshotCreatedOn(s), snapshotState(s)})
		}
		return a.list(raw, []string{"ResourceName", "SnapshotName", "NodeNames", "Volumes", "CreatedOn", "State"}, rows)
	})
	a.listFlags(list, &f, true, true, false)

	var delNodes []string
	del := verb("delete RESOURCE SNAPSHOT", "delete a snapshot (on all its nodes, or --nodes)", aliasDelete, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		path := rdPath(args[0], "snapshots", args[1])
		if len(delNodes) > 0 {
			q := make([]string, len(delNodes))
			for i, n := range delNodes {
				q[i] = "nodes=" + n
			}
			path += "?" + strings.Join(q, "&")
		}
		return a.write(cmd.Context(), http.MethodDelete, path, nil)
	})
	del.Flags().StringSliceVarP(&delNodes, "nodes", "n", nil, "only on these nodes")

	rollback := verb("rollback RESOURCE SNAPSHOT", "roll a resource back to a snapshot", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, rdPath(args[0], "snapshot-rollback", args[1]), map[string]any{})
	})

	var from, snap, to string
	var restoreNodes []string
	var poolRename []string
	restoreFlags := func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&from, "from-resource", "", "the resource the snapshot is of")
		cmd.Flags().StringVar(&from, "fr", "", "the same as --from-resource")
		cmd.Flags().StringVar(&snap, "from-snapshot", "", "the snapshot")
		cmd.Flags().StringVar(&snap, "fs", "", "the same as --from-snapshot")
		cmd.Flags().StringVar(&to, "to-resource", "", "the resource definition to restore into")
		cmd.Flags().StringVar(&to, "tr", "", "the same as --to-resource")
	}
	restoreBody := func() (map[string]any, error) {
		if from == "" || snap == "" || to == "" {
			return nil, &exitError{exitUsage, "the following arguments are required: --from-resource, --from-snapshot, --to-resource"}
		}
		body := map[string]any{"to_resource": to}
		if len(restoreNodes) > 0 {
			body["nodes"] = restoreNodes
		}
		if len(poolRename) > 0 {
			rename := map[string]string{}
			for _, p := range poolRename {
				old, new, ok := strings.Cut(p, "=")
				if !ok {
					return nil, &exitError{exitUsage, "--storpool-rename takes OLD=NEW"}
				}
				rename[old] = new
			}
			body["stor_pool_rename"] = rename
		}
		return body, nil
	}
	resource := &cobra.Command{Use: "resource", Aliases: []string{"rsc", "r"}, Short: "snapshot resource commands"}
	restoreResource := verb("restore", "create the resources of a new resource definition from a snapshot", nil, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		body, err := restoreBody()
		if err != nil {
			return err
		}
		return a.write(cmd.Context(), http.MethodPost, rdPath(from, "snapshot-restore-resource", snap), body)
	})
	restoreFlags(restoreResource)
	restoreResource.Flags().StringSliceVarP(&restoreNodes, "nodes", "n", nil, "restore only on these nodes")
	restoreResource.Flags().StringSliceVar(&poolRename, "storpool-rename", nil, "use storage pool NEW for the snapshot's OLD (OLD=NEW)")
	resource.AddCommand(restoreResource)

	vd := &cobra.Command{Use: "volume-definition", Aliases: []string{"vd"}, Short: "snapshot volume-definition commands"}
	restoreVD := verb("restore", "create the volume definitions of a new resource definition from a snapshot", nil, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		body, err := restoreBody()
		if err != nil {
			return err
		}
		return a.write(cmd.Context(), http.MethodPost, rdPath(from, "snapshot-restore-volume-definition", snap), body)
	})
	restoreFlags(restoreVD)
	vd.AddCommand(restoreVD)

	c.AddCommand(create, createMultiple, list, del, rollback, resource, vd)
	return c
}
