package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// LINSTOR's flags and properties of evacuation and eviction. A node being
// evacuated and its resources are flagged EVACUATE until the node is
// deleted or restored; an evicted node (and its resources) EVICTED. A
// replica that replaces another names it in MigrateFrom until the old one
// is gone, and says who gave it its disk in DiskfulBy.
const (
	FlagEvacuate                  = "EVACUATE"
	FlagEvicted                   = "EVICTED"
	FlagInactiveBeforeEviction    = "INACTIVE_BEFORE_EVICTION"
	KeyMigrateFrom                = "MigrateFrom"
	KeyDiskfulBy                  = "DiskfulBy"
	DiskfulByAutoPlacer           = "auto-placer"
	KeyMaxConcurrentMoves         = "Evacuation/MaxConcurrentMovesPerNode"
	evacuationSnapshotPrefix      = "strata-evacuation-"
	flagReceiving                 = "RECEIVING"
	defaultMaxConcurrentMovesNode = 8
)

// EvacuationMoving slots bound the replicas an evacuation moves at once
// from or to a node (KeyMaxConcurrentMoves).
var EvacuationMoving = SlotKind{Name: "evacuation", Property: KeyMaxConcurrentMoves, Default: defaultMaxConcurrentMovesNode}

// EvacuationSnapshot is the name of the n-th snapshot an evacuation takes
// of a resource whose data Strata moves itself.
func EvacuationSnapshot(n int) string { return fmt.Sprintf("%s%d", evacuationSnapshotPrefix, n) }

// placeable tells whether the autoplacer may put replicas on a node: not
// while it is evacuated, evicted or deleted.
func placeable(n NodeRow) bool {
	return !n.Flags.Has(FlagEvacuate) && !n.Flags.Has(FlagEvicted) && !n.Flags.Has(FlagDelete)
}

// EvacuateNode flags a node and each of its resources EVACUATE, and
// returns the definitions (display names) with a resource on it that is
// not being deleted. A node evacuated before is flagged again, and its
// remaining resources are returned again.
func (s *Store) EvacuateNode(ctx context.Context, node string) (NodeRow, []string, error) {
	return s.flagNode(ctx, node, func(n *NodeRow) error {
		if n.Flags.Has(FlagEvicted) {
			return refuse(Invalid, KindNode, fmt.Sprintf("Node '%s' is evicted.", n.NodeDspName), "An evicted node's resources are being replaced already.", "Restore the node first (node restore).")
		}
		n.Flags = n.Flags.With(FlagEvacuate)
		return nil
	}, func(f Flags) Flags { return f.With(FlagEvacuate) })
}

// flagNode changes a node (its flags, its eviction time; change may
// refuse) and the flags of each of its resources that is not being
// deleted, and returns the definitions (display names) of those
// resources.
func (s *Store) flagNode(ctx context.Context, node string, change func(*NodeRow) error, rscFlags func(Flags) Flags) (NodeRow, []string, error) {
	var row NodeRow
	var rds []string
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		rds = nil
		if row, err = takeNode(tx, node); err != nil {
			return err
		}
		if err := change(&row); err != nil {
			return err
		}
		if err := tx.Model(&row).Updates(map[string]any{"flags": row.Flags, "eviction_timestamp": row.EvictionTimestamp}).Error; err != nil {
			return err
		}
		var rscs []ResourceRow
		if err := tx.Where("node_name = ?", row.NodeName).Order("resource_name").Find(&rscs).Error; err != nil {
			return err
		}
		for _, r := range rscs {
			if r.Flags.Has(FlagDelete) {
				continue
			}
			if err := tx.Model(&r).Update("flags", rscFlags(r.Flags)).Error; err != nil {
				return err
			}
			if err := touchDefinition(tx, r.ResourceName); err != nil {
				return err
			}
			var rd ResourceDefinitionRow
			if err := tx.Take(&rd, "resource_name = ?", r.ResourceName).Error; err != nil {
				return err
			}
			rds = append(rds, rd.ResourceDspName)
		}
		return nil
	})
	return row, rds, err
}

