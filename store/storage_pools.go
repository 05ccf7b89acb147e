package store

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// Storage provider kinds of the user guide.
const (
	ProviderDiskless   = "DISKLESS"
	ProviderLVM        = "LVM"
	ProviderLVMThin    = "LVM_THIN"
	ProviderZFS        = "ZFS"
	ProviderZFSThin    = "ZFS_THIN"
	ProviderFile       = "FILE"
	ProviderFileThin   = "FILE_THIN"
	ProviderSPDK       = "SPDK"
	ProviderRemoteSPDK = "REMOTE_SPDK"
	ProviderOpenflex   = "OPENFLEX_TARGET"
	ProviderExos       = "EXOS"
)

// Providers lists every provider kind a storage pool may have.
var Providers = []string{ProviderDiskless, ProviderLVM, ProviderLVMThin, ProviderZFS, ProviderZFSThin,
	ProviderFile, ProviderFileThin, ProviderSPDK, ProviderRemoteSPDK, ProviderOpenflex, ProviderExos}

// StoragePool is a pool on a node with its names as typed and its
// properties.
type StoragePool struct {
	StoragePoolRow
	NodeDspName string
	PoolDspName string
	Props       map[string]string
}

// StorPoolDefinition is a pool definition with its properties.
type StorPoolDefinition struct {
	StorPoolDefinitionRow
	Props map[string]string
}

// sharedSpaceDefault is the free-space manager of a pool that shares its
// space with no other: LINSTOR's "<node>;<pool>".
func sharedSpaceDefault(node, pool string) string { return node + ";" + pool }

func ensureStorPoolDefinition(tx *gorm.DB, name string) error {
	ok, err := found(tx.Take(&StorPoolDefinitionRow{}, "pool_name = ?", Key(name)).Error)
	if err != nil || ok {
		return err
	}
	return tx.Create(&StorPoolDefinitionRow{PoolName: Key(name), PoolDspName: name, UUID: uuid.NewString()}).Error
}

func spdNotFound(name string) *Error {
	return notFound(KindStorPoolDefinition, "Storage pool definition '%s' not found.", name)
}

func takeStorPoolDefinition(tx *gorm.DB, name string) (StorPoolDefinitionRow, error) {
	return take[StorPoolDefinitionRow](tx, spdNotFound(name), "pool_name = ?", Key(name))
}

// CreateStorPoolDefinition creates a pool definition.
func (s *Store) CreateStorPoolDefinition(ctx context.Context, name string, props map[string]string) (StorPoolDefinitionRow, error) {
	if err := (PropsModify{OverrideProps: props}).Check(KindStorPoolDefinition); err != nil {
		return StorPoolDefinitionRow{}, err
	}
	row := StorPoolDefinitionRow{PoolName: Key(name), PoolDspName: name, UUID: uuid.NewString()}
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if err := absent[StorPoolDefinitionRow](tx, exists(KindStorPoolDefinition, "Storage pool definition '%s' already exists.", name), "pool_name = ?", row.PoolName); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return setProps(tx, StorPoolDefinitionInstance(name), props)
	})
	return row, err
}

// ListStorPoolDefinitions returns the named definitions (all when empty).
func (s *Store) ListStorPoolDefinitions(ctx context.Context, names []string) ([]StorPoolDefinition, error) {
	db := s.DB.WithContext(ctx)
	var rows []StorPoolDefinitionRow
	q := db.Order("pool_name")
	if len(names) > 0 {
		q = q.Where("pool_name IN ?", keys(names))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list storage pool definitions: %w", err)
	}
	props, err := propsUnder(db, "/STORPOOLDEFINITIONS/")
	if err != nil {
		return nil, err
	}
	out := make([]StorPoolDefinition, len(rows))
	for i, r := range rows {
		out[i] = StorPoolDefinition{r, props[StorPoolDefinitionInstance(r.PoolName)]}
	}
	return out, nil
}

