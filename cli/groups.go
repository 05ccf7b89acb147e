package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"strata/apicall"
	"strata/restapi"
)

// selectFilter holds the auto-select flags as they are given; filter
// makes LINSTOR's filter of them.
type selectFilter struct {
	PlaceCount           int32
	NodeNameList         []string
	StoragePoolList      []string
	NotPlaceWithRsc      []string
	NotPlaceWithRscRegex string
	ReplicasOnSame       []string
	ReplicasOnDifferent  []string
	XReplicasOnDifferent map[string]int
	ProviderList         []string
}

var (
	resourceGroupProps = propsObject{args: []string{"RESOURCE_GROUP"}, method: http.MethodPut,
		path: func(a []string) string { return "/v1/resource-groups/" + pathEscape(a[0]) }}
	volumeGroupProps = propsObject{args: []string{"RESOURCE_GROUP", "VOLUME_NR"}, method: http.MethodPut,
		path: func(a []string) string { return "/v1/resource-groups/" + pathEscape(a[0], "volume-groups", a[1]) }}
)

// filterFlags are the auto-select flags of resource-group create and
// modify; changed reports which were given.
type filterFlags struct {
	f              selectFilter
	layers         string
	disklessRemain bool
	description    string
}

func (ff *filterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.Int32Var(&ff.f.PlaceCount, "place-count", 0, "number of diskful replicas")
	fl.StringSliceVar(&ff.f.StoragePoolList, "storage-pool", nil, "storage pools to place in")
	fl.StringVarP(&ff.layers, "layer-list", "l", "", "layer stack, such as drbd,storage")
	fl.StringVar(&ff.description, "description", "", "description of the group")
	ff.addConstraints(cmd)
}

// addConstraints adds the placement rules that resource create
// --auto-place shares with resource groups.
func (ff *filterFlags) addConstraints(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&ff.f.NodeNameList, "node-list", nil, "nodes to place on")
	fl.StringSliceVar(&ff.f.ReplicasOnSame, "replicas-on-same", nil, "node properties (Aux/ keys, KEY or KEY=VALUE) that replicas share")
	fl.StringSliceVar(&ff.f.ReplicasOnDifferent, "replicas-on-different", nil, "node properties (Aux/ keys) that replicas differ in")
	fl.StringToIntVar(&ff.f.XReplicasOnDifferent, "x-replicas-on-different", nil, "KEY=N: at most N replicas per value of the node property")
	fl.StringSliceVar(&ff.f.NotPlaceWithRsc, "do-not-place-with", nil, "resources not to share a node with")
	fl.StringVar(&ff.f.NotPlaceWithRscRegex, "do-not-place-with-regex", "", "regular expression of resources not to share a node with")
	fl.StringSliceVar(&ff.f.ProviderList, "providers", nil, "storage providers to place in, such as LVM_THIN")
	fl.BoolVar(&ff.disklessRemain, "diskless-on-remaining", false, "place diskless resources on the remaining nodes")
}

func (ff *filterFlags) filter(cmd *cobra.Command) *restapi.AutoSelectFilter {
	g := ff.f
	f := restapi.AutoSelectFilter{PlaceCount: restapi.FlexInt(g.PlaceCount), NodeNameList: g.NodeNameList, StoragePoolList: g.StoragePoolList,
		NotPlaceWithRsc: g.NotPlaceWithRsc, NotPlaceWithRscRegex: g.NotPlaceWithRscRegex, ReplicasOnSame: g.ReplicasOnSame,
		ReplicasOnDifferent: g.ReplicasOnDifferent, ProviderList: g.ProviderList}
	for k, n := range g.XReplicasOnDifferent {
		if f.XReplicasOnDifferentMap == nil {
			f.XReplicasOnDifferentMap = map[string]int32{}
		}
		f.XReplicasOnDifferentMap[k] = int32(n)
	}
	if ff.layers != "" {
		f.LayerStack = strings.Split(ff.layers, ",")
	}
	if cmd.Flags().Changed("diskless-on-remaining") {
		f.DisklessOnRemaining = &ff.disklessRemain
	}
	return &f
}

