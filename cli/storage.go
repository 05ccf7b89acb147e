package cli

import (
	"net/http"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// providerKinds maps the kinds storage-pool create takes to LINSTOR's
// provider kinds.
var providerKinds = map[string]string{
	"lvm": "LVM", "lvmthin": "LVM_THIN", "zfs": "ZFS", "zfsthin": "ZFS_THIN", "file": "FILE", "filethin": "FILE_THIN",
	"diskless": "DISKLESS", "spdk": "SPDK", "remotespdk": "REMOTE_SPDK", "openflex": "OPENFLEX_TARGET", "exos": "EXOS",
}

var (
	storagePoolProps = propsObject{args: []string{"NODE", "POOL"}, method: http.MethodPut,
		path: func(a []string) string { return "/v1/nodes/" + pathEscape(a[0], "storage-pools", a[1]) }}
	storagePoolDefinitionProps = propsObject{args: []string{"POOL"}, method: http.MethodPut,
		path: func(a []string) string { return "/v1/storage-pool-definitions/" + pathEscape(a[0]) }}
)

func (a *app) storagePoolCommand() *cobra.Command {
	c := &cobra.Command{Use: "storage-pool", Aliases: []string{"sp"}, Short: "storage pool commands"}
	create := &cobra.Command{Use: "create", Aliases: aliasCreate, Short: "create a storage pool on a node"}
	var shared string
	var locking bool
	for kind, provider := range providerKinds {
		use, nargs := kind+" NODE POOL DRIVER_POOL", 3
		short := "create a " + provider + " storage pool (DRIVER_POOL: volume group, vg/thinpool, zpool or directory)"
		if provider == "DISKLESS" {
			use, nargs, short = kind+" NODE POOL", 2, "create a diskless storage pool"
		}
		cmd := verb(use, short, nil, cobra.ExactArgs(nargs), func(cmd *cobra.Command, args []string) error {
			sp := restapi.StoragePool{StoragePoolName: args[1], ProviderKind: provider, SharedSpace: shared, ExternalLocking: locking}
			if len(args) == 3 {
				sp.Props = map[string]string{"StorDriver/StorPoolName": args[2]}
			}
			return a.write(cmd.Context(), http.MethodPost, "/v1/nodes/"+pathEscape(args[0])+"/storage-pools", sp)
		})
		cmd.Flags().StringVar(&shared, "shared-space", "", "name of the space this pool shares with pools on other nodes")
		cmd.Flags().BoolVar(&locking, "external-locking", false, "the shared storage is locked outside LINSTOR")
		create.AddCommand(cmd)
	}

	var f listFilter
	list := verb("list", "list storage pools", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var pools []restapi.StoragePool
		raw, err := a.get(cmd.Context(), "/v1/view/storage-pools", f.query(), &pools)
		if err != nil {
			return err
		}
		rows := make([][]string, len(pools))
		for i, p := range pools {
			rows[i] = []string{p.StoragePoolName, p.NodeName, p.ProviderKind, p.Props["StorDriver/StorPoolName"],
				optionalKiB(p.FreeCapacity), optionalKiB(p.TotalCapacity), titleBool(p.SupportsSnapshots), poolState(p), p.SharedSpace}
		}
		return a.list(raw, []string{"StoragePool", "Node", "Driver", "PoolName", "FreeCapacity", "TotalCapacity", "CanSnapshots", "State", "SharedName"}, rows)
	})
	a.listFlags(list, &f, true, false, true)
	del := verb("delete NODE POOL", "delete a storage pool", aliasDelete, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, storagePoolProps.path(args), nil)
	})
	c.AddCommand(create, list, del)
	c.AddCommand(a.propsCommands(storagePoolProps)...)
	return c
}

func optionalKiB(kib *int64) string {
	if kib == nil {
		return ""
	}
	return formatKiB(*kib)
}

// titleBool prints a boolean as LINSTOR's tables do.
func titleBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// poolState is Ok, Warning or Error from the pool's reports; a pool whose
// node has not reported its capacity yet is Unknown.
func poolState(p restapi.StoragePool) string {
	state := "Ok"
	for _, rc := range p.Reports {
		switch rc.Severity() {
		case "ERROR":
			return "Error"
		case "WARNING":
			state = "Warning"
		}
	}
	if p.ProviderKind != "DISKLESS" && p.TotalCapacity == nil && state == "Ok" {
		return "Unknown"
	}
	return state
}

func (a *app) storagePoolDefinitionCommand() *cobra.Command {
	c := &cobra.Command{Use: "storage-pool-definition", Aliases: []string{"spd"}, Short: "storage pool definition commands"}
	create := verb("create POOL", "create a storage pool definition", aliasCreate, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, "/v1/storage-pool-definitions", map[string]string{"storage_pool_name": args[0]})
	})
	var f listFilter
	list := verb("list", "list storage pool definitions", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var spds []struct {
			Name  string            `json:"storage_pool_name"`
			Props map[string]string `json:"props"`
		}
		raw, err := a.get(cmd.Context(), "/v1/storage-pool-definitions", f.query(), &spds)
		if err != nil {
			return err
		}
		rows := make([][]string, len(spds))
		for i, d := range spds {
			rows[i] = []string{d.Name}
		}
		return a.list(raw, []string{"StoragePool"}, rows)
	})
	a.listFlags(list, &f, false, false, false)
	del := verb("delete POOL", "delete a storage pool definition", aliasDelete, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, storagePoolDefinitionProps.path(args), nil)
	})
	c.AddCommand(create, list, del)
	c.AddCommand(a.propsCommands(storagePoolDefinitionProps)...)
	return c
}
