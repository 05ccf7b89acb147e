package store

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Flags of a definition being cloned, as LINSTOR's clone status reads
// them: CLONING while the data is copied, FAILED when it could not be.
const (
	FlagCloning     = "CLONING"
	FlagCloneFailed = "FAILED"
)

// CloneSpec is resource-definition clone: the new definition, its group
// (empty: the source's), and changes of the properties it takes over.
type CloneSpec struct {
	Source, Target, ExternalName, ResourceGroup string
	LayerStack                                  []string
	Props                                       PropsModify
}

// CreateClone records the clone's definition, flagged CLONING, with the
// source's properties, layers and group unless the request says others;
// its volumes come from a snapshot of the source.
func (s *Store) CreateClone(ctx context.Context, spec CloneSpec) (ResourceDefinitionRow, error) {
	if err := spec.Props.Check(KindResourceDefinition); err != nil {
		return ResourceDefinitionRow{}, err
	}
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		src, err := takeResourceDefinition(tx, spec.Source)
		if err != nil {
			return err
		}
		props, err := readProps(tx, ResourceDefinitionInstance(src.ResourceName))
		if err != nil {
			return err
		}
		rd := ResourceDefinitionSpec{Name: spec.Target, ExternalName: spec.ExternalName, ResourceGroup: cmp.Or(spec.ResourceGroup, src.ResourceGroupName),
			Props: props, LayerStack: spec.LayerStack, TransportType: src.DrbdTransportType, Flags: NewFlags(FlagCloning)}
		if len(rd.LayerStack) == 0 {
			rd.LayerStack = src.LayerStack.List()
		}
		if row, err = createResourceDefinition(tx, rd); err != nil {
			return err
		}
		return applyProps(tx, ResourceDefinitionInstance(spec.Target), spec.Props)
	})
	return row, err
}

// FinishClone ends a clone: the definition loses CLONING, and is FAILED
// when a volume of it could not be made or a node was not reached
// (failed).
func (s *Store) FinishClone(ctx context.Context, target string, failed bool) (ResourceDefinitionRow, error) {
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResourceDefinition(tx, target); err != nil {
			return err
		}
		var broken int64
		if err := tx.Model(&VolumeRow{}).Where("resource_name = ? AND state_error <> ''", row.ResourceName).Count(&broken).Error; err != nil {
			return err
		}
		row.Flags = row.Flags.Without(FlagCloning)
		if failed || broken > 0 {
			row.Flags = row.Flags.With(FlagCloneFailed)
		}
		if err := tx.Model(&row).Update("flags", row.Flags).Error; err != nil {
			return err
		}
		return touchDefinition(tx, row.ResourceName)
	})
	return row, err
}

// CloneStatus is LINSTOR's status of a clone: CLONING, FAILED or
// COMPLETE.
func CloneStatus(rd ResourceDefinitionRow) string {
	switch {
	case rd.Flags.Has(FlagCloning):
		return "CLONING"
	case rd.Flags.Has(FlagCloneFailed):
		return "FAILED"
	}
	return "COMPLETE"
}

// CloneSnapshot is the name of the snapshot a clone is made from, within
// the 48 characters of a snapshot name.
func CloneSnapshot(target string) string {
	if len(target) <= 42 {
		return "clone-" + target
	}
	h := fnv.New32a()
	h.Write([]byte(target))
	return fmt.Sprintf("clone-%s-%08x", target[:33], h.Sum32())
}

// CloneByCopy says whether a clone of rd copies its data instead of
// cloning a snapshot: a diskful volume of it is in a pool that cannot
// take snapshots (as its agent probed it).
func (s *Store) CloneByCopy(ctx context.Context, rd string) (bool, error) {
	db := s.DB.WithContext(ctx)
	var pools []StoragePoolRow
	err := db.Where("(node_name, pool_name) IN (?)", db.Model(&VolumeRow{}).Select("volumes.node_name", "volumes.stor_pool_name").
		Joins("JOIN resources ON resources.resource_name = volumes.resource_name AND resources.node_name = volumes.node_name").
		Where("volumes.resource_name = ? AND resources.flags NOT LIKE ?", Key(rd), "%"+FlagDelete+"%")).Find(&pools).Error
	if err != nil {
		return false, err
	}
	for _, p := range pools {
		if p.DriverName != ProviderDiskless && (p.SupportsSnapshots == nil || !*p.SupportsSnapshots) {
			return true, nil
		}
	}
	return false, nil
}

// CopyDefinition gives the clone to the volume definitions of src and,
// on each node holding a resource of src (tie-breakers left to
// auto-quorum), a resource with each volume in the pool of the source's
// volume. It answers those nodes.
func (s *Store) CopyDefinition(ctx context.Context, src, to string) ([]string, error) {
	var nodes []string
	err := s.Write(ctx, func(tx *gorm.DB) error {
		nodes = nil
		from, err := takeResourceDefinition(tx, src)
		if err != nil {
			return err
		}
		target, err := takeResourceDefinition(tx, to)
		if err != nil {
			return err
		}
		var vds []VolumeDefinitionRow
		if err := tx.Where("resource_name = ?", from.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		for _, vd := range vds {
			props, err := readProps(tx, VolumeDefinitionInstance(from.ResourceName, vd.VlmNr))
			if err != nil {
				return err
			}
			nr := vd.VlmNr
			if _, err := createVolumeDefinition(tx, to, VolumeDefinitionSpec{VlmNr: &nr, SizeKib: vd.VlmSize, Props: props}); err != nil {
				return err
			}
		}
		var rscs []ResourceRow
		if err := tx.Where("resource_name = ?", from.ResourceName).Order("node_name").Find(&rscs).Error; err != nil {
			return err
		}
		for _, r := range rscs {
			if r.Flags.Has(FlagDelete) || r.Flags.Has(FlagTieBreaker) {
				continue
			}
			props, err := readProps(tx, ResourceInstance(from.ResourceName, r.NodeName))
			if err != nil {
				return err
			}
			var flags []string
			for _, f := range r.Flags.List() {
				if Diskless(NewFlags(f)) {
					flags = append(flags, f)
				}
			}
			n, err := takeNode(tx, r.NodeName)
			if err != nil {
				return err
			}
			row, err := createResource(tx, target, ResourceSpec{Node: r.NodeName, Props: props, Flags: NewFlags(flags...)}, nil)
			if err != nil {
				return err
			}
			var vols []VolumeRow
			if err := tx.Where("resource_name = ? AND node_name = ?", from.ResourceName, r.NodeName).Order("vlm_nr").Find(&vols).Error; err != nil {
				return err
			}
			for _, v := range vols {
				if err := tx.Create(&VolumeRow{ResourceName: row.ResourceName, NodeName: row.NodeName, VlmNr: v.VlmNr, UUID: uuid.NewString(), StorPoolName: v.StorPoolName}).Error; err != nil {
					return err
				}
			}
			nodes = append(nodes, n.NodeDspName)
		}
		return nil
	})
	return nodes, err
}
