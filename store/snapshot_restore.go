package store

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// usableSnapshot loads a snapshot that a restore or rollback can use.
func usableSnapshot(tx *gorm.DB, rd, snap string) (ResourceDefinitionRow, SnapshotDefinitionRow, error) {
	src, err := takeResourceDefinition(tx, rd)
	if err != nil {
		return src, SnapshotDefinitionRow{}, err
	}
	def, err := takeSnapshotDefinition(tx, rd, snap)
	if err != nil {
		return src, def, err
	}
	if !def.Successful() || def.Flags.Has(FlagDelete) {
		e := refuse(Invalid, KindSnapshot, "Unable to use failed snapshot", fmt.Sprintf("Snapshot '%s' of resource '%s' is not SUCCESSFUL (flags: %s).", def.SnapshotDspName, src.ResourceDspName, def.Flags), "Take a new snapshot.")
		e.Code = apicall.FailUnknownError
		return src, def, e
	}
	return src, def, nil
}

// RestoreVolumeDefinitions gives definition to the volume definitions of
// a snapshot: same numbers, sizes, flags and properties.
func (s *Store) RestoreVolumeDefinitions(ctx context.Context, rd, snap, to string) ([]VolumeDefinitionRow, error) {
	var out []VolumeDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		out = nil
		_, def, err := usableSnapshot(tx, rd, snap)
		if err != nil {
			return err
		}
		if _, err := takeResourceDefinition(tx, to); err != nil {
			return err
		}
		var vds []SnapshotVolumeDefinitionRow
		if err := tx.Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		for _, vd := range vds {
			nr := vd.VlmNr
			row, err := createVolumeDefinition(tx, to, VolumeDefinitionSpec{VlmNr: &nr, SizeKib: vd.SizeKib, Flags: vd.Flags, Props: vd.VolumeDefinitionProps})
			if err != nil {
				return err
			}
			out = append(out, row)
		}
		return nil
	})
	return out, err
}

// RestoreSpec is snapshot resource restore.
type RestoreSpec struct {
	Resource, Snapshot, To string
	// Nodes to restore on; none: every node holding the snapshot.
	Nodes []string
	// PoolRename maps the snapshot's storage pools to the target's.
	PoolRename map[string]string
}

