package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// ResourceGroup is a resource group with its properties.
type ResourceGroup struct {
	ResourceGroupRow
	Props map[string]string
}

// VolumeGroup is a volume group with its properties.
type VolumeGroup struct {
	VolumeGroupRow
	Props map[string]string
}

// EnsureDefaults creates the objects every LINSTOR cluster starts with:
// the resource group DfltRscGrp.
func (s *Store) EnsureDefaults(ctx context.Context) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		ok, err := found(tx.Take(&ResourceGroupRow{}, "resource_group_name = ?", Key(DfltRscGrp)).Error)
		if err != nil || ok {
			return err
		}
		return tx.Create(&ResourceGroupRow{ResourceGroupName: Key(DfltRscGrp), ResourceGroupDspName: DfltRscGrp, UUID: uuid.NewString()}).Error
	})
}

func rgNotFound(name string) *Error {
	return notFound(KindResourceGroup, "Resource group '%s' not found.", name)
}

func takeResourceGroup(tx *gorm.DB, name string) (ResourceGroupRow, error) {
	return take[ResourceGroupRow](tx, rgNotFound(name), "resource_group_name = ?", Key(name))
}

// ResourceGroupSpec is what resource-group create takes.
type ResourceGroupSpec struct {
	Name         string
	Description  string
	Props        map[string]string
	SelectFilter SelectFilter
	PeerSlots    *int32
}

// CreateResourceGroup creates a resource group.
func (s *Store) CreateResourceGroup(ctx context.Context, spec ResourceGroupSpec) (ResourceGroupRow, error) {
	if err := (PropsModify{OverrideProps: spec.Props}).Check(KindResourceGroup); err != nil {
		return ResourceGroupRow{}, err
	}
	row := ResourceGroupRow{ResourceGroupName: Key(spec.Name), ResourceGroupDspName: spec.Name, UUID: uuid.NewString(),
		Description: spec.Description, SelectFilter: spec.SelectFilter, PeerSlots: spec.PeerSlots}
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if err := absent[ResourceGroupRow](tx, exists(KindResourceGroup, "Resource group '%s' already exists.", spec.Name), "resource_group_name = ?", row.ResourceGroupName); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return setProps(tx, ResourceGroupInstance(spec.Name), spec.Props)
	})
	return row, err
}

// ListResourceGroups returns the named groups (all when empty).
func (s *Store) ListResourceGroups(ctx context.Context, names []string) ([]ResourceGroup, error) {
	db := s.DB.WithContext(ctx)
	var rows []ResourceGroupRow
	q := db.Order("resource_group_name")
	if len(names) > 0 {
		q = q.Where("resource_group_name IN ?", keys(names))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list resource groups: %w", err)
	}
	props, err := propsUnder(db, "/RESOURCEGROUPS/")
	if err != nil {
		return nil, err
	}
	out := make([]ResourceGroup, len(rows))
	for i, r := range rows {
		out[i] = ResourceGroup{r, props[ResourceGroupInstance(r.ResourceGroupName)]}
	}
	return out, nil
}

// GetResourceGroup returns one group.
func (s *Store) GetResourceGroup(ctx context.Context, name string) (ResourceGroup, error) {
	rgs, err := s.ListResourceGroups(ctx, []string{name})
	if err != nil {
		return ResourceGroup{}, err
	}
	if len(rgs) == 0 {
		return ResourceGroup{}, rgNotFound(name)
	}
	return rgs[0], nil
}

// ResourceGroupChange is resource-group modify: nil fields stay as they are.
type ResourceGroupChange struct {
	Description  *string
	SelectFilter func(*SelectFilter)
	PeerSlots    *int32
	Props        PropsModify
}

// ModifyResourceGroup changes a group.
func (s *Store) ModifyResourceGroup(ctx context.Context, name string, c ResourceGroupChange) (ResourceGroupRow, error) {
	if err := c.Props.Check(KindResourceGroup); err != nil {
		return ResourceGroupRow{}, err
	}
	var row ResourceGroupRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResourceGroup(tx, name); err != nil {
			return err
		}
		if c.Description != nil {
			row.Description = *c.Description
		}
		if c.SelectFilter != nil {
			c.SelectFilter(&row.SelectFilter)
		}
		if c.PeerSlots != nil {
			row.PeerSlots = c.PeerSlots
		}
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		return applyProps(tx, ResourceGroupInstance(name), c.Props)
	})
	return row, err
}

// DeleteResourceGroup removes a group that no resource definition uses.
func (s *Store) DeleteResourceGroup(ctx context.Context, name string) (ResourceGroupRow, error) {
	var row ResourceGroupRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResourceGroup(tx, name); err != nil {
			return err
		}
		if row.ResourceGroupName == Key(DfltRscGrp) {
			return refuse(InUse, KindResourceGroup, "The default resource group 'DfltRscGrp' cannot be deleted.",
				"Resource definitions created without a group belong to it.", "")
		}
		var n int64
		if err := tx.Model(&ResourceDefinitionRow{}).Where("resource_group_name = ?", row.ResourceGroupName).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			// LINSTOR's FAIL_EXISTS_RSC_DFN, which linstor-csi checks for.
			e := refuse(InUse, KindResourceGroup,
				fmt.Sprintf("Cannot delete resource group '%s' because it has existing resource definitions.", row.ResourceGroupDspName),
				fmt.Sprintf("%d resource definitions belong to it.", n),
				"Delete those resource definitions, or move them to another resource group with resource-definition modify --resource-group.")
			e.Code = apicall.FailExists + kindCodes[KindResourceDefinition].exists
			return e
		}
		if err := dropProps(tx, []string{ResourceGroupInstance(name)}, "/VOLUMEGROUPS/"+row.ResourceGroupName+"/"); err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return row, err
}

