package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// Resource flags that make a resource hold no data of its own.
var disklessFlags = []string{"DISKLESS", "DRBD_DISKLESS", "NVME_INITIATOR", "TIE_BREAKER"}

// KeyStorPoolName chooses the storage pool of a volume.
const KeyStorPoolName = "StorPoolName"

// Diskless reports whether resource flags ask for no local disk.
func Diskless(f Flags) bool {
	return slices.ContainsFunc(disklessFlags, f.Has)
}

// Resource is a resource with its volumes, properties and names as typed.
type Resource struct {
	ResourceRow
	ResourceDspName string
	NodeDspName     string
	Props           map[string]string
	Volumes         []Volume
}

// Volume is a volume with its pool's provider, its size and properties.
type Volume struct {
	VolumeRow
	StorPoolDspName string
	ProviderKind    string
	SizeKib         int64
	Props           map[string]string
	// DrbdMinor is the volume definition's DRBD minor, if it has one.
	DrbdMinor *int32
}

// ResourceSpec is one resource of resource create.
type ResourceSpec struct {
	Node       string
	Props      map[string]string
	Flags      Flags
	DrbdNodeID *int32 // nil: the lowest free id
	// LayerStack is the stack asked for; a definition's resources share
	// one, so it becomes the definition's when that has none yet.
	LayerStack []string `json:",omitempty"`
}

func rscNotFound(rd, node string) *Error {
	return notFound(KindResource, "Resource '%s' on node '%s' not found.", rd, node)
}

// takeResource loads a resource, reporting its definition missing first.
func takeResource(tx *gorm.DB, rd, node string) (ResourceRow, error) {
	if _, err := takeResourceDefinition(tx, rd); err != nil {
		return ResourceRow{}, err
	}
	return take[ResourceRow](tx, rscNotFound(rd, node), "resource_name = ? AND node_name = ?", Key(rd), Key(node))
}

// CreateResources creates resources of one definition on nodes, each with
// a volume per volume definition, all or none.
func (s *Store) CreateResources(ctx context.Context, rd string, specs []ResourceSpec) ([]ResourceRow, error) {
	return s.CreateResourcesIf(ctx, rd, specs, nil)
}

// ErrPlacementChanged refuses resources placed on a snapshot that is no
// longer true: the definition's nodes changed meanwhile.
var ErrPlacementChanged = refuse(Invalid, KindResource, "The resource's nodes changed while it was being placed.", "Another request placed or removed a replica of it at the same time.", "Place it again.")

// CreateResourcesIf is CreateResources that first checks, in the same
// transaction, that the definition is held by exactly the nodes holders
// names (nil: no check). The autoplacer decides on a snapshot; this keeps
// two placements of one resource from both adding replicas.
func (s *Store) CreateResourcesIf(ctx context.Context, rd string, specs []ResourceSpec, holders []string) ([]ResourceRow, error) {
	for _, sp := range specs {
		if err := (PropsModify{OverrideProps: sp.Props}).Check(KindResource); err != nil {
			return nil, err
		}
	}
	var rows []ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		r, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return err
		}
		if holders != nil {
			var now []string
			if err := tx.Model(&ResourceRow{}).Where("resource_name = ?", r.ResourceName).Order("node_name").Pluck("node_name", &now).Error; err != nil {
				return err
			}
			want := keys(holders)
			slices.Sort(want)
			if !slices.Equal(now, want) {
				return ErrPlacementChanged
			}
		}
		var vds []VolumeDefinitionRow
		if err := tx.Where("resource_name = ?", r.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		for _, sp := range specs {
			row, err := createResource(tx, r, sp, vds)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		return nil
	})
	return rows, err
}

