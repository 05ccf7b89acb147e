package store

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

type masterKeyRow struct {
	ID      int `gorm:"primaryKey;autoIncrement:false"`
	Wrapped string
}

func (masterKeyRow) TableName() string { return "master_key" }

// MasterKey is the stored wrapped master key (masterkey.Wrapped, encoded);
// ok is false while no passphrase was created.
func (s *Store) MasterKey(ctx context.Context) (string, bool, error) {
	var row masterKeyRow
	ok, err := found(s.DB.WithContext(ctx).Take(&row, "id = 1").Error)
	return row.Wrapped, ok, err
}

// SetMasterKey stores the wrapped master key: the first one when old is
// "", else in place of old; it reports false when the stored key is not
// old (one exists already, or another change came first).
func (s *Store) SetMasterKey(ctx context.Context, old, wrapped string) (bool, error) {
	// A change that does not happen is rolled back rather than committed
	// empty, which would count as a change of the cluster.
	unchanged := errors.New("master key unchanged")
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if old == "" {
			ok, err := found(tx.Take(&masterKeyRow{}, "id = 1").Error)
			if err != nil {
				return err
			}
			if ok {
				return unchanged
			}
			return tx.Create(&masterKeyRow{ID: 1, Wrapped: wrapped}).Error
		}
		res := tx.Model(&masterKeyRow{}).Where("id = 1 AND wrapped = ?", old).Update("wrapped", wrapped)
		if res.Error == nil && res.RowsAffected != 1 {
			return unchanged
		}
		return res.Error
	})
	if errors.Is(err, unchanged) {
		return false, nil
	}
	return err == nil, err
}