// RestoreResources creates the target definition's resources from a
// snapshot, with LINSTOR's checks: on each node, flagged
// RESTORE_FROM_SNAPSHOT, each volume in the snapshot's pool (renamed)
// and marked to be made from the snapshot. It returns the resources and
// whether there were volumes to restore.
func (s *Store) RestoreResources(ctx context.Context, sp RestoreSpec) ([]ResourceRow, []string, bool, error) {
	var rows []ResourceRow
	var nodes []string
	anyVolume := false
	err := s.Write(ctx, func(tx *gorm.DB) error {
		rows, nodes, anyVolume = nil, nil, false
		src, def, err := usableSnapshot(tx, sp.Resource, sp.Snapshot)
		if err != nil {
			return err
		}
		to, err := takeResourceDefinition(tx, sp.To)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&ResourceRow{}).Where("resource_name = ?", to.ResourceName).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return exists(KindResource, "Cannot restore to resource definition which already has resources")
		}
		var svds []SnapshotVolumeDefinitionRow
		if err := tx.Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Find(&svds).Error; err != nil {
			return err
		}
		sizes := map[int32]int64{}
		for _, v := range svds {
			sizes[v.VlmNr] = v.SizeKib
		}
		var vds []VolumeDefinitionRow
		if err := tx.Where("resource_name = ?", to.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		for _, vd := range vds {
			size, ok := sizes[vd.VlmNr]
			if !ok {
				e := notFound(KindSnapshotVolumeDefinition, "Snapshot does not contain required volume number %d", vd.VlmNr)
				return e
			}
			if size != vd.VlmSize {
				e := refuse(Invalid, KindVolumeDefinition, fmt.Sprintf("Snapshot size does not match for volume number %d; snapshot size: %dKiB, required size: %dKiB", vd.VlmNr, size, vd.VlmSize), "", "Restore into volume definitions of the snapshot's sizes (snapshot volume-definition restore).")
				e.Code = apicall.FailInvldVlmSize
				return e
			}
		}
		anyVolume = len(vds) > 0
		parts, all, err := snapshotParts(tx, def)
		if err != nil {
			return err
		}
		held := map[string]SnapshotRow{}
		for _, p := range parts {
			if !p.Flags.Has(FlagDelete) {
				held[p.NodeName] = p
			}
		}
		var on []string
		if len(sp.Nodes) == 0 {
			for _, p := range parts {
				if _, ok := held[p.NodeName]; ok {
					on = append(on, p.NodeName)
				}
			}
		}
		for _, n := range sp.Nodes {
			if _, ok := held[Key(n)]; !ok {
				return notFound(KindSnapshot, "Snapshot '%s' of resource '%s' not found on node '%s'.", def.SnapshotDspName, src.ResourceDspName, n)
			}
			on = append(on, Key(n))
		}
		saved := maps.Clone(def.ResourceDefinitionProps)
		current, err := readProps(tx, ResourceDefinitionInstance(to.ResourceName))
		if err != nil {
			return err
		}
		for k := range current {
			delete(saved, k) // what the target sets wins
		}
		if err := setProps(tx, ResourceDefinitionInstance(to.ResourceName), saved); err != nil {
			return err
		}
		var svols []SnapshotVolumeRow
		if err := tx.Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Find(&svols).Error; err != nil {
			return err
		}
		for _, k := range on {
			// The node keeps its DRBD node id: the metadata in the snapshot
			// names it.
			row, err := createResource(tx, to, ResourceSpec{Node: k, Props: held[k].ResourceProps, Flags: NewFlags(FlagRestoreFromSnapshot), DrbdNodeID: held[k].DrbdNodeID}, nil)
			if err != nil {
				return err
			}
			for _, vd := range vds {
				if err := restoreVolume(tx, src, def, to, row, all[k].NodeDspName, vd, svols, sp.PoolRename); err != nil {
					return err
				}
			}
			rows = append(rows, row)
			nodes = append(nodes, all[k].NodeDspName)
		}
		return nil
	})
	return rows, nodes, anyVolume, err
}

// restoreVolume adds a restored resource's volume in the pool of the
// snapshot's volume on that node (renamed), marked to be cloned from it.
func restoreVolume(tx *gorm.DB, src ResourceDefinitionRow, def SnapshotDefinitionRow, to ResourceDefinitionRow, rsc ResourceRow, nodeDsp string, vd VolumeDefinitionRow, svols []SnapshotVolumeRow, rename map[string]string) error {
	var sv *SnapshotVolumeRow
	for i := range svols {
		if svols[i].NodeName == rsc.NodeName && svols[i].VlmNr == vd.VlmNr {
			sv = &svols[i]
		}
	}
	if sv == nil {
		return notFound(KindSnapshotVolumeDefinition, "Snapshot does not contain required volume number %d", vd.VlmNr)
	}
	pool := sv.StorPoolName
	for from, target := range rename {
		if Key(from) == pool {
			pool = Key(target)
		}
	}
	var sp StoragePoolRow
	ok, err := found(tx.Take(&sp, "node_name = ? AND pool_name = ?", rsc.NodeName, pool).Error)
	if err != nil {
		return err
	}
	if !ok {
		return spNotFound(nodeDsp, pool)
	}
	if sp.DriverName != ProviderDiskless && poolProvider(tx, rsc.NodeName, sv.StorPoolName) != sp.DriverName {
		return refuse(Invalid, KindStoragePool, fmt.Sprintf("Storage pool '%s' on node '%s' is a %s pool; the snapshot is in a %s pool.", poolDspName(tx, pool), nodeDsp, sp.DriverName, poolProvider(tx, rsc.NodeName, sv.StorPoolName)),
			"A snapshot is cloned within its provider.", "Rename to a pool of the same provider (stor_pool_rename).")
	}
	if err := tx.Create(&VolumeRow{ResourceName: rsc.ResourceName, NodeName: rsc.NodeName, VlmNr: vd.VlmNr, UUID: uuid.NewString(), StorPoolName: pool}).Error; err != nil {
		return err
	}
	return setProps(tx, VolumeInstance(to.ResourceName, rsc.NodeName, vd.VlmNr), map[string]string{
		KeyRestoreFromResource: src.ResourceDspName, KeyRestoreFromSnapshot: def.SnapshotDspName})
}