// ModifyStorPoolDefinition changes a definition's properties.
func (s *Store) ModifyStorPoolDefinition(ctx context.Context, name string, m PropsModify) (StorPoolDefinitionRow, error) {
	return modifyProps(s, ctx, KindStorPoolDefinition, m, StorPoolDefinitionInstance(name), func(tx *gorm.DB) (StorPoolDefinitionRow, error) {
		return takeStorPoolDefinition(tx, name)
	})
}

// DeleteStorPoolDefinition removes a definition no node has a pool of.
func (s *Store) DeleteStorPoolDefinition(ctx context.Context, name string) (StorPoolDefinitionRow, error) {
	var row StorPoolDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeStorPoolDefinition(tx, name); err != nil {
			return err
		}
		var nodes []string
		if err := tx.Model(&StoragePoolRow{}).Where("pool_name = ?", row.PoolName).Order("node_name").Pluck("node_name", &nodes).Error; err != nil {
			return err
		}
		if len(nodes) > 0 { // LINSTOR's text, with FAIL_IN_USE
			names := make([]string, len(nodes))
			for i, n := range nodes {
				nr, err := takeNode(tx, n)
				if err != nil {
					return err
				}
				names[i] = nr.NodeDspName
			}
			return refuse(InUse, KindStorPoolDefinition,
				fmt.Sprintf("Storage pool definition '%s' has still storage pools on node(s): '%s'.", row.PoolDspName, strings.Join(names, "', '")),
				"", "Remove the storage pools first.")
		}
		if err := dropProps(tx, []string{StorPoolDefinitionInstance(name)}); err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return row, err
}

// StoragePoolSpec is what storage-pool create takes.
type StoragePoolSpec struct {
	Name            string
	Provider        string
	Props           map[string]string
	SharedSpace     string
	ExternalLocking bool
}

func spNotFound(node, pool string) *Error {
	return notFound(KindStoragePool, "Storage pool '%s' on node '%s' not found.", pool, node)
}

func takeStoragePool(tx *gorm.DB, node, pool string) (StoragePoolRow, error) {
	return take[StoragePoolRow](tx, spNotFound(node, pool), "node_name = ? AND pool_name = ?", Key(node), Key(pool))
}

// CreateStoragePool creates a pool on a node, and its definition if this
// is the first pool of that name.
func (s *Store) CreateStoragePool(ctx context.Context, node string, spec StoragePoolSpec) (StoragePoolRow, error) {
	props, err := backingProps(spec)
	if err != nil {
		return StoragePoolRow{}, err
	}
	spec.Props = props
	if err := (PropsModify{OverrideProps: spec.Props}).Check(KindStoragePool); err != nil {
		return StoragePoolRow{}, err
	}
	var row StoragePoolRow
	err = s.Write(ctx, func(tx *gorm.DB) error {
		n, err := takeNode(tx, node)
		if err != nil {
			return err
		}
		if err := absent[StoragePoolRow](tx, exists(KindStoragePool, "Storage pool '%s' already exists on node '%s'.", spec.Name, n.NodeDspName),
			"node_name = ? AND pool_name = ?", n.NodeName, Key(spec.Name)); err != nil {
			return err
		}
		if err := ensureStorPoolDefinition(tx, spec.Name); err != nil {
			return err
		}
		shared := spec.SharedSpace
		if shared == "" {
			shared = sharedSpaceDefault(n.NodeDspName, spec.Name)
		}
		row = StoragePoolRow{NodeName: n.NodeName, PoolName: Key(spec.Name), UUID: uuid.NewString(), DriverName: spec.Provider,
			FreeSpaceMgrName: shared, ExternalLocking: spec.ExternalLocking}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return setProps(tx, StoragePoolInstance(node, spec.Name), spec.Props)
	})
	return row, err
}

// StoragePoolFilter selects pools by node and pool names (empty: all).
type StoragePoolFilter struct {
	Nodes, Pools []string
}