// useLayerStack makes stack the definition's when it has none and no
// resources yet; a different stack from the definition's is refused.
func useLayerStack(tx *gorm.DB, rd ResourceDefinitionRow, stack []string) (ResourceDefinitionRow, error) {
	if len(stack) == 0 || slices.Equal(rd.LayerStack.List(), stack) {
		return rd, nil
	}
	var n int64
	if err := tx.Model(&ResourceRow{}).Where("resource_name = ?", rd.ResourceName).Count(&n).Error; err != nil {
		return rd, err
	}
	if rd.LayerStack != "" || n > 0 {
		e := refuse(Invalid, KindResource, fmt.Sprintf("The layer stack %s differs from that of resource definition '%s'.", strings.Join(stack, ","), rd.ResourceDspName),
			"The resources of a definition share its layer stack.", "Leave out the layer list, or use the definition's.")
		e.Code = apicall.FailInvldLayerStack
		return rd, e
	}
	rd.LayerStack = NewFlags(stack...)
	return rd, tx.Model(&rd).Update("layer_stack", rd.LayerStack).Error
}

func createResource(tx *gorm.DB, rd ResourceDefinitionRow, sp ResourceSpec, vds []VolumeDefinitionRow) (ResourceRow, error) {
	n, err := takeNode(tx, sp.Node)
	if err != nil {
		return ResourceRow{}, err
	}
	// A resource asked for where a tie-breaker is takes its place.
	var tb ResourceRow
	if ok, err := found(tx.Take(&tb, "resource_name = ? AND node_name = ?", rd.ResourceName, n.NodeName).Error); err != nil {
		return ResourceRow{}, err
	} else if ok && tb.Flags.Has(FlagTieBreaker) && !tb.Flags.Has(FlagDelete) {
		if err := deleteResource(tx, tb); err != nil {
			return ResourceRow{}, err
		}
	}
	if err := absent[ResourceRow](tx, exists(KindResource, "Resource '%s' already exists on node '%s'.", rd.ResourceDspName, n.NodeDspName),
		"resource_name = ? AND node_name = ?", rd.ResourceName, n.NodeName); err != nil {
		return ResourceRow{}, err
	}
	if rd, err = useLayerStack(tx, rd, sp.LayerStack); err != nil {
		return ResourceRow{}, err
	}
	var unsupported []string
	for _, l := range rd.LayerStack.List() {
		if n.ServedLayers != nil && !n.Serves(l) { // known once its agent answered
			unsupported = append(unsupported, l)
		}
	}
	if len(unsupported) > 0 {
		e := refuse(Invalid, KindResource, fmt.Sprintf("Satellite '%s' does not support the following layers: [%s]", n.NodeDspName, strings.Join(unsupported, ", ")),
			"Its agent does not serve them (node info shows why).", "Place the resource on a node that serves its layers, or give it other layers.")
		e.Code = apicall.FailStltDoesNotSupportLayer
		return ResourceRow{}, e
	}
	var used []int32
	if err := tx.Model(&ResourceRow{}).Where("resource_name = ?", rd.ResourceName).Pluck("drbd_node_id", &used).Error; err != nil {
		return ResourceRow{}, err
	}
	id, ok := lowestFree(used, 0, MaxNodeID)
	if sp.DrbdNodeID != nil {
		id, ok = *sp.DrbdNodeID, !slices.Contains(used, *sp.DrbdNodeID)
	}
	if !ok {
		e := refuse(Exhausted, KindResource, fmt.Sprintf("No free DRBD node id for resource '%s' on node '%s'.", rd.ResourceDspName, n.NodeDspName),
			"DRBD node ids 0-31 are taken by the definition's other resources, or the requested one is.", "Leave out the node id, or delete a resource of this definition.")
		e.Code = apicall.FailPoolExhaustedNodeID
		return ResourceRow{}, e
	}
	row := ResourceRow{ResourceName: rd.ResourceName, NodeName: n.NodeName, UUID: uuid.NewString(), Flags: sp.Flags, DrbdNodeID: id, CreateTimestamp: nowMs()}
	if err := tx.Create(&row).Error; err != nil {
		return ResourceRow{}, err
	}
	if err := touchDefinition(tx, rd.ResourceName); err != nil {
		return ResourceRow{}, err
	}
	if err := setProps(tx, ResourceInstance(rd.ResourceName, n.NodeName), sp.Props); err != nil {
		return ResourceRow{}, err
	}
	for _, vd := range vds {
		if err := createVolume(tx, rd, row, n.NodeDspName, vd); err != nil {
			return ResourceRow{}, err
		}
	}
	if err := autoDrbdProxy(tx, rd, row); err != nil {
		return ResourceRow{}, err
	}
	return row, tx.Model(&row).Update("flags", row.Flags).Error
}

