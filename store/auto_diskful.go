package store

import (
	"context"
	"slices"
	"strconv"

	"gorm.io/gorm"
)

// Auto-diskful (guide 2.15.5): a diskless DRBD resource that has been
// Primary for DrbdOptions/auto-diskful minutes gets a disk on its node,
// and afterwards one replica beyond the place count goes where
// DrbdOptions/auto-diskful-allow-cleanup allows it.
const (
	KeyAutoDiskful             = "DrbdOptions/auto-diskful"
	KeyAutoDiskfulAllowCleanup = "DrbdOptions/auto-diskful-allow-cleanup"
	DiskfulByAutoDiskful       = "auto-diskful"
	DiskfulByMakeAvailable     = "make-available"
)

// AutoDiskfulCandidate is a diskless DRBD resource whose auto-diskful is
// set (resource > node > definition > group > controller): Minutes,
// and since when its agent reports it in use (nil: it does not).
type AutoDiskfulCandidate struct {
	Resource, Node string // as typed
	Minutes        int64
	InUseSince     *int64
}

// AutoDiskfulCandidates lists the diskless DRBD resources whose
// auto-diskful is set, but not those being deleted, evacuated, evicted
// or deactivated.
func (s *Store) AutoDiskfulCandidates(ctx context.Context) ([]AutoDiskfulCandidate, error) {
	db := s.DB.WithContext(ctx)
	var rows []ResourceRow
	if err := db.Where("flags LIKE ?", "%DRBD_DISKLESS%").Order("resource_name, node_name").Find(&rows).Error; err != nil {
		return nil, err
	}
	chains := newChains(db)
	var out []AutoDiskfulCandidate
	for _, r := range rows {
		if !r.Flags.Has("DRBD_DISKLESS") || slices.ContainsFunc([]string{FlagDelete, FlagEvacuate, FlagEvicted, FlagInactive}, r.Flags.Has) {
			continue
		}
		chain, rd, node, err := chains.of(r)
		if err != nil {
			return nil, err
		}
		minutes, err := strconv.ParseInt(Inherited(KeyAutoDiskful, chain...), 10, 64)
		if err != nil || minutes < 0 {
			continue // unset (or not a number, which the API refuses)
		}
		out = append(out, AutoDiskfulCandidate{Resource: rd.ResourceDspName, Node: node.NodeDspName, Minutes: minutes, InUseSince: r.InUseSince})
	}
	return out, nil
}

// chains reads the property chains auto-diskful reads for resources —
// resource, node, definition, group, controller — each container and
// row once per call, as the resources of one look share their nodes,
// definitions, groups and controller.
type chains struct {
	db    *gorm.DB
	props map[string]map[string]string
	rds   map[string]ResourceDefinitionRow
	nodes map[string]NodeRow
}

func newChains(db *gorm.DB) *chains {
	return &chains{db: db, props: map[string]map[string]string{}, rds: map[string]ResourceDefinitionRow{}, nodes: map[string]NodeRow{}}
}

// of is the chain of resource r, with its definition and node.
func (c *chains) of(r ResourceRow) ([]map[string]string, ResourceDefinitionRow, NodeRow, error) {
	rd, ok := c.rds[r.ResourceName]
	if !ok {
		var err error
		if rd, err = takeResourceDefinition(c.db, r.ResourceName); err != nil {
			return nil, rd, NodeRow{}, err
		}
		c.rds[r.ResourceName] = rd
	}
	node, ok := c.nodes[r.NodeName]
	if !ok {
		var err error
		if node, err = takeNode(c.db, r.NodeName); err != nil {
			return nil, rd, node, err
		}
		c.nodes[r.NodeName] = node
	}
	var chain []map[string]string
	for _, inst := range []string{ResourceInstance(r.ResourceName, r.NodeName), NodeInstance(r.NodeName), ResourceDefinitionInstance(r.ResourceName),
		ResourceGroupInstance(rd.ResourceGroupName), CtrlPropsInstance} {
		props, ok := c.props[inst]
		if !ok {
			var err error
			if props, err = readProps(c.db, inst); err != nil {
				return nil, rd, node, err
			}
			c.props[inst] = props
		}
		chain = append(chain, props)
	}
	return chain, rd, node, nil
}

// GiveDisk gives the diskless resource of a node its disk in pool
// (toggle-disk), naming who asked in DiskfulBy.
func (s *Store) GiveDisk(ctx context.Context, rd, node, pool, by string) (ResourceRow, error) {
	var row ResourceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = toggleDisk(tx, rd, node, true, pool); err != nil {
			return err
		}
		return setProps(tx, ResourceInstance(row.ResourceName, row.NodeName), map[string]string{KeyDiskfulBy: by})
	})
	return row, err
}

// ExcessReplica is the replica to delete after the auto-diskful of the
// resource of node, when the definition has more diskful replicas than
// placeCount: one not in use (Secondary), whose disk the user did not
// ask for, where auto-diskful-allow-cleanup (resource > node >
// definition > group > controller; default true) allows it; those given
// a disk for a consumer (auto-diskful, make-available) first, then by
// node name. excess tells whether there are more replicas than
// placeCount; "" with excess: none may go.
func (s *Store) ExcessReplica(ctx context.Context, rd, node string, placeCount int) (victim string, excess bool, err error) {
	db := s.DB.WithContext(ctx)
	var rows []ResourceRow
	if err := db.Where("resource_name = ?", Key(rd)).Order("node_name").Find(&rows).Error; err != nil {
		return "", false, err
	}
	chains := newChains(db)
	diskful := 0
	type candidate struct {
		node     string
		consumer bool
	}
	var candidates []candidate
	for _, r := range rows {
		if Diskless(r.Flags) || r.Flags.Has(FlagDelete) {
			continue
		}
		diskful++
		if r.NodeName == Key(node) || r.Used() || r.Flags.Has(FlagEvacuate) || r.Flags.Has(FlagEvicted) {
			continue
		}
		chain, _, n, err := chains.of(r)
		if err != nil {
			return "", false, err
		}
		by := chain[0][KeyDiskfulBy]
		if allow, err := strconv.ParseBool(Inherited(KeyAutoDiskfulAllowCleanup, chain...)); by == DiskfulByUser || err == nil && !allow {
			continue
		}
		candidates = append(candidates, candidate{n.NodeDspName, by == DiskfulByAutoDiskful || by == DiskfulByMakeAvailable})
	}
	if diskful <= placeCount {
		return "", false, nil
	}
	slices.SortStableFunc(candidates, func(a, b candidate) int {
		switch {
		case a.consumer == b.consumer:
			return 0
		case a.consumer:
			return -1
		}
		return 1
	})
	if len(candidates) == 0 {
		return "", true, nil
	}
	return candidates[0].node, true, nil
}
