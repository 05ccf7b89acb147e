package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Node types, as LINSTOR answers them.
const (
	NodeTypeController = "CONTROLLER"
	NodeTypeSatellite  = "SATELLITE"
	NodeTypeCombined   = "COMBINED"
	NodeTypeAuxiliary  = "AUXILIARY"
)

// Properties the controller keeps on nodes itself.
const (
	// KeyCurStltConnName names the net interface the controller uses to
	// reach the node's agent.
	KeyCurStltConnName = "CurStltConnName"
	// DfltDisklessStorPool is the diskless pool every node gets.
	DfltDisklessStorPool = "DfltDisklessStorPool"
	// DfltStorPool is the pool used when no StorPoolName is set anywhere.
	DfltStorPool = "DfltStorPool"
	// DfltRscGrp is the resource group of definitions created without one.
	DfltRscGrp = "DfltRscGrp"
)

// Node is a node with its interfaces and properties.
type Node struct {
	NodeRow
	NetInterfaces []NetInterfaceRow
	Props         map[string]string
}

// NodeSpec is what node create takes.
type NodeSpec struct {
	Name          string
	Type          string
	NetInterfaces []NetInterfaceRow // names and addresses; keys are derived
	Props         map[string]string
}

// CreateNode registers a node with its net interfaces and its diskless
// storage pool. The first interface with a satellite port is the one the
// controller connects through.
func (s *Store) CreateNode(ctx context.Context, spec NodeSpec) (NodeRow, error) {
	row := NodeRow{NodeName: Key(spec.Name), NodeDspName: spec.Name, UUID: uuid.NewString(), NodeType: spec.Type}
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if err := absent[NodeRow](tx, exists(KindNode, "Node '%s' already exists.", spec.Name), "node_name = ?", row.NodeName); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		props := map[string]string{}
		for k, v := range spec.Props {
			props[k] = v
		}
		for _, nif := range spec.NetInterfaces {
			nif.NodeName, nif.NodeNetName, nif.UUID = row.NodeName, Key(nif.NodeNetDspName), uuid.NewString()
			if err := tx.Create(&nif).Error; err != nil {
				if isUniqueViolation(err) {
					return exists(KindNetInterface, "Net interface '%s' is given twice.", nif.NodeNetDspName)
				}
				return err
			}
			if _, set := props[KeyCurStltConnName]; !set && nif.StltConnPort != nil {
				props[KeyCurStltConnName] = nif.NodeNetDspName
			}
		}
		if err := ensureStorPoolDefinition(tx, DfltDisklessStorPool); err != nil {
			return err
		}
		pool := StoragePoolRow{NodeName: row.NodeName, PoolName: Key(DfltDisklessStorPool), UUID: uuid.NewString(),
			DriverName: ProviderDiskless, FreeSpaceMgrName: sharedSpaceDefault(spec.Name, DfltDisklessStorPool)}
		if err := tx.Create(&pool).Error; err != nil {
			return err
		}
		return setProps(tx, NodeInstance(spec.Name), props)
	})
	return row, err
}

// ListNodes returns the nodes named (all when names is empty), by name.
func (s *Store) ListNodes(ctx context.Context, names []string) ([]Node, error) {
	db := s.DB.WithContext(ctx)
	var rows []NodeRow
	q := db.Order("node_name")
	if len(names) > 0 {
		q = q.Where("node_name IN ?", keys(names))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var nifs []NetInterfaceRow
	nq := db.Order("node_name, node_net_name")
	if len(names) > 0 {
		nq = nq.Where("node_name IN ?", keys(names))
	}
	if err := nq.Find(&nifs).Error; err != nil {
		return nil, fmt.Errorf("list net interfaces: %w", err)
	}
	props, err := propsUnder(db, underNames("/NODES/", "", names)...)
	if err != nil {
		return nil, err
	}
	byNode := map[string][]NetInterfaceRow{}
	for _, n := range nifs {
		byNode[n.NodeName] = append(byNode[n.NodeName], n)
	}
	out := make([]Node, len(rows))
	for i, r := range rows {
		out[i] = Node{NodeRow: r, NetInterfaces: byNode[r.NodeName], Props: props[NodeInstance(r.NodeName)]}
	}
	return out, nil
}

// GetNode returns one node.
func (s *Store) GetNode(ctx context.Context, name string) (Node, error) {
	nodes, err := s.ListNodes(ctx, []string{name})
	if err != nil {
		return Node{}, err
	}
	if len(nodes) == 0 {
		return Node{}, nodeNotFound(name)
	}
	return nodes[0], nil
}

func nodeNotFound(name string) *Error { return notFound(KindNode, "Node '%s' not found.", name) }

// takeNode loads a node inside a transaction or reports it missing.
func takeNode(tx *gorm.DB, name string) (NodeRow, error) {
	return take[NodeRow](tx, nodeNotFound(name), "node_name = ?", Key(name))
}

// ModifyNode changes a node's type (when nodeType is set) and properties.
func (s *Store) ModifyNode(ctx context.Context, name, nodeType string, m PropsModify) (NodeRow, error) {
	if err := m.Check(KindNode); err != nil {
		return NodeRow{}, err
	}
	var row NodeRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeNode(tx, name); err != nil {
			return err
		}
		if nodeType != "" && nodeType != row.NodeType {
			row.NodeType = nodeType
			if err := tx.Model(&row).Update("node_type", nodeType).Error; err != nil {
				return err
			}
		}
		return applyProps(tx, NodeInstance(name), m)
	})
	return row, err
}