func poolProvider(tx *gorm.DB, node, pool string) string {
	var sp StoragePoolRow
	if tx.Take(&sp, "node_name = ? AND pool_name = ?", node, pool).Error != nil {
		return ""
	}
	return sp.DriverName
}

// FinishRestore ends a restore on the definition's resources whose
// volumes all reached their nodes: the RESTORE_FROM_SNAPSHOT flag and
// the volumes' restore marks go. It returns the nodes still restoring.
func (s *Store) FinishRestore(ctx context.Context, rd string) ([]string, error) {
	var pending []string
	err := s.Write(ctx, func(tx *gorm.DB) error {
		pending = nil
		var rscs []ResourceRow
		if err := tx.Where("resource_name = ?", Key(rd)).Find(&rscs).Error; err != nil {
			return err
		}
		for _, r := range rscs {
			if !r.Flags.Has(FlagRestoreFromSnapshot) {
				continue
			}
			var vols []VolumeRow
			if err := tx.Where("resource_name = ? AND node_name = ?", r.ResourceName, r.NodeName).Find(&vols).Error; err != nil {
				return err
			}
			done := true
			for _, v := range vols {
				done = done && v.DevicePath != "" && v.StateError == ""
			}
			if !done {
				pending = append(pending, r.NodeName)
				continue
			}
			for _, v := range vols {
				if err := applyProps(tx, VolumeInstance(r.ResourceName, r.NodeName, v.VlmNr), PropsModify{DeleteProps: []string{KeyRestoreFromResource, KeyRestoreFromSnapshot}}); err != nil {
					return err
				}
			}
			if err := tx.Model(&r).Update("flags", r.Flags.Without(FlagRestoreFromSnapshot)).Error; err != nil {
				return err
			}
			if err := touchDefinition(tx, r.ResourceName); err != nil {
				return err
			}
		}
		return nil
	})
	return pending, err
}

