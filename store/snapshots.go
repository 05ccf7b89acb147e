package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// Snapshot definition flags, as LINSTOR shows them.
const (
	SnapshotSuccessful       = "SUCCESSFUL"
	SnapshotFailedDeployment = "FAILED_DEPLOYMENT"
	SnapshotFailedDisconnect = "FAILED_DISCONNECT"
	SnapshotAuto             = "AUTO_SNAPSHOT"
	SnapshotSafety           = "SAFETY_SNAPSHOT"
)

// Phases of a snapshot's create or of a rollback to it. The nodes'
// desired states follow the phase, so whatever a crash interrupts, the
// next push of a node's state carries on from it.
const (
	// PhaseSuspend: I/O of every resource of the definition is suspended.
	PhaseSuspend = "suspend"
	// PhaseTake: still suspended, and each node listed takes the
	// snapshot of its volumes.
	PhaseTake = "take"
	// PhaseRollbackDown: the definition's resources are down and their
	// volumes removed; the snapshot stays.
	PhaseRollbackDown = "rollback-down"
	// PhaseRollbackRestore: the volumes are made again from the snapshot.
	PhaseRollbackRestore = "rollback-restore"
	// PhaseReceive: the snapshot is being downloaded from a backup.
	PhaseReceive = "receive"
)

// Volume properties that make a new volume a clone of a snapshot
// (LINSTOR's KEY_VLM_RESTORE_FROM_*); removed once it is deployed.
const (
	KeyRestoreFromResource  = "RestoreFromResource"
	KeyRestoreFromSnapshot  = "RestoreFromSnapshot"
	FlagRestoreFromSnapshot = "RESTORE_FROM_SNAPSHOT"
)

type SnapshotDefinitionRow struct {
	ResourceName    string `gorm:"primaryKey"`
	SnapshotName    string `gorm:"primaryKey"`
	SnapshotDspName string
	UUID            string `gorm:"column:uuid"`
	Flags           Flags
	Phase           string
	// ResourceDefinitionProps are the definition's properties at
	// snapshot time.
	ResourceDefinitionProps map[string]string `gorm:"serializer:json"`
}

func (SnapshotDefinitionRow) TableName() string { return "snapshot_definitions" }

type SnapshotVolumeDefinitionRow struct {
	ResourceName          string `gorm:"primaryKey"`
	SnapshotName          string `gorm:"primaryKey"`
	VlmNr                 int32  `gorm:"primaryKey;autoIncrement:false"`
	UUID                  string `gorm:"column:uuid"`
	SizeKib               int64
	Flags                 Flags
	VolumeDefinitionProps map[string]string `gorm:"serializer:json"`
}

func (SnapshotVolumeDefinitionRow) TableName() string { return "snapshot_volume_definitions" }

type SnapshotRow struct {
	ResourceName    string `gorm:"primaryKey"`
	SnapshotName    string `gorm:"primaryKey"`
	NodeName        string `gorm:"primaryKey"`
	UUID            string `gorm:"column:uuid"`
	Flags           Flags
	CreateTimestamp int64             // ms since the epoch; 0 until taken
	ResourceProps   map[string]string `gorm:"serializer:json"`
	// DrbdNodeID is the resource's DRBD node id when it was taken (nil
	// for parts recorded before it was kept).
	DrbdNodeID *int32 `gorm:"column:drbd_node_id"`
}

func (SnapshotRow) TableName() string { return "snapshots" }

type SnapshotVolumeRow struct {
	ResourceName string `gorm:"primaryKey"`
	SnapshotName string `gorm:"primaryKey"`
	NodeName     string `gorm:"primaryKey"`
	VlmNr        int32  `gorm:"primaryKey;autoIncrement:false"`
	UUID         string `gorm:"column:uuid"`
	StorPoolName string
	VolumeProps  map[string]string `gorm:"serializer:json"`
	// StateError is why the node could not take it.
	StateError string
}

func (SnapshotVolumeRow) TableName() string { return "snapshot_volumes" }

// Snapshot is a snapshot definition with everything snapshot list shows.
type Snapshot struct {
	SnapshotDefinitionRow
	ResourceDspName   string
	Props             map[string]string // of the snapshot definition
	VolumeDefinitions []SnapshotVolumeDefinitionRow
	Nodes             []NodeSnapshot
}