// MigrationSpec is a replica that replaces the one of From: an existing
// diskless resource of To given a disk (Toggle), or a new one, in Pool.
type MigrationSpec struct {
	Resource, From, To, Pool string
	Toggle                   bool
	// By is who gives the replica its disk (DiskfulBy): "" for the
	// auto-placer, DiskfulByUser for a migrate-disk.
	By string `json:",omitempty"`
}

// DiskfulByUser is DiskfulBy of a disk the user asked for.
const DiskfulByUser = "user"

// StartMigration records the replica that replaces From's, naming it in
// MigrateFrom, with DiskfulBy auto-placer.
func (s *Store) StartMigration(ctx context.Context, sp MigrationSpec) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		from, err := takeNode(tx, sp.From)
		if err != nil {
			return err
		}
		by := sp.By
		if by == "" {
			by = DiskfulByAutoPlacer
		}
		props := map[string]string{KeyMigrateFrom: from.NodeDspName, KeyDiskfulBy: by}
		if sp.Toggle {
			if row, err = toggleDisk(tx, sp.Resource, sp.To, true, sp.Pool); err != nil {
				return err
			}
			return setProps(tx, ResourceInstance(row.ResourceName, row.NodeName), props)
		}
		rd, err := takeResourceDefinition(tx, sp.Resource)
		if err != nil {
			return err
		}
		var vds []VolumeDefinitionRow
		if err := tx.Where("resource_name = ?", rd.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		props[KeyStorPoolName] = sp.Pool
		row, err = createResource(tx, rd, ResourceSpec{Node: sp.To, Props: props}, vds)
		return err
	})
	return row, err
}

// FinishMigration removes the replica of From that the one of To
// replaces (marked for deletion, as resource delete does) and clears
// MigrateFrom. It reports whether From's resource went at once.
func (s *Store) FinishMigration(ctx context.Context, rd, from, to string) (bool, error) {
	gone := false
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		gone = false
		if row, err := takeResource(tx, rd, to); err == nil {
			if err := applyProps(tx, ResourceInstance(row.ResourceName, row.NodeName), PropsModify{DeleteProps: []string{KeyMigrateFrom}}); err != nil {
				return err
			}
		}
		old, err := takeResource(tx, rd, from)
		if _, ok := AsError(err); ok {
			gone = true
			return nil // removed before
		}
		if err != nil || old.Flags.Has(FlagDelete) {
			return err
		}
		gone, err = markDeleting(tx, old)
		return err
	})
	return gone, err
}

// ReceiveSnapshotPart records that a node receives a snapshot of a
// definition from another node of the cluster, into Pool: its part is
// flagged RECEIVING, so that the node keeps what arrives and does not miss
// it until then. Recorded before, it is kept as it is.
func (s *Store) ReceiveSnapshotPart(ctx context.Context, rd, snap, node, pool string) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		def, err := takeSnapshotDefinition(tx, rd, snap)
		if err != nil {
			return err
		}
		n, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		if ok, err := found(tx.Take(&SnapshotRow{}, "resource_name = ? AND snapshot_name = ? AND node_name = ?", def.ResourceName, def.SnapshotName, n.NodeName).Error); err != nil || ok {
			return err
		}
		if _, err := take[StoragePoolRow](tx, spNotFound(n.NodeDspName, Key(pool)), "node_name = ? AND pool_name = ?", n.NodeName, Key(pool)); err != nil {
			return err
		}
		var svds []SnapshotVolumeDefinitionRow
		if err := tx.Where("resource_name = ? AND snapshot_name = ?", def.ResourceName, def.SnapshotName).Find(&svds).Error; err != nil {
			return err
		}
		if err := tx.Create(&SnapshotRow{ResourceName: def.ResourceName, SnapshotName: def.SnapshotName, NodeName: n.NodeName, UUID: uuid.NewString(), Flags: NewFlags(flagReceiving), CreateTimestamp: nowMs()}).Error; err != nil {
			return err
		}
		for _, v := range svds {
			if err := tx.Create(&SnapshotVolumeRow{ResourceName: def.ResourceName, SnapshotName: def.SnapshotName, NodeName: n.NodeName, VlmNr: v.VlmNr, UUID: uuid.NewString(), StorPoolName: Key(pool)}).Error; err != nil {
				return err
			}
		}
		return touchDefinition(tx, def.ResourceName)
	})
}

