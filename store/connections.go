package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// NodeConnection is a connection between two nodes with its properties.
type NodeConnection struct {
	NodeConnectionRow
	NodeADspName, NodeBDspName string
	Props                      map[string]string
}

// ResourceConnection is a connection between two resources of a definition.
type ResourceConnection struct {
	ResourceConnectionRow
	NodeADspName, NodeBDspName string
	Props                      map[string]string
}

// ListNodeConnections returns node connections, those between a and b
// only when both are given (or those of a when only a is).
func (s *Store) ListNodeConnections(ctx context.Context, a, b string) ([]NodeConnection, error) {
	db := s.DB.WithContext(ctx)
	var rows []NodeConnectionRow
	q := db.Order("node_name_src, node_name_dst")
	switch {
	case a != "" && b != "":
		ka, kb := ordered(a, b)
		q = q.Where("node_name_src = ? AND node_name_dst = ?", ka, kb)
	case a != "" || b != "":
		k := Key(a + b)
		q = q.Where("node_name_src = ? OR node_name_dst = ?", k, k)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list node connections: %w", err)
	}
	names, err := displayNames[NodeRow](db, "node_name", "node_dsp_name")
	if err != nil {
		return nil, err
	}
	props, err := propsUnder(db, "/CONDFN/NODES/")
	if err != nil {
		return nil, err
	}
	out := make([]NodeConnection, len(rows))
	for i, r := range rows {
		out[i] = NodeConnection{r, names[r.NodeNameSrc], names[r.NodeNameDst], props[NodeConnectionInstance(r.NodeNameSrc, r.NodeNameDst)]}
	}
	return out, nil
}

// ModifyNodeConnection changes the properties of the connection between
// two nodes, creating it on first use.
func (s *Store) ModifyNodeConnection(ctx context.Context, a, b string, m PropsModify) (NodeConnectionRow, error) {
	if err := m.Check(KindNodeConnection); err != nil {
		return NodeConnectionRow{}, err
	}
	var row NodeConnectionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if err := twoEnds(KindNodeConnection, a, b); err != nil {
			return err
		}
		for _, n := range []string{a, b} {
			if _, err := takeNode(tx, n); err != nil {
				return err
			}
		}
		ka, kb := ordered(a, b)
		ok, err := found(tx.Take(&row, "node_name_src = ? AND node_name_dst = ?", ka, kb).Error)
		if err != nil {
			return err
		}
		if !ok {
			row = NodeConnectionRow{NodeNameSrc: ka, NodeNameDst: kb, UUID: uuid.NewString()}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		return applyProps(tx, NodeConnectionInstance(a, b), m)
	})
	return row, err
}

func twoEnds(kind Kind, a, b string) error {
	if Key(a) == Key(b) {
		return refuse(Invalid, kind, fmt.Sprintf("A connection needs two different nodes, not '%s' twice.", a), "", "Name two different nodes.")
	}
	return nil
}

// ListResourceConnections returns the connections of a definition (those
// between a and b only when both are given).
func (s *Store) ListResourceConnections(ctx context.Context, rd, a, b string) ([]ResourceConnection, error) {
	db := s.DB.WithContext(ctx)
	r, err := takeResourceDefinition(db, rd)
	if err != nil {
		return nil, err
	}
	var rows []ResourceConnectionRow
	q := db.Where("resource_name = ?", r.ResourceName).Order("node_name_src, node_name_dst")
	if a != "" && b != "" {
		ka, kb := ordered(a, b)
		q = q.Where("node_name_src = ? AND node_name_dst = ?", ka, kb)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list resource connections: %w", err)
	}
	names, err := displayNames[NodeRow](db, "node_name", "node_dsp_name")
	if err != nil {
		return nil, err
	}
	props, err := propsUnder(db, "/CONDFN/RESOURCES/"+r.ResourceName+"/")
	if err != nil {
		return nil, err
	}
	out := make([]ResourceConnection, len(rows))
	for i, c := range rows {
		out[i] = ResourceConnection{c, names[c.NodeNameSrc], names[c.NodeNameDst], props[ResourceConnectionInstance(rd, c.NodeNameSrc, c.NodeNameDst)]}
	}
	return out, nil
}

// ModifyResourceConnection changes the properties of the connection
// between a definition's resources on nodes a and b, creating it on first
// use. Both resources must exist.
func (s *Store) ModifyResourceConnection(ctx context.Context, rd, a, b string, m PropsModify) (ResourceConnectionRow, error) {
	if err := m.Check(KindResourceConnection); err != nil {
		return ResourceConnectionRow{}, err
	}
	var row ResourceConnectionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = resourceConnection(tx, rd, a, b); err != nil {
			return err
		}
		return applyProps(tx, ResourceConnectionInstance(rd, a, b), m)
	})
	return row, err
}

// resourceConnection is the connection between the resources of rd on
// nodes a and b, made when there is none.
func resourceConnection(tx *gorm.DB, rd, a, b string) (ResourceConnectionRow, error) {
	var row ResourceConnectionRow
	if err := twoEnds(KindResourceConnection, a, b); err != nil {
		return row, err
	}
	r, err := takeResourceDefinition(tx, rd)
	if err != nil {
		return row, err
	}
	for _, n := range []string{a, b} {
		if _, err := takeNode(tx, n); err != nil {
			return row, err
		}
		if _, err := takeResource(tx, rd, n); err != nil {
			return row, err
		}
	}
	ka, kb := ordered(a, b)
	ok, err := found(tx.Take(&row, "resource_name = ? AND node_name_src = ? AND node_name_dst = ?", r.ResourceName, ka, kb).Error)
	if err != nil || ok {
		return row, err
	}
	row = ResourceConnectionRow{ResourceName: r.ResourceName, NodeNameSrc: ka, NodeNameDst: kb, UUID: uuid.NewString()}
	return row, tx.Create(&row).Error
}

// DefinitionsOnBoth are the display names of the definitions with a
// resource on node a and one on node b: those a node connection's
// options and paths apply to.
func (s *Store) DefinitionsOnBoth(ctx context.Context, a, b string) ([]string, error) {
	db := s.DB.WithContext(ctx)
	var names []string
	err := db.Model(&ResourceDefinitionRow{}).
		Where("resource_name IN (?)", db.Model(&ResourceRow{}).Select("resource_name").Where("node_name = ?", Key(a))).
		Where("resource_name IN (?)", db.Model(&ResourceRow{}).Select("resource_name").Where("node_name = ?", Key(b))).
		Order("resource_name").Pluck("resource_dsp_name", &names).Error
	return names, err
}