// NodeSnapshot is a snapshot's part on one node.
type NodeSnapshot struct {
	SnapshotRow
	NodeDspName string
	Volumes     []SnapshotVolume
}

// SnapshotVolume is one volume of a node's snapshot.
type SnapshotVolume struct {
	SnapshotVolumeRow
	StorPoolDspName string
}

// Successful tells whether the snapshot was taken on every node.
func (s SnapshotDefinitionRow) Successful() bool { return s.Flags.Has(SnapshotSuccessful) }

// SnapshotDefinitionInstance is the property container of a snapshot
// definition.
func SnapshotDefinitionInstance(rd, snap string) string {
	return "/SNAPSHOTDEFINITIONS/" + Key(rd) + "/" + Key(snap)
}

// CanSnapshot tells whether a pool takes snapshots: as its agent probed
// it, else by its provider (a FILE pool only once probed for reflinks).
func CanSnapshot(p StoragePoolRow) bool {
	if p.SupportsSnapshots != nil {
		return *p.SupportsSnapshots
	}
	return p.DriverName == ProviderLVMThin || p.DriverName == ProviderZFS || p.DriverName == ProviderZFSThin
}

func snapshotNotFound(rd, snap string) *Error {
	return notFound(KindSnapshot, "Snapshot '%s' of resource '%s' not found.", snap, rd)
}

func takeSnapshotDefinition(tx *gorm.DB, rd, snap string) (SnapshotDefinitionRow, error) {
	return take[SnapshotDefinitionRow](tx, snapshotNotFound(rd, snap), "resource_name = ? AND snapshot_name = ?", Key(rd), Key(snap))
}

// SnapshotSpec is one snapshot to create.
type SnapshotSpec struct {
	Resource, Name string
	// Nodes to take it on; none: every diskful resource's node.
	Nodes []string
	Props map[string]string
	Flags Flags // AUTO_SNAPSHOT, SAFETY_SNAPSHOT
	// Evacuation: the evacuation's own snapshot, taken on an evacuating
	// node.
	Evacuation bool `json:",omitempty"`
}

// CreatedSnapshot is a snapshot recorded by CreateSnapshots.
type CreatedSnapshot struct {
	SnapshotDefinitionRow
	ResourceDspName string
	// Nodes take it (display names); Holders are every node of the
	// definition, whose I/O is suspended while it is taken.
	Nodes, Holders []string
	// Skipped are nodes left out, with LINSTOR's warning.
	Skipped []string
}

// NodeAvailability says which nodes can take part in an operation now;
// nodes that are not online are keys of Offline.
type NodeAvailability struct{ Offline map[string]bool }

func (a NodeAvailability) online(nodeKey string) bool { return !a.Offline[nodeKey] }

