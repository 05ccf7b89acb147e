package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"strata/apicall"
)

// FlagDelete marks a resource or definition that is being removed from
// its nodes: agents are no longer sent it, and its rows go once its
// nodes no longer have it (LINSTOR's DELETE flag, shown as DELETING).
const FlagDelete = "DELETE"

// neverDeployed tells whether no agent has reported any volume of a
// resource: there is nothing on its node to remove, so its rows can go
// at once.
func neverDeployed(tx *gorm.DB, r ResourceRow) (bool, error) {
	var n int64
	err := tx.Model(&VolumeRow{}).Where("resource_name = ? AND node_name = ? AND (device_path <> '' OR disk_state <> '')", r.ResourceName, r.NodeName).Count(&n).Error
	return n == 0, err
}

// markDeleting flags a resource for removal, or deletes it at once when
// it was never deployed; gone reports the latter.
func markDeleting(tx *gorm.DB, r ResourceRow) (gone bool, err error) {
	if gone, err = neverDeployed(tx, r); err != nil || gone {
		if err == nil {
			err = deleteResource(tx, r)
		}
		return gone, err
	}
	if err := tx.Model(&r).Update("flags", r.Flags.With(FlagDelete)).Error; err != nil {
		return false, err
	}
	return false, touchDefinition(tx, r.ResourceName)
}

// MarkResourceDeleting flags a resource for removal from its node; one
// that never reached its node is deleted at once (gone).
func (s *Store) MarkResourceDeleting(ctx context.Context, rd, node string) (row ResourceRow, gone bool, err error) {
	err = s.Write(ctx, func(tx *gorm.DB) error {
		if row, err = takeResource(tx, rd, node); err != nil {
			return err
		}
		gone, err = markDeleting(tx, row)
		return err
	})
	return row, gone, err
}

// MarkResourceDefinitionDeleting flags a definition and all its resources
// for removal, and returns the nodes that must remove theirs. Resources
// that never reached their node go at once, and the definition with them
// when none is left.
func (s *Store) MarkResourceDefinitionDeleting(ctx context.Context, name string) (row ResourceDefinitionRow, nodes []string, err error) {
	err = s.Write(ctx, func(tx *gorm.DB) error {
		if row, err = takeResourceDefinition(tx, name); err != nil {
			return err
		}
		if err := noSnapshots(tx, row); err != nil {
			return err
		}
		var rscs []ResourceRow
		if err := tx.Where("resource_name = ?", row.ResourceName).Find(&rscs).Error; err != nil {
			return err
		}
		for _, r := range rscs {
			gone, err := markDeleting(tx, r)
			if err != nil {
				return err
			}
			if !gone {
				var n NodeRow
				if err := tx.Take(&n, "node_name = ?", r.NodeName).Error; err != nil {
					return err
				}
				nodes = append(nodes, n.NodeDspName)
			}
		}
		if len(nodes) == 0 {
			return deleteResourceDefinition(tx, row)
		}
		row.Flags = row.Flags.With(FlagDelete)
		return tx.Model(&row).Update("flags", row.Flags).Error
	})
	return row, nodes, err
}

// PurgeDeleted removes the rows of resources a node's agent was sent a
// state without: those of keys still flagged for removal. A definition
// flagged for removal goes with its last resource.
func (s *Store) PurgeDeleted(ctx context.Context, node string, rds []string) error {
	if len(rds) == 0 {
		return nil
	}
	return s.Write(ctx, func(tx *gorm.DB) error {
		for _, rd := range rds {
			var row ResourceRow
			ok, err := found(tx.Take(&row, "resource_name = ? AND node_name = ?", rd, Key(node)).Error)
			if err != nil {
				return err
			}
			if ok && row.Flags.Has(FlagDelete) {
				if err := deleteResource(tx, row); err != nil {
					return err
				}
			}
			var def ResourceDefinitionRow
			if ok, err = found(tx.Take(&def, "resource_name = ?", rd).Error); err != nil || !ok || !def.Flags.Has(FlagDelete) {
				if err != nil {
					return err
				}
				continue
			}
			var left int64
			if err := tx.Model(&ResourceRow{}).Where("resource_name = ?", rd).Count(&left).Error; err != nil {
				return err
			}
			if left == 0 {
				if err := deleteResourceDefinition(tx, def); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// noSnapshots refuses to delete a definition that has snapshots: their
// data is on the nodes, and only a snapshot delete removes it.
func noSnapshots(tx *gorm.DB, rd ResourceDefinitionRow) error {
	var n int64
	if err := tx.Model(&SnapshotDefinitionRow{}).Where("resource_name = ?", rd.ResourceName).Count(&n).Error; err != nil || n == 0 {
		return err
	}
	e := refuse(InUse, KindResourceDefinition, fmt.Sprintf("Cannot delete resource definition '%s' because it has snapshots.", rd.ResourceDspName),
		fmt.Sprintf("It has %d snapshots.", n), "Delete its snapshots first (snapshot delete).")
	e.Code = apicall.FailExistsSnapshotDfn
	return e
}
