package cli

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"strata/restapi"
)

func (a *app) backupCommand() *cobra.Command {
	c := &cobra.Command{Use: "backup", Aliases: []string{"b"}, Short: "backup commands: ship snapshots to S3 remotes and other clusters, and bring them back"}
	var full, wait bool
	// follow shows a shipment's or restore's progress until it ends, on a
	// terminal or with --wait; otherwise it answers as LINSTOR's client
	// does, once the controller accepted the request.
	follow := func(cmd *cobra.Command, path string, body any) error {
		if f, ok := cmd.ErrOrStderr().(*os.File); wait || ok && term.IsTerminal(int(f.Fd())) {
			return a.startOperation(cmd.Context(), http.MethodPost, path, body, cmd.ErrOrStderr())
		}
		return a.write(cmd.Context(), http.MethodPost, path, body)
	}
	var node, snap string
	create := verb("create REMOTE RESOURCE", "back up a resource to a remote: incremental unless -f", aliasCreate, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return follow(cmd, "/v1/remotes/"+url.PathEscape(args[0])+"/backups", restapi.BackupCreate{RscName: args[1], NodeName: node, SnapName: snap, Incremental: !full})
	})
	create.Flags().BoolVar(&wait, "wait", false, "follow the shipment until it ends (always on a terminal)")
	create.Flags().BoolVarP(&full, "full", "f", false, "a full backup, not an incremental one")
	create.Flags().StringVarP(&node, "node", "n", "", "the node to ship from, when it has a free slot")
	create.Flags().StringVarP(&snap, "snapshot", "s", "", "the snapshot to ship (taken now when it does not exist)")

	var rsc string
	list := verb("list REMOTE", "list the backups in a remote", aliasList, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		q := url.Values{}
		if rsc != "" {
			q.Set("rsc_name", rsc)
		}
		var l restapi.BackupList
		raw, err := a.get(cmd.Context(), "/v1/remotes/"+url.PathEscape(args[0])+"/backups", q, &l)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, id := range slices.Sorted(maps.Keys(l.Linstor)) {
			b := l.Linstor[id]
			state := "Failed"
			switch {
			case b.Shipping:
				state = "Shipping"
			case b.Success:
				state = "Success"
			}
			based := strings.TrimSuffix(b.BasedOnID, ".meta")
			rows = append(rows, []string{b.OriginRsc, b.OriginSnap, b.StartTime, based, state})
		}
		return a.list(raw, []string{"Resource", "Snapshot", "Start time", "Based on", "Status"}, rows)
	})
	list.Flags().StringVarP(&rsc, "resource", "r", "", "only the backups of this resource")

	var r restapi.BackupRestore
	restore := verb("restore REMOTE NODE TARGET", "restore a backup into a resource on a node (--resource for the latest of a resource, --id for one)", nil, cobra.ExactArgs(3), func(cmd *cobra.Command, args []string) error {
		r.NodeName, r.TargetRscName = args[1], args[2]
		return follow(cmd, "/v1/remotes/"+url.PathEscape(args[0])+"/backups/restore", r)
	})
	restore.Flags().BoolVar(&wait, "wait", false, "follow the restore until it ends (always on a terminal)")
	restore.Flags().StringVar(&r.SrcRscName, "resource", "", "restore the latest backup of this resource")
	restore.Flags().StringVar(&r.SrcSnapName, "snapshot", "", "restore the backup of this snapshot")
	restore.Flags().StringVar(&r.LastBackup, "id", "", "restore this backup")
	restore.Flags().BoolVar(&r.DownloadOnly, "download-only", false, "only download the backup as a snapshot")
	restore.Flags().BoolVar(&r.ForceRestore, "force-restore", false, "replace the data of the target's one diskful resource, on NODE, with the backup's")
	restore.Flags().StringToStringVar(&r.StorPoolMap, "storpool-rename", nil, "backed-up pool=pool of the node")

	var sh restapi.BackupShip
	var noIncremental bool
	ship := verb("ship REMOTE RESOURCE TARGET_RESOURCE", "ship a resource's snapshot to a LINSTOR remote (another cluster, or this one) as TARGET_RESOURCE: incremental when the target holds a base", nil, cobra.ExactArgs(3), func(cmd *cobra.Command, args []string) error {
		sh.SrcRscName, sh.DstRscName = args[1], args[2]
		if noIncremental {
			no := false
			sh.AllowIncremental = &no
		}
		return follow(cmd, "/v1/remotes/"+url.PathEscape(args[0])+"/backups/ship", sh)
	})
	ship.Flags().BoolVar(&wait, "wait", false, "follow the shipment until it ends (always on a terminal)")
	ship.Flags().StringVar(&sh.SrcNodeName, "source-node", "", "the node to ship from, when it has a free slot")
	ship.Flags().StringVar(&sh.SrcSnapName, "source-snapshot", "", "the snapshot to ship (taken now when it does not exist)")
	ship.Flags().StringVar(&sh.DstNodeName, "target-node", "", "the target cluster's node to receive on")
	ship.Flags().StringVar(&sh.DstNetIfName, "target-net-if", "", "the target node's interface to receive on")
	ship.Flags().StringVar(&sh.DstStorPool, "target-storage-pool", "", "the target node's pool for every volume")
	ship.Flags().StringToStringVar(&sh.StorPoolRename, "storpool-rename", nil, "source pool=target pool")
	ship.Flags().StringVar(&sh.DstRscGrp, "target-resource-group", "", "the resource group of the target resource, when it is created")
	ship.Flags().BoolVar(&sh.DownloadOnly, "download-only", false, "only receive the snapshot, do not restore the resource from it")
	ship.Flags().BoolVar(&sh.ForceRestore, "force-restore", false, "replace the data of the target's one diskful resource with the snapshot's")
	ship.Flags().BoolVar(&noIncremental, "full", false, "ship the whole snapshot even when the target holds a base")

	var del struct {
		id, prefix, timestamp, resource, node, s3key string
		cascading, dryrun, keepSnaps                 bool
	}
	deleteCmd := verb("delete REMOTE [all]", "delete backups from a remote (by --id, --id-prefix, --s3key, --time/--resource/--node, or all)", aliasDelete, cobra.RangeArgs(1, 2), func(cmd *cobra.Command, args []string) error {
		q := url.Values{}
		for k, v := range map[string]string{"id": del.id, "id_prefix": del.prefix, "timestamp": del.timestamp, "resource_name": del.resource, "node_name": del.node, "s3key": del.s3key} {
			if v != "" {
				q.Set(k, v)
			}
		}
		for k, v := range map[string]bool{"cascading": del.cascading, "dryrun": del.dryrun, "keep_snaps": del.keepSnaps, "all": len(args) == 2 && args[1] == "all"} {
			if v {
				q.Set(k, "True")
			}
		}
		return a.write(cmd.Context(), http.MethodDelete, "/v1/remotes/"+url.PathEscape(args[0])+"/backups?"+q.Encode(), nil)
	})
	for _, f := range []struct {
		name  string
		value *string
		usage string
	}{{"id", &del.id, "the backup's id"}, {"id-prefix", &del.prefix, "every backup whose id starts so"}, {"time", &del.timestamp, "backups started before (YYYYMMDD_HHMMSS)"},
		{"resource", &del.resource, "backups of this resource"}, {"node", &del.node, "backups shipped from this node"}, {"s3key", &del.s3key, "the backup with this key"}} {
		deleteCmd.Flags().StringVar(f.value, f.name, "", f.usage)
	}
	deleteCmd.Flags().BoolVar(&del.cascading, "cascading", false, "also the backups based on those deleted")
	deleteCmd.Flags().BoolVar(&del.dryrun, "dry-run", false, "only tell what would be deleted")
	deleteCmd.Flags().BoolVar(&del.keepSnaps, "keep-snaps", false, "keep the local snapshots")
	var info restapi.BackupInfoRequest
	infoCmd := verb("info REMOTE", "what restoring a backup takes (--resource, --snapshot or --id)", nil, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		_, raw, err := a.conn.do(cmd.Context(), http.MethodPost, "/v1/remotes/"+url.PathEscape(args[0])+"/backups/info", nil, info)
		if err != nil {
			return err
		}
		var bi restapi.BackupInfo
		if err := json.Unmarshal(raw, &bi); err != nil {
			return err
		}
		var rows [][]string
		for _, p := range bi.Storpools {
			for _, v := range p.Vlms {
				rows = append(rows, []string{bi.Rsc, bi.Latest, bi.Full, p.TargetName, v.Name, strconv.FormatInt(v.DlSizeKib, 10) + " KiB", strconv.FormatInt(p.RemainingSpaceKib, 10) + " KiB"})
			}
		}
		return a.list(raw, []string{"Resource", "Backup", "Full backup", "Pool", "Volume", "Download", "Pool free after"}, rows)
	})
	infoCmd.Flags().StringVar(&info.SrcRscName, "resource", "", "the latest backup of this resource")
	infoCmd.Flags().StringVar(&info.SrcSnapName, "snapshot", "", "the backup of this snapshot")
	infoCmd.Flags().StringVar(&info.LastBackup, "id", "", "this backup")
	infoCmd.Flags().StringVarP(&info.NodeName, "node", "n", "", "the node to restore on (its pools' free space)")

	var abortCreate, abortRestore bool
	var abortSnap string
	abort := verb("abort REMOTE RESOURCE", "abort a resource's shipments and restores (both unless --create or --restore)", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		req := restapi.BackupAbort{RscName: args[1], Snapshot: abortSnap}
		if abortCreate || abortRestore {
			req.Create, req.Restore = &abortCreate, &abortRestore
		}
		return a.write(cmd.Context(), http.MethodPost, "/v1/remotes/"+url.PathEscape(args[0])+"/backups/abort", req)
	})
	abort.Flags().BoolVar(&abortCreate, "create", false, "abort shipments")
	abort.Flags().BoolVar(&abortRestore, "restore", false, "abort the restore")
	abort.Flags().StringVarP(&abortSnap, "snapshot", "s", "", "only the shipment of this snapshot")
	var q struct {
		nodes, snapshots, resources, remotes []string
	}
	queue := verb("queue", "list the shipments waiting for a shipping slot, by node", []string{"q", "queue-list"}, cobra.NoArgs, func(cmd *cobra.Command, args []string) error {
		v := url.Values{"nodes": q.nodes, "snapshots": q.snapshots, "resources": q.resources, "remotes": q.remotes}
		var bq restapi.BackupQueues
		raw, err := a.get(cmd.Context(), "/v1/view/backup/queue", v, &bq)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, n := range bq.NodeQueues {
			for _, s := range n.Queue {
				rows = append(rows, []string{n.NodeName, s.ResourceName, s.SnapshotName, s.RemoteName, s.BasedOn, time.UnixMilli(s.StartTimestamp).Format(time.DateTime)})
			}
		}
		return a.list(raw, []string{"Node", "Resource", "Snapshot", "Remote", "Based on", "Queued since"}, rows)
	})
	queue.Flags().StringSliceVar(&q.nodes, "nodes", nil, "only these nodes")
	queue.Flags().StringSliceVar(&q.snapshots, "snapshots", nil, "only these snapshots")
	queue.Flags().StringSliceVar(&q.resources, "resources", nil, "only these resources")
	queue.Flags().StringSliceVar(&q.remotes, "remotes", nil, "only these remotes")
	c.AddCommand(create, list, restore, ship, deleteCmd, infoCmd, abort, queue, a.backupScheduleCommand())
	return c
}