// MoveResource creates a definition's resource on node to, each volume a
// clone of the node's part of the snapshot (received from the node the
// resource moves from), in that part's pool.
func (s *Store) MoveResource(ctx context.Context, rd, snap, from, to string) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		def, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return err
		}
		sdef, err := takeSnapshotDefinition(tx, rd, snap)
		if err != nil {
			return err
		}
		n, err := takeNode(tx, to)
		if err != nil {
			return err
		}
		if existing, err := takeResource(tx, rd, to); err == nil {
			row = existing // made before
			return nil
		}
		var svols []SnapshotVolumeRow
		if err := tx.Where("resource_name = ? AND snapshot_name = ? AND node_name = ?", def.ResourceName, sdef.SnapshotName, n.NodeName).Order("vlm_nr").Find(&svols).Error; err != nil {
			return err
		}
		if len(svols) == 0 {
			return notFound(KindSnapshot, "Snapshot '%s' of resource '%s' not found on node '%s'.", sdef.SnapshotDspName, def.ResourceDspName, n.NodeDspName)
		}
		props := map[string]string{KeyMigrateFrom: from, KeyStorPoolName: poolDspName(tx, svols[0].StorPoolName)}
		if row, err = createResource(tx, def, ResourceSpec{Node: to, Props: props, Flags: NewFlags(FlagRestoreFromSnapshot)}, nil); err != nil {
			return err
		}
		var vds []VolumeDefinitionRow
		if err := tx.Where("resource_name = ?", def.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		for _, vd := range vds {
			if err := restoreVolume(tx, def, sdef, def, row, n.NodeDspName, vd, svols, nil); err != nil {
				return err
			}
		}
		return nil
	})
	return row, err
}

// RestoreNodeResult is what node restore did: the definitions whose
// resources on the node changed, and the resources kept although the
// request asked to delete them (each the last diskful one of its
// definition).
type RestoreNodeResult struct {
	Node        NodeRow
	Definitions []string
	Kept        []string
}