// ListStoragePools returns the pools that pass the filter, by node and
// pool name.
func (s *Store) ListStoragePools(ctx context.Context, f StoragePoolFilter) ([]StoragePool, error) {
	db := s.DB.WithContext(ctx)
	var rows []StoragePoolRow
	q := db.Order("node_name, pool_name")
	if len(f.Nodes) > 0 {
		q = q.Where("node_name IN ?", keys(f.Nodes))
	}
	if len(f.Pools) > 0 {
		q = q.Where("pool_name IN ?", keys(f.Pools))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list storage pools: %w", err)
	}
	nodeNames, err := displayNames[NodeRow](db, "node_name", "node_dsp_name")
	if err != nil {
		return nil, err
	}
	poolNames, err := displayNames[StorPoolDefinitionRow](db, "pool_name", "pool_dsp_name")
	if err != nil {
		return nil, err
	}
	props, err := propsUnder(db, "/STORPOOLCONF/")
	if err != nil {
		return nil, err
	}
	out := make([]StoragePool, len(rows))
	for i, r := range rows {
		out[i] = StoragePool{r, nodeNames[r.NodeName], poolNames[r.PoolName], props[StoragePoolInstance(r.NodeName, r.PoolName)]}
	}
	return out, nil
}

// displayNames maps the key column of a table to its display column, for
// the named rows only when names are given.
func displayNames[T any](db *gorm.DB, keyCol, dspCol string, names ...string) (map[string]string, error) {
	var pairs []struct{ K, D string }
	q := db.Model(new(T)).Select(keyCol + " AS k, " + dspCol + " AS d")
	if len(names) > 0 {
		q = q.Where(keyCol+" IN ?", keys(names))
	}
	if err := q.Scan(&pairs).Error; err != nil {
		return nil, fmt.Errorf("read %s: %w", dspCol, err)
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.K] = p.D
	}
	return m, nil
}

// ModifyStoragePool changes a pool's properties.
func (s *Store) ModifyStoragePool(ctx context.Context, node, pool string, m PropsModify) (StoragePoolRow, error) {
	return modifyProps(s, ctx, KindStoragePool, m, StoragePoolInstance(node, pool), func(tx *gorm.DB) (StoragePoolRow, error) {
		if _, err := takeNode(tx, node); err != nil {
			return StoragePoolRow{}, err
		}
		return takeStoragePool(tx, node, pool)
	})
}

// DeleteStoragePool removes a pool that holds no volumes.
func (s *Store) DeleteStoragePool(ctx context.Context, node, pool string) (StoragePoolRow, error) {
	var row StoragePoolRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if _, err := takeNode(tx, node); err != nil {
			return err
		}
		var err error
		if row, err = takeStoragePool(tx, node, pool); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&VolumeRow{}).Where("node_name = ? AND stor_pool_name = ?", row.NodeName, row.PoolName).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return refuse(InUse, KindStoragePool,
				fmt.Sprintf("The specified storage pool '%s' on node '%s' can not be deleted as volumes are still using it.", pool, node),
				fmt.Sprintf("%d volumes are placed in it.", n), "Delete the resources using this storage pool first.")
		}
		if err := dropProps(tx, []string{StoragePoolInstance(node, pool)}); err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return row, err
}

// SetStoragePoolCapacity records the capacity a node's agent reported
// (KiB), and whether the pool can take snapshots where it said (nil:
// unchanged).
func (s *Store) SetStoragePoolCapacity(ctx context.Context, node, pool string, free, total int64, snapshots *bool) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"free_capacity": free, "total_capacity": total, "state_error": "", "state_report": ""}
		if snapshots != nil {
			set["supports_snapshots"] = *snapshots
		}
		res := tx.Model(&StoragePoolRow{}).Where("node_name = ? AND pool_name = ?", Key(node), Key(pool)).Updates(set)
		if res.Error == nil && res.RowsAffected == 0 {
			return spNotFound(node, pool)
		}
		return res.Error
	})
}

