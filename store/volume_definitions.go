package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// VolumeDefinitionSpec is what volume-definition create takes.
type VolumeDefinitionSpec struct {
	VlmNr     *int32 // nil: the lowest free number from 0
	SizeKib   int64
	Props     map[string]string
	Flags     Flags
	DrbdMinor *int32 // nil: the lowest free minor of MinorNrAutoRange
}

func vdNotFound(rd string, nr int32) *Error {
	return notFound(KindVolumeDefinition, "Volume definition %d of resource definition '%s' not found.", nr, rd)
}

// takeVolumeDefinition loads a volume definition with its resource
// definition, reporting the definition missing first.
func takeVolumeDefinition(tx *gorm.DB, rd string, nr int32) (ResourceDefinitionRow, VolumeDefinitionRow, error) {
	r, err := takeResourceDefinition(tx, rd)
	if err != nil {
		return r, VolumeDefinitionRow{}, err
	}
	row, err := take[VolumeDefinitionRow](tx, vdNotFound(r.ResourceDspName, nr), "resource_name = ? AND vlm_nr = ?", r.ResourceName, nr)
	return r, row, err
}

// CreateVolumeDefinition adds a volume definition, and its volume to every
// resource the definition already has.
func (s *Store) CreateVolumeDefinition(ctx context.Context, rd string, spec VolumeDefinitionSpec) (VolumeDefinitionRow, error) {
	if err := (PropsModify{OverrideProps: spec.Props}).Check(KindVolumeDefinition); err != nil {
		return VolumeDefinitionRow{}, err
	}
	var row VolumeDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		row, err = createVolumeDefinition(tx, rd, spec)
		return err
	})
	return row, err
}

// createVolumeDefinition adds a volume definition, and its volume to every
// resource of the definition.
func createVolumeDefinition(tx *gorm.DB, rd string, spec VolumeDefinitionSpec) (VolumeDefinitionRow, error) {
	r, err := takeResourceDefinition(tx, rd)
	if err != nil {
		return VolumeDefinitionRow{}, err
	}
	var used []int32
	if err := tx.Model(&VolumeDefinitionRow{}).Where("resource_name = ?", r.ResourceName).Pluck("vlm_nr", &used).Error; err != nil {
		return VolumeDefinitionRow{}, err
	}
	nr, err := pickNumber(spec.VlmNr, used, KindVolumeDefinition, fmt.Sprintf("Volume definition %%d already exists in resource definition '%s'.", r.ResourceDspName))
	if err != nil {
		return VolumeDefinitionRow{}, err
	}
	minor := spec.DrbdMinor
	if minor == nil {
		m, err := allocate(tx, KeyMinorNrAutoRange, defaultMinorRange, KindVolumeDefinition, "DRBD minor number", apicall.FailPoolExhaustedMinorNr, numberColumn{&VolumeDefinitionRow{}, "drbd_minor"})
		if err != nil {
			return VolumeDefinitionRow{}, err
		}
		minor = &m
	} else if ok, err := found(tx.Take(&VolumeDefinitionRow{}, "drbd_minor = ?", *minor).Error); err != nil || ok {
		if ok {
			e := refuse(Invalid, KindVolumeDefinition, fmt.Sprintf("DRBD minor number %d is already in use.", *minor),
				"Another volume definition uses this minor number.", "Choose another minor, or leave it out to have one allocated.")
			e.Code = apicall.FailInvldMinorNr
			return VolumeDefinitionRow{}, e
		}
		return VolumeDefinitionRow{}, err
	}
	row := VolumeDefinitionRow{ResourceName: r.ResourceName, VlmNr: nr, UUID: uuid.NewString(), VlmSize: spec.SizeKib, Flags: spec.Flags, DrbdMinor: minor}
	if err := tx.Create(&row).Error; err != nil {
		return VolumeDefinitionRow{}, err
	}
	if err := setProps(tx, VolumeDefinitionInstance(rd, nr), spec.Props); err != nil {
		return VolumeDefinitionRow{}, err
	}
	var rscs []ResourceRow
	if err := tx.Where("resource_name = ?", r.ResourceName).Find(&rscs).Error; err != nil {
		return VolumeDefinitionRow{}, err
	}
	nodeNames, err := displayNames[NodeRow](tx, "node_name", "node_dsp_name")
	if err != nil {
		return VolumeDefinitionRow{}, err
	}
	for _, rsc := range rscs {
		if err := createVolume(tx, r, rsc, nodeNames[rsc.NodeName], row); err != nil {
			return VolumeDefinitionRow{}, err
		}
	}
	return row, nil
}

// VolumeDefinitionChange is volume-definition modify: zero fields stay.
type VolumeDefinitionChange struct {
	SizeKib int64
	Flags   func(Flags) Flags
	Props   PropsModify
}

// ModifyVolumeDefinition changes a volume definition. A size may always
// grow; it shrinks only while no resource has the volume.
func (s *Store) ModifyVolumeDefinition(ctx context.Context, rd string, nr int32, c VolumeDefinitionChange) (VolumeDefinitionRow, error) {
	if err := c.Props.Check(KindVolumeDefinition); err != nil {
		return VolumeDefinitionRow{}, err
	}
	var row VolumeDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		r, vd, err := takeVolumeDefinition(tx, rd, nr)
		if err != nil {
			return err
		}
		row = vd
		if c.SizeKib != 0 && c.SizeKib < row.VlmSize {
			var n int64
			if err := tx.Model(&VolumeRow{}).Where("resource_name = ? AND vlm_nr = ?", r.ResourceName, nr).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				e := refuse(Invalid, KindVolumeDefinition,
					fmt.Sprintf("Volume definition %d of resource definition '%s' cannot shrink from %d KiB to %d KiB.", nr, r.ResourceDspName, row.VlmSize, c.SizeKib),
					fmt.Sprintf("%d resources have this volume deployed; shrinking would cut off their data.", n),
					"Grow the volume instead, or delete its resources before shrinking.")
				e.Code = apicall.FailInvldVlmSize
				return e
			}
		}
		if c.SizeKib != 0 {
			row.VlmSize = c.SizeKib
		}
		if c.Flags != nil {
			row.Flags = c.Flags(row.Flags)
		}
		if err := tx.Model(&row).Where("resource_name = ? AND vlm_nr = ?", row.ResourceName, nr).
			Updates(map[string]any{"vlm_size": row.VlmSize, "flags": row.Flags}).Error; err != nil {
			return err
		}
		if err := touchDefinition(tx, r.ResourceName); err != nil {
			return err
		}
		return applyProps(tx, VolumeDefinitionInstance(rd, nr), c.Props)
	})
	return row, err
}

// DeleteVolumeDefinition removes a volume definition and its volumes.
func (s *Store) DeleteVolumeDefinition(ctx context.Context, rd string, nr int32) (VolumeDefinitionRow, error) {
	var row VolumeDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		r, vd, err := takeVolumeDefinition(tx, rd, nr)
		if err != nil {
			return err
		}
		row = vd
		var vlms []VolumeRow
		if err := tx.Where("resource_name = ? AND vlm_nr = ?", r.ResourceName, nr).Find(&vlms).Error; err != nil {
			return err
		}
		instances := []string{VolumeDefinitionInstance(rd, nr)}
		for _, v := range vlms {
			instances = append(instances, VolumeInstance(v.ResourceName, v.NodeName, v.VlmNr))
		}
		if err := dropProps(tx, instances); err != nil {
			return err
		}
		if err := touchDefinition(tx, r.ResourceName); err != nil {
			return err
		}
		return tx.Delete(&row).Error // volumes cascade
	})
	return row, err
}