// CheckRollback refuses a rollback of a definition to a snapshot that
// LINSTOR refuses: a snapshot not SUCCESSFUL, a node not connected, a
// resource in use, or a diskful resource whose node lacks the snapshot.
// It returns the definition's nodes.
func (s *Store) CheckRollback(ctx context.Context, rd, snap string, avail NodeAvailability) ([]string, error) {
	db := s.DB.WithContext(ctx)
	src, def, err := usableSnapshot(db, rd, snap)
	if err != nil {
		return nil, err
	}
	var rscs []ResourceRow
	if err := db.Where("resource_name = ?", src.ResourceName).Order("node_name").Find(&rscs).Error; err != nil {
		return nil, err
	}
	parts, all, err := snapshotParts(db, def)
	if err != nil {
		return nil, err
	}
	// LINSTOR's order: every node connected, no resource in use, then
	// each diskful resource's part of the snapshot.
	var nodes []string
	for _, r := range rscs {
		n := all[r.NodeName]
		nodes = append(nodes, n.NodeDspName)
		if !avail.online(r.NodeName) {
			e := refuse(Invalid, KindSnapshot, "Snapshot rollback cannot be performed when the corresponding satellites are not connected.", fmt.Sprintf("Node '%s' is not online.", n.NodeDspName), "")
			e.Code = apicall.FailNotConnected
			return nil, e
		}
	}
	for _, r := range rscs {
		if r.Used() {
			return nil, refuse(InUse, KindResource, fmt.Sprintf("Resource '%s' on node '%s' is still in use.", src.ResourceDspName, all[r.NodeName].NodeDspName), "Resource is mounted/in use.", "Unmount it or stop what uses it, then roll back.")
		}
	}
	for _, r := range rscs {
		n := all[r.NodeName]
		if Diskless(r.Flags) || r.Flags.Has(FlagDelete) {
			continue
		}
		has := false
		for _, p := range parts {
			has = has || (p.NodeName == r.NodeName && !p.Flags.Has(FlagDelete))
		}
		if !has {
			return nil, refuse(Invalid, KindSnapshot, fmt.Sprintf("Snapshot '%s' of resource '%s' is not on node '%s'.", def.SnapshotDspName, src.ResourceDspName, n.NodeDspName),
				"A rollback makes each diskful resource's data the snapshot's, from its own node's part of it.",
				fmt.Sprintf("Make the resource on '%s' diskless or delete it, roll back, then give it a disk again (it syncs from its peers).", n.NodeDspName))
		}
		if err := rollbackProvider(db, r, n.NodeDspName); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// rollbackProvider refuses a rollback of a resource in a ZFS pool: a
// rollback takes the volume down and makes it again from its snapshot,
// and ZFS keeps a zvol's snapshots inside the zvol, so it cannot be
// removed while they stay.
func rollbackProvider(db *gorm.DB, r ResourceRow, nodeDsp string) error {
	var vols []VolumeRow
	if err := db.Where("resource_name = ? AND node_name = ?", r.ResourceName, r.NodeName).Find(&vols).Error; err != nil {
		return err
	}
	for _, v := range vols {
		if p := poolProvider(db, v.NodeName, v.StorPoolName); p == ProviderZFS || p == ProviderZFSThin {
			e := refuse(Invalid, KindSnapshot, fmt.Sprintf("Snapshot rollback of volume %d on node '%s' is not supported on storage driver '%s'.", v.VlmNr, nodeDsp, p),
				"A rollback removes the volume and makes it again from the snapshot; a zvol cannot be removed while it holds snapshots.",
				"Restore the snapshot into a new resource definition (snapshot resource restore) instead.")
			e.Code = apicall.FailSnapshotsNotSupported
			return e
		}
	}
	return nil
}

// Auto-snapshot properties (rd > rg > controller).
const (
	KeyAutoSnapshotRunEvery = "AutoSnapshot/RunEvery"
	KeyAutoSnapshotKeep     = "AutoSnapshot/Keep"
	KeyAutoSnapshotPrefix   = "AutoSnapshot/Prefix"
	KeyAutoSnapshotNextID   = "AutoSnapshot/NextAutoId"
	// DefaultAutoSnapshotPrefix and DefaultAutoSnapshotKeep are LINSTOR's.
	DefaultAutoSnapshotPrefix = "autoSnap"
	DefaultAutoSnapshotKeep   = 10
)

// AutoSnapshotSettings are a definition's effective auto-snapshot
// properties; RunEveryMinutes ≤ 0 means none.
type AutoSnapshotSettings struct {
	RunEveryMinutes int
	Keep            int
	Prefix          string
}

// AutoSnapshots returns every definition's effective auto-snapshot
// settings, by display name, for those that take them.
func (s *Store) AutoSnapshots(ctx context.Context) (map[string]AutoSnapshotSettings, error) {
	db := s.DB.WithContext(ctx)
	var rds []ResourceDefinitionRow
	if err := db.Select("resource_name, resource_dsp_name, resource_group_name, flags").Find(&rds).Error; err != nil {
		return nil, err
	}
	ctrl, err := readProps(db, CtrlPropsInstance)
	if err != nil {
		return nil, err
	}
	rdProps, err := propsUnder(db, "/RESOURCEDEFINITIONS/")
	if err != nil {
		return nil, err
	}
	rgProps, err := propsUnder(db, "/RESOURCEGROUPS/")
	if err != nil {
		return nil, err
	}
	out := map[string]AutoSnapshotSettings{}
	for _, rd := range rds {
		if rd.Flags.Has(FlagDelete) {
			continue
		}
		if set := autoSnapshotSettings(rdProps[ResourceDefinitionInstance(rd.ResourceName)], rgProps[ResourceGroupInstance(rd.ResourceGroupName)], ctrl); set.RunEveryMinutes > 0 {
			out[rd.ResourceDspName] = set
		}
	}
	return out, nil
}

// AutoSnapshotSettingsOf is one definition's effective auto-snapshot
// settings (RunEveryMinutes 0: it takes none), read for it alone.
func (s *Store) AutoSnapshotSettingsOf(ctx context.Context, rd string) (AutoSnapshotSettings, error) {
	db := s.DB.WithContext(ctx)
	r, err := takeResourceDefinition(db, rd)
	if err != nil {
		if _, ok := AsError(err); ok {
			return AutoSnapshotSettings{}, nil // gone: it takes none
		}
		return AutoSnapshotSettings{}, err
	}
	if r.Flags.Has(FlagDelete) {
		return AutoSnapshotSettings{}, nil
	}
	var chain []map[string]string
	for _, inst := range []string{ResourceDefinitionInstance(r.ResourceName), ResourceGroupInstance(r.ResourceGroupName), CtrlPropsInstance} {
		props, err := readProps(db, inst)
		if err != nil {
			return AutoSnapshotSettings{}, err
		}
		chain = append(chain, props)
	}
	return autoSnapshotSettings(chain...), nil
}

// autoSnapshotSettings are the settings a property chain (definition,
// group, controller) gives; RunEveryMinutes ≤ 0 is 0: none.
func autoSnapshotSettings(chain ...map[string]string) AutoSnapshotSettings {
	every, _ := strconv.Atoi(Inherited(KeyAutoSnapshotRunEvery, chain...))
	if every <= 0 {
		return AutoSnapshotSettings{}
	}
	keep := DefaultAutoSnapshotKeep
	if v := Inherited(KeyAutoSnapshotKeep, chain...); v != "" {
		keep, _ = strconv.Atoi(v)
	}
	prefix := Inherited(KeyAutoSnapshotPrefix, chain...)
	if prefix == "" {
		prefix = DefaultAutoSnapshotPrefix
	}
	return AutoSnapshotSettings{RunEveryMinutes: every, Keep: keep, Prefix: prefix}
}

// NextAutoSnapshotName counts up the definition's AutoSnapshot/NextAutoId
// (the last id used) past the names taken and returns the next name:
// <prefix>00001, <prefix>00002, ...
func (s *Store) NextAutoSnapshotName(ctx context.Context, rd, prefix string) (string, error) {
	var name string
	err := s.Write(ctx, func(tx *gorm.DB) error {
		r, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return err
		}
		props, err := readProps(tx, ResourceDefinitionInstance(r.ResourceName))
		if err != nil {
			return err
		}
		id, _ := strconv.Atoi(props[KeyAutoSnapshotNextID])
		for {
			id++
			name = fmt.Sprintf("%s%05d", prefix, id)
			ok, err := found(tx.Take(&SnapshotDefinitionRow{}, "resource_name = ? AND snapshot_name = ?", r.ResourceName, Key(name)).Error)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
		return setProps(tx, ResourceDefinitionInstance(r.ResourceName), map[string]string{KeyAutoSnapshotNextID: strconv.Itoa(id)})
	})
	return name, err
}

// AutoSnapshotsBeyondKeep are the automatic snapshots of a definition to
// delete so that keep remain: the lowest-named ones flagged
// AUTO_SNAPSHOT and named <prefix><digits>. keep ≤ 0 keeps all; manual
// snapshots are never among them.
func (s *Store) AutoSnapshotsBeyondKeep(ctx context.Context, rd, prefix string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	var defs []SnapshotDefinitionRow
	if err := s.DB.WithContext(ctx).Where("resource_name = ?", Key(rd)).Find(&defs).Error; err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `[0-9]+$`)
	var auto []string
	for _, d := range defs {
		if d.Flags.Has(SnapshotAuto) && !d.Flags.Has(FlagDelete) && re.MatchString(d.SnapshotDspName) {
			auto = append(auto, d.SnapshotDspName)
		}
	}
	sort.Slice(auto, func(i, j int) bool { return strings.ToLower(auto[i]) < strings.ToLower(auto[j]) })
	if len(auto) <= keep {
		return nil, nil
	}
	return auto[:len(auto)-keep], nil
}