// DeleteNode removes a node with everything on it: interfaces, storage
// pools, resources and connections.
func (s *Store) DeleteNode(ctx context.Context, name string) (NodeRow, error) {
	var row NodeRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeNode(tx, name); err != nil {
			return err
		}
		var rscs []ResourceRow
		if err := tx.Where("node_name = ?", row.NodeName).Find(&rscs).Error; err != nil {
			return err
		}
		for _, r := range rscs {
			if err := deleteResource(tx, r); err != nil {
				return err
			}
		}
		var conns []NodeConnectionRow
		if err := tx.Where("node_name_src = ? OR node_name_dst = ?", row.NodeName, row.NodeName).Find(&conns).Error; err != nil {
			return err
		}
		instances := []string{NodeInstance(name)}
		for _, c := range conns {
			instances = append(instances, NodeConnectionInstance(c.NodeNameSrc, c.NodeNameDst))
		}
		if err := dropProps(tx, instances, "/STORPOOLCONF/"+row.NodeName+"/"); err != nil {
			return err
		}
		return tx.Delete(&row).Error // interfaces, pools and connections cascade
	})
	return row, err
}

// SetNodeFlags replaces a node's flags.
func (s *Store) SetNodeFlags(ctx context.Context, name string, change func(Flags) Flags) (NodeRow, error) {
	var row NodeRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeNode(tx, name); err != nil {
			return err
		}
		row.Flags = change(row.Flags)
		return tx.Model(&row).Update("flags", row.Flags).Error
	})
	return row, err
}

func keys(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = Key(n)
	}
	return out
}

// KeyNodeUname holds the node's name as its own kernel reports it.
const KeyNodeUname = "NodeUname"

// SetNodeAgentInfo records what a node's agent reported when it came
// online: its uname and the layers it serves, where they changed.
func (s *Store) SetNodeAgentInfo(ctx context.Context, node, uname string, layers []string) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		row, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		if served := NewFlags(layers...); row.ServedLayers == nil || *row.ServedLayers != served {
			if err := tx.Model(&row).Update("served_layers", served).Error; err != nil {
				return err
			}
		}
		props, err := readProps(tx, NodeInstance(node))
		if err != nil || props[KeyNodeUname] == uname {
			return err
		}
		return setProps(tx, NodeInstance(node), map[string]string{KeyNodeUname: uname})
	})
}

// StorageOnlyDefinitions are the keys of the definitions without a
// layer stack of their own whose resources are storage only: one of their
// nodes does not serve DRBD (the stack each node is sent). keys limits
// the answer to those definitions; none: every definition.
func (s *Store) StorageOnlyDefinitions(ctx context.Context, keys []string) (map[string]bool, error) {
	db := s.DB.WithContext(ctx)
	var nodes []NodeRow
	if err := db.Find(&nodes).Error; err != nil {
		return nil, err
	}
	noDrbd := map[string]bool{}
	for _, n := range nodes {
		noDrbd[n.NodeName] = !n.Serves("DRBD")
	}
	var rscs []ResourceRow
	q := db.Select("resource_name", "node_name").Where("resource_name IN (?)", db.Model(&ResourceDefinitionRow{}).Select("resource_name").Where("layer_stack = ?", ""))
	if len(keys) > 0 {
		q = q.Where("resource_name IN ?", keys)
	}
	if err := q.Find(&rscs).Error; err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rscs {
		if noDrbd[r.NodeName] {
			out[r.ResourceName] = true
		}
	}
	return out, nil
}

// ServesLayer tells whether the agent of every node holding definition
// rd serves layer (so that, for DRBD, its default layer stack is DRBD
// over storage); false when no node holds it.
func (s *Store) ServesLayer(ctx context.Context, rd, layer string) (bool, error) {
	var rows []NodeRow
	err := s.DB.WithContext(ctx).Where("node_name IN (?)", s.DB.Model(&ResourceRow{}).Select("node_name").Where("resource_name = ?", Key(rd))).Find(&rows).Error
	if err != nil {
		return false, err
	}
	for _, n := range rows {
		if !n.Serves(layer) {
			return false, nil
		}
	}
	return len(rows) > 0, nil
}
