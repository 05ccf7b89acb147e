package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// ResourceDefinition is a definition with its group's name, properties and
// (when asked for) volume definitions.
type ResourceDefinition struct {
	ResourceDefinitionRow
	ResourceGroupDspName string
	Props                map[string]string
	VolumeDefinitions    []VolumeDefinition
}

// VolumeDefinition is a volume definition with its properties.
type VolumeDefinition struct {
	VolumeDefinitionRow
	Props map[string]string
}

// ResourceDefinitionSpec is what resource-definition create takes.
type ResourceDefinitionSpec struct {
	Name          string
	ExternalName  string
	ResourceGroup string // empty: DfltRscGrp
	Props         map[string]string
	LayerStack    []string
	DrbdPort      *int32 // nil: the lowest free port of TcpPortAutoRange
	DrbdSecret    string // empty: a random one
	PeerSlots     *int32 // nil: PeerSlotsNewResource, the group's, or 7
	TransportType string
	Flags         Flags
}

func rdNotFound(name string) *Error {
	return notFound(KindResourceDefinition, "Resource definition '%s' not found.", name)
}

func takeResourceDefinition(tx *gorm.DB, name string) (ResourceDefinitionRow, error) {
	return take[ResourceDefinitionRow](tx, rdNotFound(name), "resource_name = ?", Key(name))
}

// CreateResourceDefinition creates a definition and allocates its DRBD
// port and shared secret.
func (s *Store) CreateResourceDefinition(ctx context.Context, spec ResourceDefinitionSpec) (ResourceDefinitionRow, error) {
	if err := (PropsModify{OverrideProps: spec.Props}).Check(KindResourceDefinition); err != nil {
		return ResourceDefinitionRow{}, err
	}
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		row, err = createResourceDefinition(tx, spec)
		return err
	})
	return row, err
}

// SpawnDefinitions creates a definition and its volume definitions in one
// transaction: resource-group spawn either makes all of them or none.
func (s *Store) SpawnDefinitions(ctx context.Context, spec ResourceDefinitionSpec, vds []VolumeDefinitionSpec) (ResourceDefinitionRow, error) {
	if err := (PropsModify{OverrideProps: spec.Props}).Check(KindResourceDefinition); err != nil {
		return ResourceDefinitionRow{}, err
	}
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = createResourceDefinition(tx, spec); err != nil {
			return err
		}
		for _, vd := range vds {
			if _, err := createVolumeDefinition(tx, spec.Name, vd); err != nil {
				return err
			}
		}
		return nil
	})
	return row, err
}

func createResourceDefinition(tx *gorm.DB, spec ResourceDefinitionSpec) (ResourceDefinitionRow, error) {
	if err := absent[ResourceDefinitionRow](tx, exists(KindResourceDefinition, "Resource definition '%s' already exists.", spec.Name), "resource_name = ?", Key(spec.Name)); err != nil {
		return ResourceDefinitionRow{}, err
	}
	rgName := spec.ResourceGroup
	if rgName == "" {
		rgName = DfltRscGrp
	}
	rg, err := takeResourceGroup(tx, rgName)
	if err != nil {
		return ResourceDefinitionRow{}, err
	}
	row := ResourceDefinitionRow{ResourceName: Key(spec.Name), ResourceDspName: spec.Name, UUID: uuid.NewString(),
		ResourceGroupName: rg.ResourceGroupName, LayerStack: NewFlags(spec.LayerStack...), DrbdSecret: spec.DrbdSecret,
		DrbdTransportType: spec.TransportType, CreateTimestamp: nowMs(), Flags: spec.Flags}
	if spec.ExternalName != "" {
		ext := spec.ExternalName
		row.ResourceExternalName = &ext
		if err := absent[ResourceDefinitionRow](tx, exists(KindResourceDefinition, "A resource definition with the external name '%s' already exists.", ext), "resource_external_name = ?", ext); err != nil {
			return ResourceDefinitionRow{}, err
		}
	}
	if row.DrbdTransportType == "" {
		row.DrbdTransportType = "IP"
	}
	if row.DrbdSecret == "" {
		row.DrbdSecret = newSecret()
	}
	if row.DrbdPort, err = drbdPort(tx, spec.DrbdPort); err != nil {
		return ResourceDefinitionRow{}, err
	}
	if row.DrbdPeerSlots, err = peerSlots(tx, spec, rg); err != nil {
		return ResourceDefinitionRow{}, err
	}
	if err := tx.Create(&row).Error; err != nil {
		return ResourceDefinitionRow{}, err
	}
	if err := touchDefinition(tx, row.ResourceName); err != nil {
		return ResourceDefinitionRow{}, err
	}
	return row, setProps(tx, ResourceDefinitionInstance(spec.Name), spec.Props)
}

func drbdPort(tx *gorm.DB, want *int32) (*int32, error) {
	if want == nil {
		p, err := allocate(tx, KeyTcpPortAutoRange, defaultTcpPortRange, KindResourceDefinition, "TCP port", apicall.FailPoolExhaustedTCPPort, tcpPorts...)
		return &p, err
	}
	used, err := tcpPortUsed(tx, *want)
	if err != nil {
		return nil, err
	}
	if used {
		e := refuse(Invalid, KindResourceDefinition, fmt.Sprintf("TCP port %d is already in use.", *want),
			"Another resource definition or a connection through DRBD Proxy uses this port.", "Choose another port, or leave it out to have one allocated.")
		e.Code = apicall.FailInvldRscPort
		return nil, e
	}
	return want, nil
}