func (a *app) resourceGroupCommand() *cobra.Command {
	c := &cobra.Command{Use: "resource-group", Aliases: []string{"rg"}, Short: "resource group commands"}
	var cf filterFlags
	create := verb("create RESOURCE_GROUP", "create a resource group", aliasCreate, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, "/v1/resource-groups", restapi.ResourceGroup{Name: args[0], Description: cf.description, SelectFilter: cf.filter(cmd)})
	})
	cf.add(create)
	var mf filterFlags
	modify := verb("modify RESOURCE_GROUP", "change a resource group's filter or description", aliasModify, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		body := map[string]any{"select_filter": mf.filter(cmd)}
		if cmd.Flags().Changed("description") {
			body["description"] = mf.description
		}
		return a.write(cmd.Context(), http.MethodPut, resourceGroupProps.path(args), body)
	})
	mf.add(modify)

	var f listFilter
	list := verb("list", "list resource groups", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var rgs []restapi.ResourceGroup
		q := f.query()
		for _, r := range f.resources {
			q.Add("resource_groups", r)
		}
		q.Del("resources")
		raw, err := a.get(cmd.Context(), "/v1/resource-groups", q, &rgs)
		if err != nil {
			return err
		}
		rows := make([][]string, len(rgs))
		for i, g := range rgs {
			var vgs []struct {
				VolumeNumber int32 `json:"volume_number"`
			}
			if !a.out.machine {
				if _, err := a.get(cmd.Context(), resourceGroupProps.path([]string{g.Name})+"/volume-groups", nil, &vgs); err != nil {
					return err
				}
			}
			nrs := make([]string, len(vgs))
			for j, v := range vgs {
				nrs[j] = strconv.Itoa(int(v.VolumeNumber))
			}
			rows[i] = []string{g.Name, describeFilter(g.SelectFilter), strings.Join(nrs, ","), g.Description}
		}
		return a.list(raw, []string{"ResourceGroup", "SelectFilter", "VlmNrs", "Description"}, rows)
	})
	a.listFlags(list, &f, false, true, false)
	del := verb("delete RESOURCE_GROUP", "delete a resource group", aliasDelete, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, resourceGroupProps.path(args), nil)
	})
	c.AddCommand(create, modify, list, del, a.spawnCommand(), a.querySizeInfoCommand(), a.queryMaxVolumeSizeCommand(),
		a.drbdOptionsCommand("drbd-options", "set DRBD options inherited by the group's resources", resourceGroupProps, "Net", "Disk", "PeerDevice", "Resource", "Handlers"))
	c.AddCommand(a.propsCommands(resourceGroupProps)...)
	return c
}

// describeFilter is the SelectFilter cell of resource-group list.
func describeFilter(f *restapi.AutoSelectFilter) string {
	if f == nil {
		return ""
	}
	var lines []string
	add := func(name string, v any, set bool) {
		if set {
			lines = append(lines, fmt.Sprintf("%s: %v", name, v))
		}
	}
	add("PlaceCount", f.PlaceCount, f.PlaceCount != 0)
	pools := f.StoragePoolList
	if f.StoragePool != "" {
		pools = append([]string{f.StoragePool}, pools...)
	}
	add("StoragePool(s)", strings.Join(pools, ", "), len(pools) > 0)
	add("NodeList", strings.Join(f.NodeNameList, ", "), len(f.NodeNameList) > 0)
	add("ReplicasOnSame", strings.Join(f.ReplicasOnSame, ", "), len(f.ReplicasOnSame) > 0)
	add("ReplicasOnDifferent", strings.Join(f.ReplicasOnDifferent, ", "), len(f.ReplicasOnDifferent) > 0)
	add("NotPlaceWithRsc", strings.Join(f.NotPlaceWithRsc, ", "), len(f.NotPlaceWithRsc) > 0)
	add("NotPlaceWithRscRegex", f.NotPlaceWithRscRegex, f.NotPlaceWithRscRegex != "")
	add("LayerStack", strings.Join(f.LayerStack, ", "), len(f.LayerStack) > 0)
	add("ProviderList", strings.Join(f.ProviderList, ", "), len(f.ProviderList) > 0)
	add("DisklessOnRemaining", f.DisklessOnRemaining != nil && *f.DisklessOnRemaining, f.DisklessOnRemaining != nil)
	return strings.Join(lines, "\n")
}