// CreateSnapshots records snapshots of definitions, all in one
// transaction (a multi-snapshot is one crash-consistent group), with
// LINSTOR's checks in LINSTOR's order, in phase PhaseSuspend.
func (s *Store) CreateSnapshots(ctx context.Context, specs []SnapshotSpec, nodes NodeAvailability) ([]CreatedSnapshot, error) {
	var out []CreatedSnapshot
	err := s.Write(ctx, func(tx *gorm.DB) error {
		out = nil
		for _, sp := range specs {
			c, err := createSnapshot(tx, sp, nodes)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func createSnapshot(tx *gorm.DB, sp SnapshotSpec, avail NodeAvailability) (CreatedSnapshot, error) {
	rd, err := takeResourceDefinition(tx, sp.Resource)
	if err != nil {
		return CreatedSnapshot{}, err
	}
	dup := exists(KindSnapshot, "A snapshot definition with the name '%s' already exists in resource definition '%s'.", sp.Name, rd.ResourceDspName)
	if err := absent[SnapshotDefinitionRow](tx, dup, "resource_name = ? AND snapshot_name = ?", rd.ResourceName, Key(sp.Name)); err != nil {
		return CreatedSnapshot{}, err
	}
	if err := (PropsModify{OverrideProps: sp.Props}).Check(KindSnapshot); err != nil {
		return CreatedSnapshot{}, err
	}
	var rscs []ResourceRow
	if err := tx.Where("resource_name = ?", rd.ResourceName).Order("node_name").Find(&rscs).Error; err != nil {
		return CreatedSnapshot{}, err
	}
	var vols []VolumeRow
	if err := tx.Where("resource_name = ?", rd.ResourceName).Order("node_name, vlm_nr").Find(&vols).Error; err != nil {
		return CreatedSnapshot{}, err
	}
	nodes, err := nodeRows(tx)
	if err != nil {
		return CreatedSnapshot{}, err
	}
	c := CreatedSnapshot{ResourceDspName: rd.ResourceDspName}
	diskful := map[string]bool{}
	anyOnline := false
	for _, r := range rscs {
		if r.Flags.Has(FlagDelete) {
			continue
		}
		c.Holders = append(c.Holders, nodes[r.NodeName].NodeDspName)
		if Diskless(r.Flags) {
			continue
		}
		props, err := readProps(tx, ResourceInstance(r.ResourceName, r.NodeName))
		if err != nil {
			return CreatedSnapshot{}, err
		}
		if strings.EqualFold(props["DrbdOptions/SkipDisk"], "true") {
			e := refuse(Invalid, KindSnapshot, fmt.Sprintf("SkipDisk is enabled for resource %s", rd.ResourceDspName), "", "")
			e.Cause, e.Code = "Snapshots are not allowed while SkipDisk is enabled, because upToDate-state cannot be ensured.", apicall.FailSnapshotNotUpToDate
			return CreatedSnapshot{}, e
		}
		for _, v := range vols {
			if v.NodeName != r.NodeName {
				continue
			}
			var pool StoragePoolRow
			if err := tx.Take(&pool, "node_name = ? AND pool_name = ?", v.NodeName, v.StorPoolName).Error; err != nil {
				return CreatedSnapshot{}, err
			}
			if !CanSnapshot(pool) {
				e := refuse(Invalid, KindSnapshot, fmt.Sprintf("Storage driver '%s' does not support snapshots.", pool.DriverName), "", snapshotCorrection(pool))
				e.Cause, e.Code = fmt.Sprintf("Used for storage pool '%s' on '%s'.", poolDspName(tx, pool.PoolName), nodes[v.NodeName].NodeDspName), apicall.FailSnapshotsNotSupported
				return CreatedSnapshot{}, e
			}
		}
		diskful[r.NodeName] = true
		anyOnline = anyOnline || avail.online(r.NodeName)
	}
	if !anyOnline {
		e := refuse(Invalid, KindSnapshot, "No diskful connected satellite for snapshot or no resources.", "", "")
		e.Cause, e.Code = "Snapshots need at least one diskful online satellite.", apicall.FailNotConnected
		return CreatedSnapshot{}, e
	}
	var take []string // node keys
	if len(sp.Nodes) == 0 {
		for _, r := range rscs {
			if diskful[r.NodeName] {
				take = append(take, r.NodeName)
			}
		}
	} else {
		for _, n := range sp.Nodes {
			k := Key(n)
			held := slices.ContainsFunc(rscs, func(r ResourceRow) bool { return r.NodeName == k && !r.Flags.Has(FlagDelete) })
			if !held {
				return CreatedSnapshot{}, rscNotFound(rd.ResourceDspName, n)
			}
			if !diskful[k] {
				e := refuse(Invalid, KindSnapshot, fmt.Sprintf("Cannot create snapshot from diskless resource on node '%s'", n), "", "")
				e.Code = apicall.FailSnapshotsNotSupported
				return CreatedSnapshot{}, e
			}
			take = append(take, k)
		}
	}
	var kept []string
	for _, k := range take {
		n := nodes[k]
		switch {
		case n.Flags.Has(FlagEvacuate) && !sp.Evacuation:
			c.Skipped = append(c.Skipped, fmt.Sprintf("Snapshot for resource '%s' will not be created on node '%s' because that node is currently evacuating.", rd.ResourceDspName, n.NodeDspName))
		case !avail.online(k):
			c.Skipped = append(c.Skipped, fmt.Sprintf("Snapshot for resource '%s' will not be created on node '%s' because that node is currently offline.", rd.ResourceDspName, n.NodeDspName))
		default:
			kept = append(kept, k)
			c.Nodes = append(c.Nodes, n.NodeDspName)
		}
	}
	if len(kept) == 0 {
		return CreatedSnapshot{}, notFound(KindResource, "No resources found for snapshotting")
	}
	rdProps, err := readProps(tx, ResourceDefinitionInstance(rd.ResourceName))
	if err != nil {
		return CreatedSnapshot{}, err
	}
	c.SnapshotDefinitionRow = SnapshotDefinitionRow{ResourceName: rd.ResourceName, SnapshotName: Key(sp.Name), SnapshotDspName: sp.Name, UUID: uuid.NewString(),
		Flags: sp.Flags, Phase: PhaseSuspend, ResourceDefinitionProps: rdProps}
	if err := tx.Create(&c.SnapshotDefinitionRow).Error; err != nil {
		return CreatedSnapshot{}, err
	}
	if err := touchDefinition(tx, rd.ResourceName); err != nil {
		return CreatedSnapshot{}, err
	}
	if err := setProps(tx, SnapshotDefinitionInstance(rd.ResourceName, sp.Name), sp.Props); err != nil {
		return CreatedSnapshot{}, err
	}
	var vds []VolumeDefinitionRow
	if err := tx.Where("resource_name = ?", rd.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
		return CreatedSnapshot{}, err
	}
	for _, vd := range vds {
		props, err := readProps(tx, VolumeDefinitionInstance(rd.ResourceName, vd.VlmNr))
		if err != nil {
			return CreatedSnapshot{}, err
		}
		row := SnapshotVolumeDefinitionRow{ResourceName: rd.ResourceName, SnapshotName: Key(sp.Name), VlmNr: vd.VlmNr, UUID: uuid.NewString(), SizeKib: vd.VlmSize,
			Flags: vd.Flags, VolumeDefinitionProps: props}
		if err := tx.Create(&row).Error; err != nil {
			return CreatedSnapshot{}, err
		}
	}
	for _, k := range kept {
		props, err := readProps(tx, ResourceInstance(rd.ResourceName, k))
		if err != nil {
			return CreatedSnapshot{}, err
		}
		row := SnapshotRow{ResourceName: rd.ResourceName, SnapshotName: Key(sp.Name), NodeName: k, UUID: uuid.NewString(), ResourceProps: props}
		for _, r := range rscs {
			if r.NodeName == k {
				id := r.DrbdNodeID
				row.DrbdNodeID = &id
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return CreatedSnapshot{}, err
		}
		for _, v := range vols {
			if v.NodeName != k {
				continue
			}
			props, err := readProps(tx, VolumeInstance(rd.ResourceName, k, v.VlmNr))
			if err != nil {
				return CreatedSnapshot{}, err
			}
			sv := SnapshotVolumeRow{ResourceName: rd.ResourceName, SnapshotName: Key(sp.Name), NodeName: k, VlmNr: v.VlmNr, UUID: uuid.NewString(), StorPoolName: v.StorPoolName, VolumeProps: props}
			if err := tx.Create(&sv).Error; err != nil {
				return CreatedSnapshot{}, err
			}
		}
	}
	return c, nil
}

// snapshotCorrection tells a FILE pool's user why it cannot snapshot.
func snapshotCorrection(p StoragePoolRow) string {
	if p.DriverName == ProviderFile || p.DriverName == ProviderFileThin {
		return "A FILE pool takes snapshots as reflinks: put its directory on a file system that has them (XFS made with mkfs.xfs -m reflink=1, or btrfs)."
	}
	return "Use a storage pool of a provider that takes snapshots (LVM_THIN, ZFS, ZFS_THIN, or FILE on a file system with reflinks)."
}

func poolDspName(tx *gorm.DB, key string) string {
	var d StorPoolDefinitionRow
	if tx.Take(&d, "pool_name = ?", key).Error != nil {
		return key
	}
	return d.PoolDspName
}

// snapshotParts are a snapshot's parts by node, and every node by key.
func snapshotParts(tx *gorm.DB, def SnapshotDefinitionRow) ([]SnapshotRow, map[string]NodeRow, error) {
	var parts []SnapshotRow
	if err := tx.Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Order("node_name").Find(&parts).Error; err != nil {
		return nil, nil, err
	}
	nodes, err := nodeRows(tx)
	return parts, nodes, err
}

// nodeRows are every node, by key.
func nodeRows(tx *gorm.DB) (map[string]NodeRow, error) {
	var rows []NodeRow
	if err := tx.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]NodeRow, len(rows))
	for _, n := range rows {
		out[n.NodeName] = n
	}
	return out, nil
}

// SetSnapshotPhase moves snapshots of one operation to a phase together.
func (s *Store) SetSnapshotPhase(ctx context.Context, phase string, snaps ...SnapshotRef) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		for _, r := range snaps {
			if err := tx.Model(&SnapshotDefinitionRow{}).Where("resource_name = ? AND snapshot_name = ?", Key(r.Resource), Key(r.Snapshot)).Update("phase", phase).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// SnapshotRef names a snapshot.
type SnapshotRef struct{ Resource, Snapshot string }

// FinishSnapshots ends snapshots' create: flag is SUCCESSFUL (and every
// node's part gets the time stamp taken) or FAILED_*; their phase ends,
// which resumes I/O. A failed snapshot keeps its definition, as
// LINSTOR's does, but its nodes no longer keep its storage.
func (s *Store) FinishSnapshots(ctx context.Context, flag string, taken int64, snaps ...SnapshotRef) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		for _, r := range snaps {
			def, err := takeSnapshotDefinition(tx, r.Resource, r.Snapshot)
			if err != nil {
				return err
			}
			if err := tx.Model(&def).Updates(map[string]any{"flags": def.Flags.With(flag), "phase": ""}).Error; err != nil {
				return err
			}
			if err := touchDefinition(tx, def.ResourceName); err != nil {
				return err
			}
			if flag == SnapshotSuccessful {
				if err := tx.Model(&SnapshotRow{}).Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Update("create_timestamp", taken).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// SnapshotFilter selects snapshots by definition, node and name (empty:
// all); names compare case-insensitively.
type SnapshotFilter struct {
	Resources, Nodes, Snapshots []string
}

// ListSnapshots returns the snapshots that pass the filter, ordered by
// definition and name: the data of snapshot list. A snapshot passes the
// node filter when it has a part on one of the nodes.
func (s *Store) ListSnapshots(ctx context.Context, f SnapshotFilter) ([]Snapshot, error) {
	db := s.DB.WithContext(ctx)
	q := db.Order("resource_name, snapshot_name")
	if len(f.Resources) > 0 {
		q = q.Where("resource_name IN ?", keys(f.Resources))
	}
	if len(f.Snapshots) > 0 {
		q = q.Where("snapshot_name IN ?", keys(f.Snapshots))
	}
	if len(f.Nodes) > 0 {
		q = q.Where("EXISTS (SELECT 1 FROM snapshots n WHERE n.resource_name = snapshot_definitions.resource_name AND n.snapshot_name = snapshot_definitions.snapshot_name AND n.node_name IN ?)", keys(f.Nodes))
	}
	var defs []SnapshotDefinitionRow
	if err := q.Find(&defs).Error; err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	if len(defs) == 0 {
		return nil, nil
	}
	narrow := func(q *gorm.DB) *gorm.DB {
		if len(f.Resources) > 0 {
			q = q.Where("resource_name IN ?", keys(f.Resources))
		}
		if len(f.Snapshots) > 0 {
			q = q.Where("snapshot_name IN ?", keys(f.Snapshots))
		}
		return q
	}
	var vds []SnapshotVolumeDefinitionRow
	if err := narrow(db.Order("resource_name, snapshot_name, vlm_nr")).Find(&vds).Error; err != nil {
		return nil, err
	}
	var parts []SnapshotRow
	if err := narrow(db.Order("resource_name, snapshot_name, node_name")).Find(&parts).Error; err != nil {
		return nil, err
	}
	var vols []SnapshotVolumeRow
	if err := narrow(db.Order("resource_name, snapshot_name, node_name, vlm_nr")).Find(&vols).Error; err != nil {
		return nil, err
	}
	names, err := readSnapshotNames(db, f.Resources)
	if err != nil {
		return nil, err
	}
	props, err := propsUnder(db, snapshotPropsPrefixes(f.Resources)...)
	if err != nil {
		return nil, err
	}
	type key struct{ rd, snap string }
	byDef := make(map[key]*Snapshot, len(defs))
	out := make([]Snapshot, len(defs))
	for i, d := range defs {
		out[i] = Snapshot{SnapshotDefinitionRow: d, ResourceDspName: names.resources[d.ResourceName], Props: props[SnapshotDefinitionInstance(d.ResourceName, d.SnapshotName)]}
		byDef[key{d.ResourceName, d.SnapshotName}] = &out[i]
	}
	for _, vd := range vds {
		if sn := byDef[key{vd.ResourceName, vd.SnapshotName}]; sn != nil {
			sn.VolumeDefinitions = append(sn.VolumeDefinitions, vd)
		}
	}
	type partKey struct{ rd, snap, node string }
	volsOf := map[partKey][]SnapshotVolume{}
	for _, v := range vols {
		k := partKey{v.ResourceName, v.SnapshotName, v.NodeName}
		volsOf[k] = append(volsOf[k], SnapshotVolume{SnapshotVolumeRow: v, StorPoolDspName: names.pools[v.StorPoolName]})
	}
	wantNode := map[string]bool{}
	for _, n := range keys(f.Nodes) {
		wantNode[n] = true
	}
	for _, p := range parts {
		sn := byDef[key{p.ResourceName, p.SnapshotName}]
		if sn == nil || (len(wantNode) > 0 && !wantNode[p.NodeName]) {
			continue
		}
		sn.Nodes = append(sn.Nodes, NodeSnapshot{SnapshotRow: p, NodeDspName: names.nodes[p.NodeName], Volumes: volsOf[partKey{p.ResourceName, p.SnapshotName, p.NodeName}]})
	}
	return out, nil
}

// GetSnapshot returns one snapshot.
func (s *Store) GetSnapshot(ctx context.Context, rd, snap string) (Snapshot, error) {
	if _, err := takeResourceDefinition(s.DB.WithContext(ctx), rd); err != nil {
		return Snapshot{}, err
	}
	list, err := s.ListSnapshots(ctx, SnapshotFilter{Resources: []string{rd}, Snapshots: []string{snap}})
	if err != nil {
		return Snapshot{}, err
	}
	if len(list) == 0 {
		return Snapshot{}, snapshotNotFound(rd, snap)
	}
	return list[0], nil
}

// snapshotNames are the names as typed of what snapshots refer to, by
// key.
type snapshotNames struct {
	resources, nodes, pools map[string]string
}

// readSnapshotNames reads them for the definitions named (nil: all).
func readSnapshotNames(db *gorm.DB, rds []string) (snapshotNames, error) {
	var out snapshotNames
	var err error
	if out.resources, err = displayNames[ResourceDefinitionRow](db, "resource_name", "resource_dsp_name", rds...); err != nil {
		return out, err
	}
	if out.nodes, err = displayNames[NodeRow](db, "node_name", "node_dsp_name"); err != nil {
		return out, err
	}
	out.pools, err = displayNames[StorPoolDefinitionRow](db, "pool_name", "pool_dsp_name")
	return out, err
}

// snapshotPropsPrefixes are the property containers of the definitions'
// snapshots (all when none are named).
func snapshotPropsPrefixes(rds []string) []string {
	if len(rds) == 0 {
		return []string{"/SNAPSHOTDEFINITIONS/"}
	}
	out := make([]string, len(rds))
	for i, rd := range rds {
		out[i] = "/SNAPSHOTDEFINITIONS/" + Key(rd) + "/"
	}
	return out
}

// MarkSnapshotDeleting flags a snapshot's parts on nodes (all when nodes
// is empty) for deletion, and the definition too when no part is left;
// the nodes then remove them and their rows go (PurgeDeletedSnapshots).
// It returns the nodes marked and the nodes named that hold no part.
func (s *Store) MarkSnapshotDeleting(ctx context.Context, rd, snap string, nodes []string) (SnapshotDefinitionRow, []string, []string, error) {
	var def SnapshotDefinitionRow
	var marked, missing []string
	err := s.Write(ctx, func(tx *gorm.DB) error {
		marked, missing = nil, nil
		var err error
		if _, err = takeResourceDefinition(tx, rd); err != nil {
			return err
		}
		if def, err = takeSnapshotDefinition(tx, rd, snap); err != nil {
			return err
		}
		parts, all, err := snapshotParts(tx, def)
		if err != nil {
			return err
		}
		want := map[string]bool{}
		for _, n := range nodes {
			want[Key(n)] = true
			if !slices.ContainsFunc(parts, func(p SnapshotRow) bool { return p.NodeName == Key(n) }) {
				missing = append(missing, n)
			}
		}
		left := 0
		for _, p := range parts {
			if len(nodes) > 0 && !want[p.NodeName] {
				if !p.Flags.Has(FlagDelete) {
					left++
				}
				continue
			}
			if err := tx.Model(&p).Update("flags", p.Flags.With(FlagDelete)).Error; err != nil {
				return err
			}
			marked = append(marked, all[p.NodeName].NodeDspName)
		}
		if left == 0 {
			def.Flags = def.Flags.With(FlagDelete)
			if err := tx.Model(&def).Update("flags", def.Flags).Error; err != nil {
				return err
			}
		}
		if err := touchDefinition(tx, def.ResourceName); err != nil {
			return err
		}
		return purgeSnapshotDefinition(tx, def)
	})
	return def, marked, missing, err
}

// purgeSnapshotDefinition removes a definition marked for deletion once
// no node holds a part of it.
func purgeSnapshotDefinition(tx *gorm.DB, def SnapshotDefinitionRow) error {
	if !def.Flags.Has(FlagDelete) {
		return nil
	}
	var n int64
	if err := tx.Model(&SnapshotRow{}).Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	if err := dropProps(tx, []string{SnapshotDefinitionInstance(def.ResourceName, def.SnapshotName)}); err != nil {
		return err
	}
	return tx.Delete(&def).Error
}

// PurgeDeletedSnapshots removes the rows of a node's snapshot parts
// marked for deletion that its agent no longer has (present lists the
// snapshots it still has, by display or key names; parts in pools the
// agent could not read stay), and then definitions left without parts.
func (s *Store) PurgeDeletedSnapshots(ctx context.Context, node string, present []SnapshotRef, failedPools []string) error {
	var parts []SnapshotRow
	db := s.DB.WithContext(ctx)
	if err := db.Where("node_name = ? AND (flags = ? OR flags LIKE ? OR flags LIKE ? OR flags LIKE ?)", Key(node), FlagDelete, FlagDelete+",%", "%,"+FlagDelete, "%,"+FlagDelete+",%").Find(&parts).Error; err != nil {
		return err
	}
	if len(parts) == 0 {
		return nil
	}
	has := map[SnapshotRef]bool{}
	for _, p := range present {
		has[SnapshotRef{Key(p.Resource), Key(p.Snapshot)}] = true
	}
	if len(failedPools) > 0 {
		var unread []SnapshotVolumeRow
		if err := db.Where("node_name = ? AND stor_pool_name IN ?", Key(node), keys(failedPools)).Find(&unread).Error; err != nil {
			return err
		}
		for _, v := range unread {
			has[SnapshotRef{v.ResourceName, v.SnapshotName}] = true
		}
	}
	var gone []SnapshotRow
	for _, p := range parts {
		if !has[SnapshotRef{p.ResourceName, p.SnapshotName}] {
			gone = append(gone, p)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return s.Write(ctx, func(tx *gorm.DB) error {
		for _, p := range gone {
			if err := tx.Delete(&p).Error; err != nil {
				return err
			}
			if err := touchDefinition(tx, p.ResourceName); err != nil {
				return err
			}
			def, err := takeSnapshotDefinition(tx, p.ResourceName, p.SnapshotName)
			if err != nil {
				continue // gone with another part
			}
			if err := purgeSnapshotDefinition(tx, def); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetSnapshotVolumeErrors records why a node could not take or keep
// snapshot volumes, by snapshot and volume number ("" clears); only
// what changed is written.
func (s *Store) SetSnapshotVolumeErrors(ctx context.Context, node string, errs map[SnapshotRef]map[int32]string) error {
	if len(errs) == 0 {
		return nil
	}
	var cur []SnapshotVolumeRow
	if err := s.DB.WithContext(ctx).Select("resource_name, snapshot_name, node_name, vlm_nr, state_error").Where("node_name = ?", Key(node)).Find(&cur).Error; err != nil {
		return err
	}
	var changed []SnapshotVolumeRow
	for _, v := range cur {
		byNr, ok := errs[SnapshotRef{v.ResourceName, v.SnapshotName}]
		if !ok {
			continue
		}
		if why, ok := byNr[v.VlmNr]; ok && why != v.StateError {
			v.StateError = why
			changed = append(changed, v)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return s.Write(ctx, func(tx *gorm.DB) error {
		for _, v := range changed {
			if err := tx.Model(&SnapshotVolumeRow{}).Where("resource_name = ? AND snapshot_name = ? AND node_name = ? AND vlm_nr = ?", v.ResourceName, v.SnapshotName, v.NodeName, v.VlmNr).
				Update("state_error", v.StateError).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// NodeSnapshotState is a snapshot part the node's desired state names.
type NodeSnapshotState struct {
	Resource, Snapshot string // display names
	Phase              string
	// Keep: the part is taken and must stay; Take: it is being taken;
	// Receive: it is being downloaded or shipped from another node.
	Keep, Take, Receive bool
	Volumes             []SnapshotVolume
}

// NodeSnapshots are the snapshot parts of a node that its state names,
// and the definitions whose I/O it must hold suspended (display names).
func (s *Store) NodeSnapshots(ctx context.Context, node string) ([]NodeSnapshotState, []string, error) {
	db := s.DB.WithContext(ctx)
	var rows []struct {
		SnapshotRow
		DefFlags        Flags
		Phase           string
		SnapshotDspName string
	}
	if err := db.Raw(`SELECT n.*, d.flags AS def_flags, d.phase, d.snapshot_dsp_name FROM snapshots n JOIN snapshot_definitions d ON d.resource_name = n.resource_name AND d.snapshot_name = n.snapshot_name
		WHERE n.node_name = ? ORDER BY n.resource_name, n.snapshot_name`, Key(node)).Scan(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("snapshots of node %s: %w", node, err)
	}
	var out []NodeSnapshotState
	if len(rows) > 0 {
		var vols []SnapshotVolumeRow
		if err := db.Where("node_name = ?", Key(node)).Order("resource_name, snapshot_name, vlm_nr").Find(&vols).Error; err != nil {
			return nil, nil, err
		}
		volsOf := map[SnapshotRef][]SnapshotVolumeRow{}
		for _, v := range vols {
			ref := SnapshotRef{v.ResourceName, v.SnapshotName}
			volsOf[ref] = append(volsOf[ref], v)
		}
		var rds []string
		for _, r := range rows {
			if len(rds) == 0 || rds[len(rds)-1] != r.ResourceName {
				rds = append(rds, r.ResourceName)
			}
		}
		names, err := readSnapshotNames(db, rds)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			st := NodeSnapshotState{Resource: names.resources[r.ResourceName], Snapshot: r.SnapshotDspName, Phase: r.Phase}
			live := !r.Flags.Has(FlagDelete) && !r.DefFlags.Has(FlagDelete)
			st.Take = live && r.Phase == PhaseTake
			st.Keep = live && (r.DefFlags.Has(SnapshotSuccessful) || r.Phase == PhaseRollbackDown || r.Phase == PhaseRollbackRestore || r.Phase == PhaseReceive)
			st.Receive = r.Phase == PhaseReceive || r.Flags.Has(flagReceiving)
			if !st.Take && !st.Keep {
				continue
			}
			for _, v := range volsOf[SnapshotRef{r.ResourceName, r.SnapshotName}] {
				st.Volumes = append(st.Volumes, SnapshotVolume{SnapshotVolumeRow: v, StorPoolDspName: names.pools[v.StorPoolName]})
			}
			out = append(out, st)
		}
	}
	var suspended []string
	if err := db.Raw(`SELECT DISTINCT r.resource_dsp_name FROM resource_definitions r JOIN snapshot_definitions d ON d.resource_name = r.resource_name
		JOIN resources x ON x.resource_name = r.resource_name WHERE x.node_name = ? AND d.phase IN ? ORDER BY r.resource_dsp_name`, Key(node), []string{PhaseSuspend, PhaseTake}).Scan(&suspended).Error; err != nil {
		return nil, nil, err
	}
	return out, suspended, nil
}

// ModifySnapshot changes a snapshot definition's properties.
func (s *Store) ModifySnapshot(ctx context.Context, rd, snap string, m PropsModify) (SnapshotDefinitionRow, error) {
	return modifyProps(s, ctx, KindSnapshot, m, SnapshotDefinitionInstance(rd, snap), func(tx *gorm.DB) (SnapshotDefinitionRow, error) {
		r, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return SnapshotDefinitionRow{}, err
		}
		if err := touchDefinition(tx, r.ResourceName); err != nil {
			return SnapshotDefinitionRow{}, err
		}
		return takeSnapshotDefinition(tx, rd, snap)
	})
}
