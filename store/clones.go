package store

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"

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