// SetStoragePoolError records why a node's agent cannot use a pool, with
// an error report when the reason is new.
func (s *Store) SetStoragePoolError(ctx context.Context, node, pool, why string) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		cur, err := takeStoragePool(tx, node, pool)
		if err != nil {
			return err
		}
		report, err := reportChange(tx, node, "SATELLITE", fmt.Sprintf("Storage pool %s failed", pool), cur.StateError, cur.StateReport, why)
		if err != nil {
			return err
		}
		return tx.Model(&StoragePoolRow{}).Where("node_name = ? AND pool_name = ?", cur.NodeName, cur.PoolName).
			Updates(map[string]any{"state_error": why, "state_report": report}).Error
	})
}

// ReservedPerPool sums, per node and pool key, the sizes (KiB) of the
// volumes placed in each pool: what thin pools have promised.
func (s *Store) ReservedPerPool(ctx context.Context) (map[[2]string]int64, error) {
	var rows []struct {
		NodeName, StorPoolName string
		Reserved               int64
	}
	err := s.DB.WithContext(ctx).Raw(`SELECT v.node_name, v.stor_pool_name, SUM(d.vlm_size) AS reserved
		FROM volumes v JOIN volume_definitions d ON d.resource_name = v.resource_name AND d.vlm_nr = v.vlm_nr
		GROUP BY v.node_name, v.stor_pool_name`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sum volume sizes per storage pool: %w", err)
	}
	out := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		out[[2]string{r.NodeName, r.StorPoolName}] = r.Reserved
	}
	return out, nil
}

// poolKeyProp is the driver key that StorDriver/StorPoolName (the
// positional argument of the guide's storage-pool create) names, by
// provider; LVM_THIN's vg/thinpool fills two keys.
var poolKeyProp = map[string]string{
	ProviderLVM:      "StorDriver/LvmVg",
	ProviderZFS:      "StorDriver/ZPool",
	ProviderZFSThin:  "StorDriver/ZPoolThin",
	ProviderFile:     "StorDriver/FileDir",
	ProviderFileThin: "StorDriver/FileDir",
}

// backingProps are a new pool's properties with its driver's keys filled
// from StorDriver/StorPoolName; every pool but a diskless one needs one
// or the other.
func backingProps(spec StoragePoolSpec) (map[string]string, error) {
	backing := spec.Props["StorDriver/StorPoolName"]
	if backing == "" {
		named := spec.Props[poolKeyProp[spec.Provider]] != "" || spec.Props["StorDriver/LvmVg"] != "" && spec.Props["StorDriver/ThinPool"] != ""
		if named || spec.Provider == ProviderDiskless || spec.Provider == ProviderRemoteSPDK {
			return spec.Props, nil
		}
		return nil, &Error{Problem: Invalid, Kind: KindStoragePool, Code: apicall.FailInvldStorPoolName,
			Message:    fmt.Sprintf("Storage pool '%s' of kind %s needs its backing storage.", spec.Name, spec.Provider),
			Cause:      "The property StorDriver/StorPoolName is not set.",
			Correction: "Name the volume group, thin pool (vg/pool), zpool or directory that holds the pool's volumes."}
	}
	props := maps.Clone(spec.Props)
	if k := poolKeyProp[spec.Provider]; k != "" && props[k] == "" {
		props[k] = backing
	}
	if spec.Provider == ProviderLVMThin {
		vg, thin, ok := strings.Cut(backing, "/")
		if !ok || vg == "" || thin == "" {
			return nil, &Error{Problem: Invalid, Kind: KindStoragePool, Code: apicall.FailInvldStorPoolName,
				Message: fmt.Sprintf("Invalid thin pool '%s'.", backing), Cause: "An LVM_THIN pool is named volume-group/thin-pool.", Correction: "Give it as vg/thinpool."}
		}
		props["StorDriver/LvmVg"], props["StorDriver/ThinPool"] = vg, thin
	}
	return props, nil
}