func vgNotFound(rg string, nr int32) *Error {
	return notFound(KindVolumeGroup, "Volume group %d of resource group '%s' not found.", nr, rg)
}

// takeVolumeGroup loads a volume group, reporting its group missing first.
func takeVolumeGroup(tx *gorm.DB, rg string, nr int32) (VolumeGroupRow, error) {
	g, err := takeResourceGroup(tx, rg)
	if err != nil {
		return VolumeGroupRow{}, err
	}
	return take[VolumeGroupRow](tx, vgNotFound(rg, nr), "resource_group_name = ? AND vlm_nr = ?", g.ResourceGroupName, nr)
}

// CreateVolumeGroup adds a volume group; a nil number takes the lowest free.
func (s *Store) CreateVolumeGroup(ctx context.Context, rg string, nr *int32, props map[string]string, flags Flags) (VolumeGroupRow, error) {
	if err := (PropsModify{OverrideProps: props}).Check(KindVolumeGroup); err != nil {
		return VolumeGroupRow{}, err
	}
	var row VolumeGroupRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		g, err := takeResourceGroup(tx, rg)
		if err != nil {
			return err
		}
		var used []int32
		if err := tx.Model(&VolumeGroupRow{}).Where("resource_group_name = ?", g.ResourceGroupName).Pluck("vlm_nr", &used).Error; err != nil {
			return err
		}
		n, err := pickNumber(nr, used, KindVolumeGroup, fmt.Sprintf("Volume group %%d already exists in resource group '%s'.", g.ResourceGroupDspName))
		if err != nil {
			return err
		}
		row = VolumeGroupRow{ResourceGroupName: g.ResourceGroupName, VlmNr: n, UUID: uuid.NewString(), Flags: flags}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return setProps(tx, VolumeGroupInstance(rg, n), props)
	})
	return row, err
}

// pickNumber returns the requested volume number when it is free, or the
// lowest free one from 0.
func pickNumber(want *int32, used []int32, kind Kind, existsFmt string) (int32, error) {
	if want != nil {
		if slices.Contains(used, *want) {
			return 0, exists(kind, existsFmt, *want)
		}
		return *want, nil
	}
	if n, ok := lowestFree(used, 0, MaxVolumeNumber); ok {
		return n, nil
	}
	return 0, refuse(Exhausted, kind, "No free volume number is left.", "", "")
}

// MaxVolumeNumber is LINSTOR's highest volume number.
const MaxVolumeNumber = 65534

// ListVolumeGroups returns a group's volume groups by number (one when nr is set).
func (s *Store) ListVolumeGroups(ctx context.Context, rg string, nr *int32) ([]VolumeGroup, error) {
	db := s.DB.WithContext(ctx)
	g, err := takeResourceGroup(db, rg)
	if err != nil {
		return nil, err
	}
	var rows []VolumeGroupRow
	q := db.Where("resource_group_name = ?", g.ResourceGroupName).Order("vlm_nr")
	if nr != nil {
		q = q.Where("vlm_nr = ?", *nr)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list volume groups: %w", err)
	}
	if nr != nil && len(rows) == 0 {
		return nil, vgNotFound(rg, *nr)
	}
	props, err := propsUnder(db, "/VOLUMEGROUPS/"+g.ResourceGroupName+"/")
	if err != nil {
		return nil, err
	}
	out := make([]VolumeGroup, len(rows))
	for i, r := range rows {
		out[i] = VolumeGroup{r, props[VolumeGroupInstance(rg, r.VlmNr)]}
	}
	return out, nil
}

// ModifyVolumeGroup changes a volume group's properties and flags.
func (s *Store) ModifyVolumeGroup(ctx context.Context, rg string, nr int32, m PropsModify, flags func(Flags) Flags) (VolumeGroupRow, error) {
	if err := m.Check(KindVolumeGroup); err != nil {
		return VolumeGroupRow{}, err
	}
	var row VolumeGroupRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeVolumeGroup(tx, rg, nr); err != nil {
			return err
		}
		row.Flags = flags(row.Flags)
		if err := tx.Model(&row).Where("resource_group_name = ? AND vlm_nr = ?", row.ResourceGroupName, nr).Update("flags", row.Flags).Error; err != nil {
			return err
		}
		return applyProps(tx, VolumeGroupInstance(rg, nr), m)
	})
	return row, err
}

// DeleteVolumeGroup removes a volume group.
func (s *Store) DeleteVolumeGroup(ctx context.Context, rg string, nr int32) (VolumeGroupRow, error) {
	var row VolumeGroupRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeVolumeGroup(tx, rg, nr); err != nil {
			return err
		}
		if err := dropProps(tx, []string{VolumeGroupInstance(rg, nr)}); err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return row, err
}
