package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// KeyValueStoreRow is a key-value store: a named property container
// clients (linstor-csi, the Proxmox plug-in) keep their own state in. As
// in LINSTOR it exists while it holds properties.
type KeyValueStoreRow struct {
	KvsName    string `gorm:"primaryKey"`
	KvsDspName string
	UUID       string `gorm:"column:uuid"`
}

func (KeyValueStoreRow) TableName() string { return "key_value_stores" }

// KeyValueStore is a key-value store with its properties.
type KeyValueStore struct {
	Name  string
	UUID  string
	Props map[string]string
}

const keyValueStorePrefix = "/KEYVALUESTORES/"

func KeyValueStoreInstance(name string) string { return keyValueStorePrefix + Key(name) }

// ListKeyValueStores returns every key-value store, by name.
func (s *Store) ListKeyValueStores(ctx context.Context) ([]KeyValueStore, error) {
	db := s.DB.WithContext(ctx)
	var rows []KeyValueStoreRow
	if err := db.Order("kvs_name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list key-value stores: %w", err)
	}
	props, err := propsUnder(db, keyValueStorePrefix)
	if err != nil {
		return nil, err
	}
	out := make([]KeyValueStore, len(rows))
	for i, r := range rows {
		p := props[KeyValueStoreInstance(r.KvsName)]
		if p == nil {
			p = map[string]string{}
		}
		out[i] = KeyValueStore{Name: r.KvsDspName, UUID: r.UUID, Props: p}
	}
	return out, nil
}

// GetKeyValueStore returns one key-value store; its name is matched
// without regard to case.
func (s *Store) GetKeyValueStore(ctx context.Context, name string) (KeyValueStore, error) {
	db := s.DB.WithContext(ctx)
	var row KeyValueStoreRow
	ok, err := found(db.Take(&row, "kvs_name = ?", Key(name)).Error)
	if err != nil {
		return KeyValueStore{}, err
	}
	if !ok {
		return KeyValueStore{}, &Error{Problem: NotFound, Kind: KindKeyValueStore, Code: apicall.FailNotFoundKvs,
			Message: fmt.Sprintf("Could not find key value store instance '%s'.", name)}
	}
	props, err := readProps(db, KeyValueStoreInstance(name))
	if err != nil {
		return KeyValueStore{}, err
	}
	return KeyValueStore{Name: row.KvsDspName, UUID: row.UUID, Props: props}, nil
}

// ModifyKeyValueStore changes a key-value store's properties, creating
// the store first when it does not exist and deleting it when no
// property is left, as LINSTOR does.
func (s *Store) ModifyKeyValueStore(ctx context.Context, name string, m PropsModify) error {
	if err := m.Check(KindKeyValueStore); err != nil {
		return err
	}
	return s.Write(ctx, func(tx *gorm.DB) error {
		row := KeyValueStoreRow{KvsName: Key(name), KvsDspName: name, UUID: uuid.NewString()}
		if err := tx.Where("kvs_name = ?", row.KvsName).FirstOrCreate(&row).Error; err != nil {
			return err
		}
		instance := KeyValueStoreInstance(name)
		if err := applyProps(tx, instance, m); err != nil {
			return err
		}
		var left int64
		if err := tx.Model(&propRow{}).Where("props_instance = ?", instance).Count(&left).Error; err != nil {
			return err
		}
		if left == 0 {
			return tx.Delete(&row).Error
		}
		return nil
	})
}

// DeleteKeyValueStore deletes a key-value store and its properties; it
// reports whether there was one.
func (s *Store) DeleteKeyValueStore(ctx context.Context, name string) (bool, error) {
	var deleted bool
	err := s.Write(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&KeyValueStoreRow{}, "kvs_name = ?", Key(name))
		if res.Error != nil {
			return res.Error
		}
		deleted = res.RowsAffected > 0
		return dropProps(tx, []string{KeyValueStoreInstance(name)})
	})
	return deleted, err
}