// createVolume adds a resource's volume of vd in the storage pool the
// guide's lookup finds: StorPoolName on the volume definition, the
// resource, the resource definition, the node, else DfltStorPool. A
// diskless resource uses that pool when it is diskless, else
// DfltDisklessStorPool; a resource placed in a diskless pool becomes
// diskless.
func createVolume(tx *gorm.DB, rd ResourceDefinitionRow, rsc ResourceRow, nodeDspName string, vd VolumeDefinitionRow) error {
	pool := DfltStorPool
	for _, inst := range []string{VolumeDefinitionInstance(rd.ResourceName, vd.VlmNr), ResourceInstance(rd.ResourceName, rsc.NodeName),
		ResourceDefinitionInstance(rd.ResourceName), NodeInstance(rsc.NodeName)} {
		props, err := readProps(tx, inst)
		if err != nil {
			return err
		}
		if p := props[KeyStorPoolName]; p != "" {
			pool = p
			break
		}
	}
	var sp StoragePoolRow
	ok, err := found(tx.Take(&sp, "node_name = ? AND pool_name = ?", rsc.NodeName, Key(pool)).Error)
	if err != nil {
		return err
	}
	if Diskless(rsc.Flags) && (!ok || sp.DriverName != ProviderDiskless) {
		pool, sp = DfltDisklessStorPool, StoragePoolRow{}
		if ok, err = found(tx.Take(&sp, "node_name = ? AND pool_name = ?", rsc.NodeName, Key(pool)).Error); err != nil {
			return err
		}
	}
	if !ok {
		return &Error{Problem: NotFound, Kind: KindStoragePool,
			Message:    fmt.Sprintf("Storage pool '%s' not found on node '%s'.", pool, nodeDspName),
			Cause:      fmt.Sprintf("Volume %d of resource '%s' is to be placed in storage pool '%s' (property StorPoolName, else DfltStorPool).", vd.VlmNr, rd.ResourceDspName, pool),
			Correction: "Create that storage pool on the node, or set StorPoolName on the volume definition, resource, resource definition or node."}
	}
	if sp.DriverName == ProviderDiskless && !Diskless(rsc.Flags) {
		rsc.Flags = rsc.Flags.With("DRBD_DISKLESS")
		if err := tx.Model(&ResourceRow{}).Where("resource_name = ? AND node_name = ?", rsc.ResourceName, rsc.NodeName).Update("flags", rsc.Flags).Error; err != nil {
			return err
		}
	}
	if err := touchDefinition(tx, rd.ResourceName); err != nil {
		return err
	}
	return tx.Create(&VolumeRow{ResourceName: rsc.ResourceName, NodeName: rsc.NodeName, VlmNr: vd.VlmNr, UUID: uuid.NewString(), StorPoolName: sp.PoolName}).Error
}

// ResourceFilter selects resources by definition, node and storage pool of
// any of their volumes (empty: all).
type ResourceFilter struct {
	Resources, Nodes, StoragePools []string
}

