package store

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

func netIfNotFound(node, nif string) *Error {
	return notFound(KindNetInterface, "Net interface '%s' on node '%s' not found.", nif, node)
}

// CreateNetInterface adds an interface to a node; active makes it the
// controller's link to the node's agent.
func (s *Store) CreateNetInterface(ctx context.Context, node string, nif NetInterfaceRow, active bool) (NetInterfaceRow, error) {
	err := s.Write(ctx, func(tx *gorm.DB) error {
		n, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		nif.NodeName, nif.NodeNetName, nif.UUID = n.NodeName, Key(nif.NodeNetDspName), uuid.NewString()
		if err := absent[NetInterfaceRow](tx, exists(KindNetInterface, "Net interface '%s' already exists on node '%s'.", nif.NodeNetDspName, n.NodeDspName),
			"node_name = ? AND node_net_name = ?", nif.NodeName, nif.NodeNetName); err != nil {
			return err
		}
		if err := tx.Create(&nif).Error; err != nil {
			return err
		}
		return activate(tx, n, nif, active)
	})
	return nif, err
}

// activate makes nif the controller link when asked, or when the node has
// none yet and nif can carry it.
func activate(tx *gorm.DB, n NodeRow, nif NetInterfaceRow, active bool) error {
	props, err := readProps(tx, NodeInstance(n.NodeName))
	if err != nil {
		return err
	}
	if active || (props[KeyCurStltConnName] == "" && nif.StltConnPort != nil) {
		return setProps(tx, NodeInstance(n.NodeName), map[string]string{KeyCurStltConnName: nif.NodeNetDspName})
	}
	return nil
}

// ModifyNetInterface replaces an interface's address and satellite
// connection settings.
func (s *Store) ModifyNetInterface(ctx context.Context, node, name string, change func(*NetInterfaceRow), active bool) (NetInterfaceRow, error) {
	var nif NetInterfaceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		n, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		if nif, err = take[NetInterfaceRow](tx, netIfNotFound(node, name), "node_name = ? AND node_net_name = ?", n.NodeName, Key(name)); err != nil {
			return err
		}
		change(&nif)
		if err := tx.Save(&nif).Error; err != nil {
			return err
		}
		return activate(tx, n, nif, active)
	})
	return nif, err
}

// DeleteNetInterface removes an interface that is not the controller's
// link to the node.
func (s *Store) DeleteNetInterface(ctx context.Context, node, name string) (NetInterfaceRow, error) {
	var nif NetInterfaceRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		n, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		if nif, err = take[NetInterfaceRow](tx, netIfNotFound(node, name), "node_name = ? AND node_net_name = ?", n.NodeName, Key(name)); err != nil {
			return err
		}
		props, err := readProps(tx, NodeInstance(n.NodeName))
		if err != nil {
			return err
		}
		if Key(props[KeyCurStltConnName]) == nif.NodeNetName {
			return refuse(InUse, KindNetInterface,
				"Net interface '"+nif.NodeNetDspName+"' on node '"+n.NodeDspName+"' is the active controller connection and cannot be deleted.",
				"The controller reaches the node's agent through it.",
				"Make another interface active first (net-interface modify --active), then delete this one.")
		}
		return tx.Delete(&nif).Error
	})
	return nif, err
}
