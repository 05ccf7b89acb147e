package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strata/apicall"
	"strata/restapi"
)

func definitionPort(d restapi.ResourceDefinition) string {
	for _, l := range d.LayerData {
		if l.Type == "DRBD" && l.Data != nil && l.Data.Port != 0 {
			return strconv.Itoa(int(l.Data.Port))
		}
	}
	return ""
}

func definitionLayers(d restapi.ResourceDefinition) string {
	var out []string
	for _, l := range d.LayerData {
		out = append(out, l.Type)
	}
	return strings.Join(out, ",")
}

func volumeMinor(v restapi.VolumeDefinition) string {
	for _, l := range v.LayerData {
		if l.Data != nil && l.Data.MinorNumber != nil {
			return strconv.Itoa(int(*l.Data.MinorNumber))
		}
	}
	return ""
}

func definitionState(flags []string) string {
	if slices.Contains(flags, "DELETE") {
		return "DELETING"
	}
	return "ok"
}

var (
	resourceDefinitionProps = propsObject{args: []string{"RESOURCE"}, method: http.MethodPut,
		path: func(a []string) string { return "/v1/resource-definitions/" + pathEscape(a[0]) }}
	volumeDefinitionProps = propsObject{args: []string{"RESOURCE", "VOLUME_NR"}, method: http.MethodPut,
		path: func(a []string) string {
			return "/v1/resource-definitions/" + pathEscape(a[0], "volume-definitions", a[1])
		}}
)

func (a *app) resourceDefinitionCommand() *cobra.Command {
	c := &cobra.Command{Use: "resource-definition", Aliases: []string{"rd"}, Short: "resource definition commands"}
	var port, peerSlots int32
	var group, layers, external string
	create := verb("create RESOURCE", "create a resource definition", aliasCreate, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		rd := map[string]any{"name": args[0]}
		if group != "" {
			rd["resource_group_name"] = group
		}
		if external != "" {
			rd["external_name"] = external
		}
		if layers != "" {
			var ld []map[string]string
			for _, l := range strings.Split(layers, ",") {
				ld = append(ld, map[string]string{"type": strings.ToUpper(l)})
			}
			rd["layer_data"] = ld
		}
		body := map[string]any{"resource_definition": rd}
		if port != 0 {
			body["drbd_port"] = port
		}
		if peerSlots != 0 {
			body["drbd_peer_slots"] = peerSlots
		}
		return a.write(cmd.Context(), http.MethodPost, "/v1/resource-definitions", body)
	})
	create.Flags().Int32Var(&port, "port", 0, "DRBD port (default: the lowest free of TcpPortAutoRange)")
	create.Flags().Int32Var(&peerSlots, "peer-slots", 0, "DRBD peer slots of new resources")
	create.Flags().StringVar(&group, "resource-group", "", "resource group (default DfltRscGrp)")
	create.Flags().StringVarP(&layers, "layer-list", "l", "", "layer stack, such as drbd,storage")
	create.Flags().StringVarP(&external, "external-name", "e", "", "a name outside LINSTOR's rules")

	var mGroup, mLayers string
	var mPort, mPeerSlots int32
	modify := verb("modify RESOURCE", "change a resource definition", aliasModify, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		body := map[string]any{}
		if mGroup != "" {
			body["resource_group"] = mGroup
		}
		if mLayers != "" {
			body["layer_stack"] = strings.Split(mLayers, ",")
		}
		if mPort != 0 {
			body["drbd_port"] = mPort
		}
		if mPeerSlots != 0 {
			body["drbd_peer_slots"] = mPeerSlots
		}
		if len(body) == 0 {
			return &exitError{exitUsage, "Nothing to change: give --resource-group, --layer-list, --port or --peer-slots"}
		}
		return a.write(cmd.Context(), http.MethodPut, resourceDefinitionProps.path(args), body)
	})
	modify.Flags().StringVar(&mGroup, "resource-group", "", "move the definition to this resource group")
	modify.Flags().StringVarP(&mLayers, "layer-list", "l", "", "new layer stack (only without resources)")
	modify.Flags().Int32Var(&mPort, "port", 0, "new DRBD port")
	modify.Flags().Int32Var(&mPeerSlots, "peer-slots", 0, "new DRBD peer slots")

	var f listFilter
	list := verb("list", "list resource definitions", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		rds, raw, err := a.resourceDefinitions(cmd, f)
		if err != nil {
			return err
		}
		rows := make([][]string, len(rds))
		for i, d := range rds {
			rows[i] = []string{d.Name, definitionPort(d), d.ResourceGroupName, definitionLayers(d), definitionState(d.Flags)}
		}
		return a.list(raw, []string{"ResourceName", "Port", "ResourceGroup", "Layers", "State"}, rows)
	})
	a.listFlags(list, &f, false, true, false)
	del := verb("delete RESOURCE", "delete a resource definition with all its resources", aliasDelete, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, resourceDefinitionProps.path(args), nil)
	})
	var noWait bool
	var cloneGroup, cloneExternal, cloneLayers string
	clone := verb("clone SOURCE CLONE", "copy a resource definition with its resources and data into a new one", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		body := map[string]any{"name": args[1]}
		if cloneGroup != "" {
			body["resource_group"] = cloneGroup
		}
		if cloneExternal != "" {
			body["external_name"] = cloneExternal
		}
		if cloneLayers != "" {
			body["layer_list"] = strings.Split(strings.ToUpper(cloneLayers), ",")
		}
		var started restapi.ResourceDefinitionCloneStarted
		if _, err := a.query(cmd.Context(), http.MethodPost, resourceDefinitionProps.path(args[:1])+"/clone", nil, body, &started); err != nil {
			return err
		}
		for !noWait {
			var st restapi.ResourceDefinitionCloneStatus
			if _, err := a.get(cmd.Context(), started.Location, nil, &st); err != nil {
				return err
			}
			switch st.Status {
			case "COMPLETE":
				done, _ := json.Marshal(apicall.RcList{{RetCode: int64(apicall.Created), Message: fmt.Sprintf("Resource definition '%s' cloned from '%s'.", args[1], args[0])}})
				return a.out.replies(done)
			case "FAILED":
				return &exitError{exitAPIError, fmt.Sprintf("Cloning '%s' into '%s' failed (workflow clone:%s).", args[0], args[1], strings.ToLower(args[1]))}
			}
			select {
			case <-cmd.Context().Done():
				return cmd.Context().Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		msgs, _ := json.Marshal(started.Messages)
		return a.out.replies(msgs)
	})
	clone.Flags().BoolVar(&noWait, "no-wait", false, "answer once the clone started")
	clone.Flags().StringVar(&cloneGroup, "resource-group", "", "resource group of the clone (default: the source's)")
	clone.Flags().StringVar(&cloneExternal, "external-name", "", "external name of the clone")
	clone.Flags().StringVarP(&cloneLayers, "layer-list", "l", "", "layer stack of the clone, such as drbd,storage")
	c.AddCommand(a.autoPlaceCommand())
	c.AddCommand(create, modify, list, del, clone,
		a.drbdOptionsCommand("drbd-options", "set DRBD options of the definition's resources", resourceDefinitionProps, "Net", "Disk", "PeerDevice", "Resource", "Handlers"))
	c.AddCommand(a.propsCommands(resourceDefinitionProps)...)
	return c
}