func (a *app) querySizeInfoCommand() *cobra.Command {
	return verb("query-size-info RESOURCE_GROUP", "the largest volume the group's next spawn can have, and where it goes", []string{"qsi"}, cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) error {
			var info struct {
				SpaceInfo *struct {
					Max   int64  `json:"max_vlm_size_in_kib"`
					Avail *int64 `json:"available_size_in_kib"`
					Cap   *int64 `json:"capacity_in_kib"`
					Next  []struct {
						Node string `json:"node_name"`
						Pool string `json:"stor_pool_name"`
					} `json:"next_spawn_result"`
				} `json:"space_info"`
				Reports []apicall.ApiCallRc `json:"reports"`
			}
			raw, err := a.query(cmd.Context(), http.MethodPost, resourceGroupProps.path(args)+"/query-size-info", nil, map[string]any{"select_filter": map[string]any{}}, &info)
			if err != nil {
				return err
			}
			if a.out.machine {
				return a.out.json(raw)
			}
			si := info.SpaceInfo
			var next []string
			for _, n := range si.Next {
				next = append(next, n.Node+" ("+n.Pool+")")
			}
			if err := a.out.table([]string{"MaxVolumeSize", "AvailableSize", "Capacity", "Next Spawn Result"},
				[][]string{{formatKiB(si.Max), optionalKiB(si.Avail), optionalKiB(si.Cap), strings.Join(next, "\n")}}); err != nil {
				return err
			}
			if len(info.Reports) > 0 {
				b, err := json.Marshal(info.Reports)
				if err != nil {
					return err
				}
				return a.out.replies(b)
			}
			return nil
		})
}

func (a *app) queryMaxVolumeSizeCommand() *cobra.Command {
	return verb("query-max-volume-size RESOURCE_GROUP", "the largest volume each storage pool name can hold for the group", []string{"qmvs"}, cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) error {
			var sizes struct {
				Candidates []struct {
					Pool    string   `json:"storage_pool"`
					Max     int64    `json:"max_volume_size_kib"`
					Nodes   []string `json:"node_names"`
					AllThin bool     `json:"all_thin"`
				} `json:"candidates"`
			}
			raw, err := a.get(cmd.Context(), resourceGroupProps.path(args)+"/query-max-volume-size", nil, &sizes)
			if err != nil {
				return err
			}
			rows := make([][]string, len(sizes.Candidates))
			for i, c := range sizes.Candidates {
				prov := "Thick"
				if c.AllThin {
					prov = "Thin"
				}
				rows[i] = []string{c.Pool, formatKiB(c.Max), prov, strings.Join(c.Nodes, ", ")}
			}
			return a.list(raw, []string{"StoragePool", "MaxVolumeSize", "Provisioning", "Nodes"}, rows)
		})
}

func (a *app) volumeGroupCommand() *cobra.Command {
	c := &cobra.Command{Use: "volume-group", Aliases: []string{"vg"}, Short: "volume group commands"}
	var nr int32 = -1
	var gross bool
	create := verb("create RESOURCE_GROUP", "add a volume group to a resource group", aliasCreate, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		body := map[string]any{}
		if nr >= 0 {
			body["volume_number"] = nr
		}
		if gross {
			body["flags"] = []string{"GROSS_SIZE"}
		}
		return a.write(cmd.Context(), http.MethodPost, resourceGroupProps.path(args)+"/volume-groups", body)
	})
	create.Flags().Int32Var(&nr, "vlmnr", -1, "volume number (default: the lowest free)")
	create.Flags().BoolVar(&gross, "gross", false, "sizes of spawned volumes include DRBD's metadata")
	list := verb("list RESOURCE_GROUP", "list a resource group's volume groups", aliasList, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		var vgs []struct {
			VolumeNumber int32    `json:"volume_number"`
			Flags        []string `json:"flags"`
		}
		raw, err := a.get(cmd.Context(), resourceGroupProps.path(args)+"/volume-groups", nil, &vgs)
		if err != nil {
			return err
		}
		rows := make([][]string, len(vgs))
		for i, v := range vgs {
			rows[i] = []string{strconv.Itoa(int(v.VolumeNumber)), strings.Join(v.Flags, ", ")}
		}
		return a.list(raw, []string{"VolumeNr", "Flags"}, rows)
	})
	del := verb("delete RESOURCE_GROUP VOLUME_NR", "delete a volume group", aliasDelete, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, volumeGroupProps.path(args), nil)
	})
	c.AddCommand(create, list, del, a.drbdOptionsCommand("drbd-options", "set DRBD disk options of the group's volumes", volumeGroupProps, "Disk", "PeerDevice"))
	c.AddCommand(a.propsCommands(volumeGroupProps)...)
	return c
}