func peerSlots(tx *gorm.DB, spec ResourceDefinitionSpec, rg ResourceGroupRow) (int32, error) {
	if spec.PeerSlots != nil {
		return *spec.PeerSlots, nil
	}
	if rg.PeerSlots != nil {
		return *rg.PeerSlots, nil
	}
	props, err := readProps(tx, CtrlPropsInstance)
	if err != nil {
		return 0, err
	}
	var n int32
	if _, err := fmt.Sscan(props[KeyPeerSlotsNewResource], &n); err == nil && n >= 1 && n <= 31 {
		return n, nil
	}
	return DefaultPeerSlots, nil
}

// newSecret is a DRBD shared secret as LINSTOR generates them: 20 random
// characters.
func newSecret() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ResourceDefinitionFilter selects definitions by name (empty: all).
type ResourceDefinitionFilter struct {
	Names                 []string
	WithVolumeDefinitions bool
}

// ListResourceDefinitions returns the definitions that pass the filter.
func (s *Store) ListResourceDefinitions(ctx context.Context, f ResourceDefinitionFilter) ([]ResourceDefinition, error) {
	db := s.DB.WithContext(ctx)
	var rows []ResourceDefinitionRow
	q := db.Order("resource_name")
	if len(f.Names) > 0 {
		q = q.Where("resource_name IN ?", keys(f.Names))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list resource definitions: %w", err)
	}
	rgNames, err := displayNames[ResourceGroupRow](db, "resource_group_name", "resource_group_dsp_name")
	if err != nil {
		return nil, err
	}
	props, err := propsUnder(db, underNames("/RESOURCEDEFINITIONS/", "", f.Names)...)
	if err != nil {
		return nil, err
	}
	vds := map[string][]VolumeDefinition{}
	if f.WithVolumeDefinitions {
		var vrows []VolumeDefinitionRow
		vq := db.Order("resource_name, vlm_nr")
		if len(f.Names) > 0 {
			vq = vq.Where("resource_name IN ?", keys(f.Names))
		}
		if err := vq.Find(&vrows).Error; err != nil {
			return nil, fmt.Errorf("list volume definitions: %w", err)
		}
		vprops, err := propsUnder(db, underNames("/VOLUMEDEFINITIONS/", "/", f.Names)...)
		if err != nil {
			return nil, err
		}
		for _, v := range vrows {
			vds[v.ResourceName] = append(vds[v.ResourceName], VolumeDefinition{v, vprops[VolumeDefinitionInstance(v.ResourceName, v.VlmNr)]})
		}
	}
	out := make([]ResourceDefinition, len(rows))
	for i, r := range rows {
		out[i] = ResourceDefinition{r, rgNames[r.ResourceGroupName], props[ResourceDefinitionInstance(r.ResourceName)], vds[r.ResourceName]}
	}
	return out, nil
}

// GetResourceDefinition returns one definition with its volume definitions.
func (s *Store) GetResourceDefinition(ctx context.Context, name string) (ResourceDefinition, error) {
	rds, err := s.ListResourceDefinitions(ctx, ResourceDefinitionFilter{Names: []string{name}, WithVolumeDefinitions: true})
	if err != nil {
		return ResourceDefinition{}, err
	}
	if len(rds) == 0 {
		return ResourceDefinition{}, rdNotFound(name)
	}
	return rds[0], nil
}

// ResourceDefinitionChange is resource-definition modify: nil fields stay.
type ResourceDefinitionChange struct {
	DrbdPort      *int32
	PeerSlots     *int32
	LayerStack    []string
	ResourceGroup string
	Props         PropsModify
}

// ModifyResourceDefinition changes a definition.
func (s *Store) ModifyResourceDefinition(ctx context.Context, name string, c ResourceDefinitionChange) (ResourceDefinitionRow, error) {
	if err := c.Props.Check(KindResourceDefinition); err != nil {
		return ResourceDefinitionRow{}, err
	}
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResourceDefinition(tx, name); err != nil {
			return err
		}
		if c.DrbdPort != nil && (row.DrbdPort == nil || *row.DrbdPort != *c.DrbdPort) {
			if row.DrbdPort, err = drbdPort(tx, c.DrbdPort); err != nil {
				return err
			}
		}
		if c.PeerSlots != nil {
			row.DrbdPeerSlots = *c.PeerSlots
		}
		if c.LayerStack != nil {
			var n int64
			if err := tx.Model(&ResourceRow{}).Where("resource_name = ?", row.ResourceName).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return refuse(InUse, KindResourceDefinition, fmt.Sprintf("The layer stack of resource definition '%s' cannot change while it has resources.", row.ResourceDspName),
					fmt.Sprintf("%d resources are deployed with the current layer stack.", n), "Delete its resources first.")
			}
			row.LayerStack = NewFlags(c.LayerStack...)
		}
		if c.ResourceGroup != "" {
			rg, err := takeResourceGroup(tx, c.ResourceGroup)
			if err != nil {
				return err
			}
			row.ResourceGroupName = rg.ResourceGroupName
		}
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		return applyProps(tx, ResourceDefinitionInstance(name), c.Props)
	})
	return row, err
}

// DeleteResourceDefinition removes a definition with its volume
// definitions and every resource of it.
func (s *Store) DeleteResourceDefinition(ctx context.Context, name string) (ResourceDefinitionRow, error) {
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResourceDefinition(tx, name); err != nil {
			return err
		}
		return deleteResourceDefinition(tx, row)
	})
	return row, err
}

func deleteResourceDefinition(tx *gorm.DB, row ResourceDefinitionRow) error {
	k := row.ResourceName
	if err := dropProps(tx, []string{ResourceDefinitionInstance(k)},
		"/VOLUMEDEFINITIONS/"+k+"/", "/RESOURCES/"+k+"/", "/VOLUMES/"+k+"/", "/CONDFN/RESOURCES/"+k+"/"); err != nil {
		return err
	}
	return tx.Delete(&row).Error // volume definitions, resources, volumes and connections cascade
}
