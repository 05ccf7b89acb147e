package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// FlagInactive marks a deactivated resource: its storage stays, its DRBD
// device is down.
const FlagInactive = "INACTIVE"

// ToggleDisk gives a diskless resource a disk (diskful) or takes its disk
// away. pool, when set, is the storage pool to use (a diskful one, or a
// diskless one); otherwise the guide's lookup chooses, as at resource
// create. The last diskful replica of a resource keeps its disk, as its
// data would be gone.
func (s *Store) ToggleDisk(ctx context.Context, rd, node string, diskful bool, pool string) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		row, err = toggleDisk(tx, rd, node, diskful, pool)
		return err
	})
	return row, err
}

func toggleDisk(tx *gorm.DB, rd, node string, diskful bool, pool string) (ResourceRow, error) {
	def, err := takeResourceDefinition(tx, rd)
	if err != nil {
		return ResourceRow{}, err
	}
	row, err := takeResource(tx, rd, node)
	if err != nil {
		return row, err
	}
	n, err := takeNode(tx, row.NodeName)
	if err != nil {
		return row, err
	}
	err = func() error {
		switch {
		case row.Flags.Has(FlagDelete):
			return refuse(Invalid, KindResource, fmt.Sprintf("Resource '%s' on node '%s' is being deleted.", def.ResourceDspName, n.NodeDspName), "", "")
		case diskful && !Diskless(row.Flags):
			return refuse(Invalid, KindResource, fmt.Sprintf("Resource '%s' on node '%s' already has a disk.", def.ResourceDspName, n.NodeDspName), "", "")
		case !diskful && Diskless(row.Flags):
			return refuse(Invalid, KindResource, fmt.Sprintf("Resource '%s' on node '%s' is already diskless.", def.ResourceDspName, n.NodeDspName), "", "")
		}
		if !diskful {
			others := 0
			var peers []ResourceRow
			if err := tx.Where("resource_name = ? AND node_name <> ?", row.ResourceName, row.NodeName).Find(&peers).Error; err != nil {
				return err
			}
			for _, p := range peers {
				if !Diskless(p.Flags) && !p.Flags.Has(FlagDelete) {
					others++
				}
			}
			if others == 0 {
				return refuse(InUse, KindResource, fmt.Sprintf("Resource '%s' on node '%s' is its last diskful replica.", def.ResourceDspName, n.NodeDspName),
					"Its data would be gone.", "Give the resource a disk on another node first.")
			}
		}
		flags := row.Flags
		for _, f := range disklessFlags {
			flags = flags.Without(f)
		}
		if !diskful {
			flags = flags.With("DRBD_DISKLESS")
		}
		row.Flags = flags
		if err := tx.Model(&row).Update("flags", flags).Error; err != nil {
			return err
		}
		instance := ResourceInstance(row.ResourceName, row.NodeName)
		if pool != "" {
			if err := setProps(tx, instance, map[string]string{KeyStorPoolName: pool}); err != nil {
				return err
			}
		} else if diskful {
			// A diskless resource placed in its node's diskless pool (a
			// tie-breaker, an autoplaced one) leaves that choice behind.
			if err := dropDisklessPool(tx, instance, row.NodeName); err != nil {
				return err
			}
		}
		// The volumes move to their new pools; the agent makes or removes
		// the storage at the next push.
		if err := tx.Where("resource_name = ? AND node_name = ?", row.ResourceName, row.NodeName).Delete(&VolumeRow{}).Error; err != nil {
			return err
		}
		var vds []VolumeDefinitionRow
		if err := tx.Where("resource_name = ?", row.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
			return err
		}
		for _, vd := range vds {
			if err := createVolume(tx, def, row, n.NodeDspName, vd); err != nil {
				return err
			}
		}
		if diskful {
			// createVolume makes a resource whose pool is diskless diskless.
			if err := tx.Take(&row, "resource_name = ? AND node_name = ?", row.ResourceName, row.NodeName).Error; err != nil {
				return err
			}
			if Diskless(row.Flags) {
				return refuse(Invalid, KindResource, fmt.Sprintf("Resource '%s' on node '%s' has no storage pool for a disk.", def.ResourceDspName, n.NodeDspName),
					"Its storage pool (property StorPoolName) is a diskless pool.", "Name the storage pool to toggle into.")
			}
		}
		return touchDefinition(tx, row.ResourceName)
	}()
	return row, err
}

// dropDisklessPool deletes a StorPoolName property of the container that
// names a diskless pool of the node.
func dropDisklessPool(tx *gorm.DB, instance, nodeKey string) error {
	props, err := readProps(tx, instance)
	if err != nil || props[KeyStorPoolName] == "" {
		return err
	}
	var sp StoragePoolRow
	ok, err := found(tx.Take(&sp, "node_name = ? AND pool_name = ?", nodeKey, Key(props[KeyStorPoolName])).Error)
	if err != nil || !ok || sp.DriverName != ProviderDiskless {
		return err
	}
	return applyProps(tx, instance, PropsModify{DeleteProps: []string{KeyStorPoolName}})
}

// KeepDiskless makes a tie-breaker a wanted diskless resource, which
// auto-quorum no longer removes.
func (s *Store) KeepDiskless(ctx context.Context, rd, node string) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResource(tx, rd, node); err != nil {
			return err
		}
		row.Flags = row.Flags.Without(FlagTieBreaker).With("DRBD_DISKLESS")
		if err := tx.Model(&row).Update("flags", row.Flags).Error; err != nil {
			return err
		}
		return touchDefinition(tx, row.ResourceName)
	})
	return row, err
}

// SetResourceActive activates or deactivates a resource.
func (s *Store) SetResourceActive(ctx context.Context, rd, node string, active bool) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResource(tx, rd, node); err != nil {
			return err
		}
		if active {
			row.Flags = row.Flags.Without(FlagInactive)
		} else {
			row.Flags = row.Flags.With(FlagInactive)
		}
		if err := tx.Model(&row).Update("flags", row.Flags).Error; err != nil {
			return err
		}
		return touchDefinition(tx, row.ResourceName)
	})
	return row, err
}