// ListResources returns the resources that pass the filter with their
// volumes, ordered by definition and node: the data of resource list.
func (s *Store) ListResources(ctx context.Context, f ResourceFilter) ([]Resource, error) {
	db := s.DB.WithContext(ctx)
	var rows []ResourceRow
	q := db.Order("resource_name, node_name")
	if len(f.Resources) > 0 {
		q = q.Where("resource_name IN ?", keys(f.Resources))
	}
	if len(f.Nodes) > 0 {
		q = q.Where("node_name IN ?", keys(f.Nodes))
	}
	if len(f.StoragePools) > 0 {
		q = q.Where("EXISTS (SELECT 1 FROM volumes v WHERE v.resource_name = resources.resource_name AND v.node_name = resources.node_name AND v.stor_pool_name IN ?)", keys(f.StoragePools))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var vlms []VolumeRow
	vq := db.Order("resource_name, node_name, vlm_nr")
	if len(f.Resources) > 0 {
		vq = vq.Where("resource_name IN ?", keys(f.Resources))
	}
	if len(f.Nodes) > 0 {
		vq = vq.Where("node_name IN ?", keys(f.Nodes))
	}
	if err := vq.Find(&vlms).Error; err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var sizes []VolumeDefinitionRow
	sq := db.Select("resource_name, vlm_nr, vlm_size, drbd_minor")
	if len(f.Resources) > 0 {
		sq = sq.Where("resource_name IN ?", keys(f.Resources))
	}
	if err := sq.Find(&sizes).Error; err != nil {
		return nil, fmt.Errorf("list volume sizes: %w", err)
	}
	var pools []StoragePoolRow
	if err := db.Select("node_name, pool_name, driver_name").Find(&pools).Error; err != nil {
		return nil, fmt.Errorf("list storage pools: %w", err)
	}
	rdNames, err := displayNames[ResourceDefinitionRow](db, "resource_name", "resource_dsp_name", f.Resources...)
	if err != nil {
		return nil, err
	}
	nodeNames, err := displayNames[NodeRow](db, "node_name", "node_dsp_name")
	if err != nil {
		return nil, err
	}
	poolNames, err := displayNames[StorPoolDefinitionRow](db, "pool_name", "pool_dsp_name")
	if err != nil {
		return nil, err
	}
	rprops, err := propsUnder(db, underNames("/RESOURCES/", "/", f.Resources)...)
	if err != nil {
		return nil, err
	}
	vprops, err := propsUnder(db, underNames("/VOLUMES/", "/", f.Resources)...)
	if err != nil {
		return nil, err
	}
	type vdKey struct {
		rd string
		nr int32
	}
	vdOf := make(map[vdKey]VolumeDefinitionRow, len(sizes))
	for _, v := range sizes {
		vdOf[vdKey{v.ResourceName, v.VlmNr}] = v
	}
	driver := make(map[[2]string]string, len(pools))
	for _, p := range pools {
		driver[[2]string{p.NodeName, p.PoolName}] = p.DriverName
	}
	out := make([]Resource, len(rows))
	at := make(map[[2]string]int, len(rows))
	for i, r := range rows {
		out[i] = Resource{r, rdNames[r.ResourceName], nodeNames[r.NodeName], rprops[ResourceInstance(r.ResourceName, r.NodeName)], nil}
		at[[2]string{r.ResourceName, r.NodeName}] = i
	}
	for _, v := range vlms {
		i, ok := at[[2]string{v.ResourceName, v.NodeName}]
		if !ok {
			continue
		}
		vd := vdOf[vdKey{v.ResourceName, v.VlmNr}]
		out[i].Volumes = append(out[i].Volumes, Volume{v, poolNames[v.StorPoolName], driver[[2]string{v.NodeName, v.StorPoolName}],
			vd.VlmSize, vprops[VolumeInstance(v.ResourceName, v.NodeName, v.VlmNr)], vd.DrbdMinor})
	}
	return out, nil
}

// GetResource returns one resource with its volumes.
func (s *Store) GetResource(ctx context.Context, rd, node string) (Resource, error) {
	db := s.DB.WithContext(ctx)
	if _, err := takeResourceDefinition(db, rd); err != nil {
		return Resource{}, err
	}
	rscs, err := s.ListResources(ctx, ResourceFilter{Resources: []string{rd}, Nodes: []string{node}})
	if err != nil {
		return Resource{}, err
	}
	if len(rscs) == 0 {
		return Resource{}, rscNotFound(rd, node)
	}
	return rscs[0], nil
}

// ModifyResource changes a resource's properties.
func (s *Store) ModifyResource(ctx context.Context, rd, node string, m PropsModify) (ResourceRow, error) {
	return modifyProps(s, ctx, KindResource, m, ResourceInstance(rd, node), func(tx *gorm.DB) (ResourceRow, error) {
		row, err := takeResource(tx, rd, node)
		if err == nil {
			err = touchDefinition(tx, row.ResourceName)
		}
		return row, err
	})
}

// DeleteResource removes a resource with its volumes and connections.
func (s *Store) DeleteResource(ctx context.Context, rd, node string) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResource(tx, rd, node); err != nil {
			return err
		}
		return deleteResource(tx, row)
	})
	return row, err
}