// resourceDefinitions lists the definitions with their volume definitions.
func (a *app) resourceDefinitions(cmd *cobra.Command, f listFilter) ([]restapi.ResourceDefinition, []byte, error) {
	q := f.query()
	for _, r := range f.resources {
		q.Add("resource_definitions", r)
	}
	q.Del("resources")
	q.Set("with_volume_definitions", "true")
	var rds []restapi.ResourceDefinition
	raw, err := a.get(cmd.Context(), "/v1/resource-definitions", q, &rds)
	return rds, raw, err
}

func (a *app) volumeDefinitionCommand() *cobra.Command {
	c := &cobra.Command{Use: "volume-definition", Aliases: []string{"vd"}, Short: "volume definition commands"}
	var nr, minor int32
	var gross bool
	create := verb("create RESOURCE SIZE", "add a volume to a resource definition (SIZE such as 500G; no unit: GiB)", aliasCreate, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		kib, err := parseSize(args[1])
		if err != nil {
			return &exitError{exitUsage, err.Error()}
		}
		vd := restapi.VolumeDefinition{SizeKib: kib}
		if cmd.Flags().Changed("vlmnr") {
			vd.VolumeNumber = &nr
		}
		if gross {
			vd.Flags = []string{"GROSS_SIZE"}
		}
		body := map[string]any{"volume_definition": vd}
		if cmd.Flags().Changed("minor") {
			body["drbd_minor_number"] = minor
		}
		return a.write(cmd.Context(), http.MethodPost, resourceDefinitionProps.path(args)+"/volume-definitions", body)
	})
	create.Flags().Int32Var(&nr, "vlmnr", 0, "volume number (default: the lowest free from 0)")
	create.Flags().Int32Var(&minor, "minor", 0, "DRBD minor (default: the lowest free of MinorNrAutoRange)")
	create.Flags().BoolVar(&gross, "gross", false, "the size includes DRBD's metadata")
	setSize := verb("set-size RESOURCE VOLUME_NR SIZE", "grow a volume (shrinking needs the volume not to be deployed)", nil, cobra.ExactArgs(3), func(cmd *cobra.Command, args []string) error {
		kib, err := parseSize(args[2])
		if err != nil {
			return &exitError{exitUsage, err.Error()}
		}
		return a.write(cmd.Context(), http.MethodPut, volumeDefinitionProps.path(args), map[string]int64{"size_kib": kib})
	})
	var f listFilter
	list := verb("list", "list volume definitions", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		rds, raw, err := a.resourceDefinitions(cmd, f)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, d := range rds {
			for _, v := range d.VolumeDefinitions {
				nr := ""
				if v.VolumeNumber != nil {
					nr = strconv.Itoa(int(*v.VolumeNumber))
				}
				rows = append(rows, []string{d.Name, nr, volumeMinor(v), formatKiB(v.SizeKib), strconv.FormatBool(slices.Contains(v.Flags, "GROSS_SIZE")), definitionState(v.Flags)})
			}
		}
		return a.list(raw, []string{"ResourceName", "VolumeNr", "VolumeMinor", "Size", "Gross", "State"}, rows)
	})
	a.listFlags(list, &f, false, true, false)
	del := verb("delete RESOURCE VOLUME_NR", "delete a volume definition and its volumes", aliasDelete, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, volumeDefinitionProps.path(args), nil)
	})
	c.AddCommand(create, setSize, list, del,
		a.drbdOptionsCommand("drbd-options", "set DRBD disk options of the volume", volumeDefinitionProps, "Disk", "PeerDevice"))
	c.AddCommand(a.propsCommands(volumeDefinitionProps)...)
	return c
}
