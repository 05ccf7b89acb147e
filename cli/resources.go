package cli

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strata/restapi"
)

var resourceProps = propsObject{args: []string{"NODE", "RESOURCE"}, method: http.MethodPut,
	path: func(a []string) string { return "/v1/resource-definitions/" + pathEscape(a[1], "resources", a[0]) }}

func isDiskless(r restapi.ResourceWithVolumes) bool {
	return slices.ContainsFunc(r.Flags, func(f string) bool { return f == "DISKLESS" || f == "DRBD_DISKLESS" || f == "NVME_INITIATOR" })
}

func resourceUsage(r restapi.ResourceWithVolumes) string {
	switch {
	case r.State == nil || r.State.InUse == nil:
		return ""
	case *r.State.InUse:
		return "InUse"
	}
	return "Unused"
}

// resourceConns is the Conns column: Ok when DRBD is connected to every peer, or
// the connections that are not, as LINSTOR shows them (Connecting(bravo));
// Ok for a resource its agent made without DRBD, which has no peers;
// Unknown until the agent reports.
func resourceConns(r restapi.ResourceWithVolumes) string {
	if r.LayerObject != nil && r.LayerObject.Drbd != nil {
		var bad []string
		for peer, c := range r.LayerObject.Drbd.Connections {
			if !c.Connected {
				bad = append(bad, fmt.Sprintf("%s(%s)", c.Message, peer))
			}
		}
		if len(bad) == 0 {
			return "Ok"
		}
		slices.Sort(bad)
		return strings.Join(bad, ",")
	}
	if len(r.Volumes) == 0 {
		return "Unknown"
	}
	for _, v := range r.Volumes {
		if len(v.LayerDataList) == 0 || slices.ContainsFunc(v.LayerDataList, func(l restapi.VolumeLayer) bool { return l.Type == "DRBD" }) {
			return "Unknown"
		}
	}
	return "Ok"
}

// resourceState is the disk state of the resource's volumes as its agent reports
// it; Unknown until it does.
func resourceState(r restapi.ResourceWithVolumes) string {
	switch {
	case slices.Contains(r.Flags, "DELETE"):
		return "DELETING"
	case slices.Contains(r.Flags, "TIE_BREAKER"):
		return "TieBreaker"
	case slices.Contains(r.Flags, "INACTIVE"):
		return "INACTIVE"
	}
	if isDiskless(r) {
		return "Diskless"
	}
	states := map[string]bool{}
	for _, v := range r.Volumes {
		if v.State != nil && v.State.DiskState != "" {
			states[v.State.DiskState] = true
		}
	}
	if len(states) != 1 {
		return "Unknown"
	}
	for s := range states {
		return s
	}
	return "Unknown"
}