func deleteResource(tx *gorm.DB, row ResourceRow) error {
	var conns []ResourceConnectionRow
	if err := tx.Where("resource_name = ? AND (node_name_src = ? OR node_name_dst = ?)", row.ResourceName, row.NodeName, row.NodeName).Find(&conns).Error; err != nil {
		return err
	}
	instances := []string{ResourceInstance(row.ResourceName, row.NodeName)}
	for _, c := range conns {
		instances = append(instances, ResourceConnectionInstance(c.ResourceName, c.NodeNameSrc, c.NodeNameDst))
	}
	if err := dropProps(tx, instances, "/VOLUMES/"+row.ResourceName+"/"+row.NodeName+"/"); err != nil {
		return err
	}
	if err := touchDefinition(tx, row.ResourceName); err != nil {
		return err
	}
	return tx.Delete(&row).Error // volumes and connections cascade
}

// ModifyVolume changes a volume's properties.
func (s *Store) ModifyVolume(ctx context.Context, rd, node string, nr int32, m PropsModify) (VolumeRow, error) {
	return modifyProps(s, ctx, KindVolume, m, VolumeInstance(rd, node, nr), func(tx *gorm.DB) (VolumeRow, error) {
		if _, err := takeResource(tx, rd, node); err != nil {
			return VolumeRow{}, err
		}
		if err := touchDefinition(tx, Key(rd)); err != nil {
			return VolumeRow{}, err
		}
		return take[VolumeRow](tx, notFound(KindVolume, "Volume %d of resource '%s' on node '%s' not found.", nr, rd, node),
			"resource_name = ? AND node_name = ? AND vlm_nr = ?", Key(rd), Key(node), nr)
	})
}

// Properties of the file system the agent makes on a new volume.
const (
	KeyFileSystemType = "FileSystem/Type"
	KeyMkfsParams     = "FileSystem/MkfsParams"
)