// RestoreNode ends a node's eviction or evacuation, as LINSTOR's node
// restore: the node's EVICTED and EVACUATE flags go; with
// deleteResources every resource on it is deleted but the last diskful
// one of its definition, otherwise its resources lose those flags (an
// evicted, inactive one becomes inactive again); with deleteSnapshots
// its snapshots are deleted. A node that is neither is refused.
func (s *Store) RestoreNode(ctx context.Context, node string, deleteResources, deleteSnapshots bool) (RestoreNodeResult, error) {
	var out RestoreNodeResult
	err := s.Write(ctx, func(tx *gorm.DB) error {
		out = RestoreNodeResult{}
		n, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		if !n.Flags.Has(FlagEvicted) && !n.Flags.Has(FlagEvacuate) {
			e := refuse(Invalid, KindNode, fmt.Sprintf("Node '%s' is neither evicted nor evacuated.", n.NodeDspName), "", "")
			e.Code = apicall.MaskError // LINSTOR's bare error
			return e
		}
		n.Flags = n.Flags.Without(FlagEvicted).Without(FlagEvacuate)
		if err := tx.Model(&n).Update("flags", n.Flags).Error; err != nil {
			return err
		}
		out.Node = n
		var rscs []ResourceRow
		if err := tx.Where("node_name = ?", n.NodeName).Order("resource_name").Find(&rscs).Error; err != nil {
			return err
		}
		for _, r := range rscs {
			var rd ResourceDefinitionRow
			if err := tx.Take(&rd, "resource_name = ?", r.ResourceName).Error; err != nil {
				return err
			}
			out.Definitions = append(out.Definitions, rd.ResourceDspName)
			flags := r.Flags.Without(FlagEvacuate).Without(FlagEvicted).Without(FlagInactiveBeforeEviction)
			if r.Flags.Has(FlagInactiveBeforeEviction) {
				flags = flags.With(FlagInactive)
			}
			if err := tx.Model(&r).Update("flags", flags).Error; err != nil {
				return err
			}
			r.Flags = flags
			if !deleteResources || r.Flags.Has(FlagDelete) {
				continue
			}
			last, err := lastDiskful(tx, r)
			if err != nil {
				return err
			}
			if last {
				out.Kept = append(out.Kept, rd.ResourceDspName)
				continue
			}
			if _, err := markDeleting(tx, r); err != nil {
				return err
			}
		}
		if deleteSnapshots {
			if err := tx.Model(&SnapshotRow{}).Where("node_name = ?", n.NodeName).Update("flags", NewFlags(FlagDelete)).Error; err != nil {
				return err
			}
		}
		for _, rd := range out.Definitions {
			if err := touchDefinition(tx, Key(rd)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// lastDiskful tells whether r is the last diskful resource of its
// definition that is not being deleted.
func lastDiskful(tx *gorm.DB, r ResourceRow) (bool, error) {
	if Diskless(r.Flags) {
		return false, nil
	}
	var peers []ResourceRow
	if err := tx.Where("resource_name = ? AND node_name <> ?", r.ResourceName, r.NodeName).Find(&peers).Error; err != nil {
		return false, err
	}
	return !slices.ContainsFunc(peers, func(p ResourceRow) bool { return !Diskless(p.Flags) && !p.Flags.Has(FlagDelete) }), nil
}

// EvictNode flags an offline node EVICTED, and each of its resources
// (an inactive one also INACTIVE_BEFORE_EVICTION, which node restore
// reads), and returns the definitions (display names) with a resource on
// it that is not being deleted. Its auto-evict timer is over.
func (s *Store) EvictNode(ctx context.Context, node string) (NodeRow, []string, error) {
	return s.flagNode(ctx, node, func(n *NodeRow) error {
		n.Flags, n.EvictionTimestamp = n.Flags.With(FlagEvicted).Without(FlagEvacuate), nil
		return nil
	}, func(f Flags) Flags {
		out := f.With(FlagEvicted).Without(FlagEvacuate)
		if f.Has(FlagInactive) {
			out = out.With(FlagInactiveBeforeEviction)
		}
		return out
	})
}

// SetEvictionTimestamp records when an offline node is to be evicted
// (nil: no timer runs).
func (s *Store) SetEvictionTimestamp(ctx context.Context, node string, at *int64) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		row, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		return tx.Model(&row).Update("eviction_timestamp", at).Error
	})
}

// Auto-evict properties (DrbdOptions/), with the guide's defaults.
const (
	KeyAutoEvictAfterTime            = "DrbdOptions/AutoEvictAfterTime"
	KeyAutoEvictAllowEviction        = "DrbdOptions/AutoEvictAllowEviction"
	KeyAutoEvictMaxDisconnectedNodes = "DrbdOptions/AutoEvictMaxDisconnectedNodes"
	KeyAutoEvictMinReplicaCount      = "DrbdOptions/AutoEvictMinReplicaCount"
)

// AutoEvictSettings are a node's auto-evict properties: AfterMinutes
// and Allowed (node > controller, defaults 60 and true), and the
// controller's MaxDisconnectedPercent (default 34; 0: never evict).
type AutoEvictSettings struct {
	AfterMinutes           int64
	Allowed                bool
	MaxDisconnectedPercent int64
}

// AutoEvictSettingsOf reads a node's auto-evict settings.
func (s *Store) AutoEvictSettingsOf(ctx context.Context, node string) (AutoEvictSettings, error) {
	np, err := s.Props(ctx, NodeInstance(node))
	if err != nil {
		return AutoEvictSettings{}, err
	}
	cp, err := s.Props(ctx, CtrlPropsInstance)
	if err != nil {
		return AutoEvictSettings{}, err
	}
	out := AutoEvictSettings{AfterMinutes: 60, Allowed: true, MaxDisconnectedPercent: 34}
	if v, err := strconv.ParseInt(Inherited(KeyAutoEvictAfterTime, np, cp), 10, 64); err == nil && v >= 0 {
		out.AfterMinutes = v
	}
	if v, err := strconv.ParseBool(Inherited(KeyAutoEvictAllowEviction, np, cp)); err == nil {
		out.Allowed = v
	}
	if v, err := strconv.ParseInt(cp[KeyAutoEvictMaxDisconnectedNodes], 10, 64); err == nil && v >= 0 && v <= 100 {
		out.MaxDisconnectedPercent = v
	}
	return out, nil
}

// MinReplicaCount is DrbdOptions/AutoEvictMinReplicaCount of a
// definition (definition > group > controller), else the group's place
// count.
func (s *Store) MinReplicaCount(ctx context.Context, def ResourceDefinition, placeCount int) (int, error) {
	rg, err := s.GetResourceGroup(ctx, def.ResourceGroupDspName)
	if err != nil {
		return 0, err
	}
	cp, err := s.Props(ctx, CtrlPropsInstance)
	if err != nil {
		return 0, err
	}
	if v, err := strconv.Atoi(Inherited(KeyAutoEvictMinReplicaCount, def.Props, rg.Props, cp)); err == nil && v > 0 {
		return v, nil
	}
	return placeCount, nil
}

// KeyCopyAllSnapsOnEvacuate says whether an evacuation copies the
// snapshots of a node's resources with them (node > controller; default
// true).
const KeyCopyAllSnapsOnEvacuate = "CopyAllSnapsOnEvacuate"

// SnapshotCopy is a snapshot the evacuated node holds of a moving
// resource, and the volumes of its part there.
type SnapshotCopy struct {
	Snapshot string
	Volumes  []SnapshotVolume
	// OnTarget: the new node has a part of it already.
	OnTarget bool
}

// SnapshotsToCopy are the snapshots of a definition that node from
// holds, oldest first, when from's CopyAllSnapsOnEvacuate allows copying
// them: successful ones not being deleted, and not an evacuation's own.
func (s *Store) SnapshotsToCopy(ctx context.Context, rd, from, to string) ([]SnapshotCopy, error) {
	np, err := s.Props(ctx, NodeInstance(from))
	if err != nil {
		return nil, err
	}
	cp, err := s.Props(ctx, CtrlPropsInstance)
	if err != nil {
		return nil, err
	}
	if copyAll, err := strconv.ParseBool(Inherited(KeyCopyAllSnapsOnEvacuate, np, cp)); err == nil && !copyAll {
		return nil, nil
	}
	snaps, err := s.ListSnapshots(ctx, SnapshotFilter{Resources: []string{rd}})
	if err != nil {
		return nil, err
	}
	var out []SnapshotCopy
	taken := map[string]int64{} // when from's part was taken
	for _, sn := range snaps {
		if !sn.Successful() || sn.Flags.Has(FlagDelete) || strings.HasPrefix(sn.SnapshotDspName, evacuationSnapshotPrefix) {
			continue
		}
		var c *SnapshotCopy
		onTarget := false
		for _, part := range sn.Nodes {
			switch {
			case part.Flags.Has(FlagDelete):
			case part.NodeName == Key(from):
				c = &SnapshotCopy{Snapshot: sn.SnapshotDspName, Volumes: part.Volumes}
				taken[sn.SnapshotDspName] = part.CreateTimestamp
			case part.NodeName == Key(to):
				onTarget = true
			}
		}
		if c != nil {
			c.OnTarget = onTarget
			out = append(out, *c)
		}
	}
	slices.SortStableFunc(out, func(a, b SnapshotCopy) int { return cmp.Compare(taken[a.Snapshot], taken[b.Snapshot]) })
	return out, nil
}

// FinishSnapshotPart records that a node received its part of a
// snapshot: it is kept as any other part.
func (s *Store) FinishSnapshotPart(ctx context.Context, rd, snap, node string) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		var row SnapshotRow
		if err := tx.Take(&row, "resource_name = ? AND snapshot_name = ? AND node_name = ?", Key(rd), Key(snap), Key(node)).Error; err != nil {
			return err
		}
		if err := tx.Model(&row).Update("flags", row.Flags.Without(flagReceiving)).Error; err != nil {
			return err
		}
		return touchDefinition(tx, row.ResourceName)
	})
}