func (a *app) resourceCommand() *cobra.Command {
	c := &cobra.Command{Use: "resource", Aliases: []string{"r"}, Short: "resource commands"}
	var pool, layers, autoPlace string
	var diskless, nvmeInitiator bool
	var nodeID int32
	var pf placeFlags
	create := verb("create [NODE...] RESOURCE", "create a resource on nodes, or where the autoplacer chooses (--auto-place)", aliasCreate, cobra.MinimumNArgs(1), func(cmd *cobra.Command, args []string) error {
		rd, nodes := args[len(args)-1], args[:len(args)-1]
		if autoPlace != "" {
			if len(nodes) > 0 {
				return &exitError{exitUsage, "argument --auto-place: not allowed with node names"}
			}
			f := pf.filter(cmd)
			if err := parseAutoPlace(autoPlace, f); err != nil {
				return err
			}
			if pool != "" {
				f.StoragePool = pool
			}
			if layers != "" {
				f.LayerStack = strings.Split(strings.ToUpper(layers), ",")
			}
			return a.write(cmd.Context(), http.MethodPost, pf.path(resourceDefinitionProps.path([]string{rd})+"/autoplace"), autoplaceBody(f))
		}
		if len(nodes) == 0 {
			return &exitError{exitUsage, "the following arguments are required: node_name (or --auto-place)"}
		}
		var body []map[string]any
		for _, n := range nodes {
			r := map[string]any{"node_name": n}
			if pool != "" {
				r["props"] = map[string]string{"StorPoolName": pool}
			}
			switch {
			case diskless:
				r["flags"] = []string{"DRBD_DISKLESS"}
			case nvmeInitiator:
				r["flags"] = []string{"NVME_INITIATOR"}
			}
			rc := map[string]any{"resource": r}
			if layers != "" {
				rc["layer_list"] = strings.Split(strings.ToUpper(layers), ",")
			}
			if cmd.Flags().Changed("node-id") {
				rc["drbd_node_id"] = nodeID
			}
			body = append(body, rc)
		}
		return a.write(cmd.Context(), http.MethodPost, resourceDefinitionProps.path([]string{rd})+"/resources", body)
	})
	create.Flags().StringVarP(&pool, "storage-pool", "s", "", "storage pool of the volumes")
	create.Flags().BoolVar(&diskless, "drbd-diskless", false, "a DRBD client without local disk")
	create.Flags().BoolVar(&diskless, "diskless", false, "the same as --drbd-diskless")
	create.Flags().BoolVar(&nvmeInitiator, "nvme-initiator", false, "an NVMe initiator")
	create.Flags().StringVarP(&layers, "layer-list", "l", "", "layer stack, such as drbd,storage")
	create.Flags().Int32Var(&nodeID, "node-id", 0, "DRBD node id (default: the lowest free)")
	create.Flags().StringVar(&autoPlace, "auto-place", "", "place this many replicas (or +1 more) where the autoplacer chooses")
	pf.addConstraints(create)
	pf.addDryRun(create)

	var f listFilter
	resources := func(cmd *cobra.Command) ([]restapi.ResourceWithVolumes, []byte, error) {
		var rscs []restapi.ResourceWithVolumes
		raw, err := a.get(cmd.Context(), "/v1/view/resources", f.query(), &rscs)
		return rscs, raw, err
	}
	list := verb("list", "list resources", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		rscs, raw, err := resources(cmd)
		if err != nil {
			return err
		}
		ports := map[string]string{}
		if !a.out.machine {
			rds, _, err := a.resourceDefinitions(cmd, listFilter{resources: f.resources})
			if err != nil {
				return err
			}
			for _, d := range rds {
				ports[strings.ToUpper(d.Name)] = definitionPort(d)
			}
		}
		rows := make([][]string, len(rscs))
		for i, r := range rscs {
			created := ""
			if r.CreateTimestamp > 0 {
				created = time.UnixMilli(r.CreateTimestamp).Format("2006-01-02 15:04:05")
			}
			rows[i] = []string{r.Name, r.NodeName, ports[strings.ToUpper(r.Name)], resourceUsage(r), resourceConns(r), resourceState(r), created}
		}
		return a.list(raw, []string{"ResourceName", "Node", "Port", "Usage", "Conns", "State", "CreatedOn"}, rows)
	})
	a.listFlags(list, &f, true, true, true)
	listVolumes := verb("list-volumes", "list the volumes of resources", []string{"lv"}, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		rscs, raw, err := resources(cmd)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, r := range rscs {
			for _, v := range r.Volumes {
				nr, allocated, state := "", "", "Unknown"
				if v.VolumeNumber != nil {
					nr = strconv.Itoa(int(*v.VolumeNumber))
				}
				if v.AllocatedSizeKib != nil {
					allocated = formatKiB(*v.AllocatedSizeKib)
				}
				if v.State != nil && v.State.DiskState != "" {
					state = v.State.DiskState
				}
				rows = append(rows, []string{r.NodeName, r.Name, v.StoragePoolName, nr, v.DevicePath, allocated, resourceUsage(r), state})
			}
		}
		return a.list(raw, []string{"Node", "Resource", "StoragePool", "VolNr", "DeviceName", "Allocated", "InUse", "State"}, rows)
	})
	a.listFlags(listVolumes, &f, true, true, true)
	del := verb("delete NODE [NODE...] RESOURCE", "delete a resource from nodes", aliasDelete, cobra.MinimumNArgs(2), func(cmd *cobra.Command, args []string) error {
		rd := args[len(args)-1]
		for _, n := range args[:len(args)-1] {
			if err := a.write(cmd.Context(), http.MethodDelete, resourceProps.path([]string{n, rd}), nil); err != nil {
				return err
			}
		}
		return nil
	})
	var togglePool, migrateFrom string
	var toggleDiskless bool
	toggle := verb("toggle-disk NODE RESOURCE", "give a diskless resource a disk (--storage-pool), or take it away (--diskless)", []string{"td"}, cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) error {
			if toggleDiskless && togglePool != "" {
				return &exitError{exitUsage, "argument --diskless: not allowed with argument --storage-pool"}
			}
			if toggleDiskless && migrateFrom != "" {
				return &exitError{exitUsage, "argument --migrate-from: not allowed with argument --diskless"}
			}
			path := resourceProps.path(args) + "/toggle-disk/"
			switch {
			case migrateFrom != "":
				// LINSTOR's client sends migrate-disk: the new disk syncs,
				// then the old node's resource goes.
				path = resourceProps.path(args) + "/migrate-disk/" + pathEscape(migrateFrom)
				if togglePool != "" {
					path += "/" + pathEscape(togglePool)
				}
			case toggleDiskless:
				path += "diskless"
			case togglePool != "":
				path += "diskful/" + pathEscape(togglePool)
			default:
				path += "diskful"
			}
			return a.write(cmd.Context(), http.MethodPut, path, nil)
		})
	toggle.Flags().StringVarP(&togglePool, "storage-pool", "s", "", "storage pool of the new disk")
	toggle.Flags().BoolVar(&toggleDiskless, "diskless", false, "remove the resource's disk")
	toggle.Flags().StringVar(&migrateFrom, "migrate-from", "", "the node whose disk the new one replaces: it goes once the new one is UpToDate")
	activate := verb("activate NODE RESOURCE", "bring a deactivated resource up again", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, resourceProps.path(args)+"/activate", nil)
	})
	deactivate := verb("deactivate NODE RESOURCE", "take a resource's DRBD device down, keeping its storage", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, resourceProps.path(args)+"/deactivate", nil)
	})
	var diskful bool
	var availableLayers string
	makeAvailable := verb("make-available NODE RESOURCE", "make a resource usable on a node: diskless where DRBD allows it, else (or with --diskful) with a disk", []string{"mkavail"}, cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"diskful": diskful}
			if availableLayers != "" {
				body["layer_list"] = strings.Split(strings.ToUpper(availableLayers), ",")
			}
			return a.write(cmd.Context(), http.MethodPost, resourceProps.path(args)+"/make-available", body)
		})
	makeAvailable.Flags().BoolVar(&diskful, "diskful", false, "with a disk, even where diskless would do")
	makeAvailable.Flags().StringVarP(&availableLayers, "layer-list", "l", "", "layer stack, such as drbd,storage")
	c.AddCommand(create, list, listVolumes, del, toggle, makeAvailable, activate, deactivate)
	c.AddCommand(a.propsCommands(resourceProps)...)
	return c
}
