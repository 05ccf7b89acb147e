package cli

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// devicePoolKinds are the kinds create-device-pool takes, as LINSTOR's
// client spells them.
var devicePoolKinds = map[string]string{"LVM": "LVM", "LVMTHIN": "LVM_THIN", "ZFS": "ZFS", "ZFSTHIN": "ZFS_THIN"}

func (a *app) physicalStorageCommand() *cobra.Command {
	c := &cobra.Command{Use: "physical-storage", Aliases: []string{"ps"}, Short: "unused disks of the nodes, and device pools on them"}
	list := verb("list", "list unused disks (over 1 GiB, no partitions, no file system or signature, not DRBD), grouped by size and kind", aliasList, cobra.NoArgs,
		func(cmd *cobra.Command, _ []string) error {
			var groups []restapi.PhysicalStorage
			raw, err := a.get(cmd.Context(), "/v1/physical-storage", nil, &groups)
			if err != nil {
				return err
			}
			rows := make([][]string, len(groups))
			for i, g := range groups {
				var nodes []string
				for node, devs := range g.Nodes {
					paths := make([]string, len(devs))
					for j, d := range devs {
						paths[j] = d.Device
					}
					nodes = append(nodes, fmt.Sprintf("%s[%s]", node, strings.Join(paths, ",")))
				}
				sort.Strings(nodes)
				rows[i] = []string{formatKiB(g.Size / 1024), titleBool(g.Rotational), strings.Join(nodes, "\n")}
			}
			return a.list(raw, []string{"Size", "Rotational", "Nodes"}, rows)
		})
	var poolName, storagePool string
	create := verb("create-device-pool PROVIDER_KIND NODE DEVICE...", "create an LVM, LVM-thin or ZFS pool on unused disks (PROVIDER_KIND: LVM, LVMTHIN, ZFS, ZFSTHIN)", []string{"cdp"}, cobra.MinimumNArgs(3),
		func(cmd *cobra.Command, args []string) error {
			kind, ok := devicePoolKinds[strings.ToUpper(args[0])]
			if !ok {
				return &exitError{exitUsage, fmt.Sprintf("argument provider_kind: invalid choice: '%s' (choose from 'LVM', 'LVMTHIN', 'ZFS', 'ZFSTHIN')", args[0])}
			}
			body := map[string]any{"provider_kind": kind, "device_paths": args[2:], "pool_name": poolName}
			if storagePool != "" {
				body["with_storage_pool"] = map[string]any{"name": storagePool}
			}
			return a.write(cmd.Context(), http.MethodPost, "/v1/physical-storage/"+pathEscape(args[1]), body)
		})
	create.Flags().StringVar(&poolName, "pool-name", "", "name of the volume group, thin pool or zpool to create")
	create.Flags().StringVar(&storagePool, "storage-pool", "", "also create a storage pool of this name on it")
	_ = create.MarkFlagRequired("pool-name")
	c.AddCommand(list, create)
	return c
}