// SetFileSystems records the file systems a node's agent reported on
// volumes that were to get one, by definition key and volume number; a
// volume's first report stays.
func (s *Store) SetFileSystems(ctx context.Context, node string, made map[string]map[int32]string) error {
	if len(made) == 0 {
		return nil
	}
	return s.Write(ctx, func(tx *gorm.DB) error {
		for rd, vols := range made {
			for nr, fs := range vols {
				if err := tx.Model(&VolumeRow{}).Where("resource_name = ? AND node_name = ? AND vlm_nr = ? AND file_system = ''", rd, Key(node), nr).
					Update("file_system", fs).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// SetVolumeActual records what a node's agent reported of its volumes,
// by definition key and volume number.
func (s *Store) SetVolumeActual(ctx context.Context, node string, actual map[string]map[int32]VolumeActual) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		var rows []VolumeRow
		if err := tx.Where("node_name = ?", Key(node)).Order("resource_name, vlm_nr").Find(&rows).Error; err != nil {
			return err
		}
		touched := map[string]bool{}
		for _, cur := range rows {
			a, ok := actual[cur.ResourceName][cur.VlmNr]
			if !ok { // not reported
				continue
			}
			report, err := reportChange(tx, node, "SATELLITE", fmt.Sprintf("Volume %d of resource %s failed", cur.VlmNr, cur.ResourceName), cur.StateError, cur.StateReport, a.StateError)
			if err != nil {
				return err
			}
			a.StateReport = report
			if sameActual(cur.VolumeActual, a) {
				continue // an unchanged volume keeps its definition's kept view
			}
			res := tx.Model(&VolumeRow{}).Where("resource_name = ? AND node_name = ? AND vlm_nr = ?", cur.ResourceName, cur.NodeName, cur.VlmNr).
				Updates(map[string]any{"device_path": a.DevicePath, "backing_device": a.BackingDevice, "top_layer": a.TopLayer, "allocated_kib": a.AllocatedKib, "usable_kib": a.UsableKib,
					"disk_state": a.DiskState, "state_error": a.StateError, "state_report": report, "replication_states": jsonOf(a.ReplicationStates)})
			if res.Error != nil {
				return res.Error
			}
			touched[cur.ResourceName] = true
		}
		for _, cur := range rows {
			if touched[cur.ResourceName] {
				delete(touched, cur.ResourceName)
				if err := touchDefinition(tx, cur.ResourceName); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// sameActual tells whether a volume's reported state is what is recorded.
func sameActual(a, b VolumeActual) bool {
	eq := func(x, y *int64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return a.DevicePath == b.DevicePath && a.BackingDevice == b.BackingDevice && a.TopLayer == b.TopLayer && eq(a.AllocatedKib, b.AllocatedKib) &&
		eq(a.UsableKib, b.UsableKib) && a.DiskState == b.DiskState && a.StateError == b.StateError && a.StateReport == b.StateReport &&
		maps.EqualFunc(a.ReplicationStates, b.ReplicationStates, func(x, y ReplicationState) bool {
			return x.State == y.State && (x.Done == nil) == (y.Done == nil) && (x.Done == nil || *x.Done == *y.Done)
		})
}

// SetResourceActual records the states a node's agent reported, by
// definition key; resources it did not report keep no state.
func (s *Store) SetResourceActual(ctx context.Context, node string, actual map[string]ResourceActual) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		var rows []ResourceRow
		if err := tx.Where("node_name = ?", Key(node)).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			a := actual[r.ResourceName]
			sameUse := (a.InUse == nil) == (r.InUse == nil) && (a.InUse == nil || *a.InUse == *r.InUse)
			if sameUse && a.DrbdRole == r.DrbdRole && a.PromotionScore == r.PromotionScore && a.MayPromote == r.MayPromote &&
				maps.Equal(a.DrbdConnections, r.DrbdConnections) {
				continue
			}
			since := r.InUseSince
			switch {
			case !a.Used():
				since = nil
			case !r.Used() || since == nil:
				now := time.Now().UnixMilli()
				since = &now
			}
			if err := tx.Model(&ResourceRow{}).Where("resource_name = ? AND node_name = ?", r.ResourceName, r.NodeName).
				Updates(map[string]any{"in_use": a.InUse, "in_use_since": since, "drbd_role": a.DrbdRole, "promotion_score": a.PromotionScore, "may_promote": a.MayPromote,
					"drbd_connections": jsonOf(a.DrbdConnections)}).Error; err != nil {
				return err
			}
			if err := touchDefinition(tx, r.ResourceName); err != nil {
				return err
			}
		}
		return nil
	})
}

// jsonOf is how the json serializer stores a map: NULL for none.
func jsonOf[V any](m map[string]V) any {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m) // maps of strings and of plain structs always marshal
	return string(b)
}
