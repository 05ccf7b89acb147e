package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"
)

// Property container instances.
const CtrlPropsInstance = "/CTRLCFG"

// KeyClusterLocalID is the controller property holding the cluster's
// identity, created once by the first controller that starts on a database.
const KeyClusterLocalID = "Cluster/LocalID"

type propRow struct {
	PropsInstance string `gorm:"primaryKey"`
	PropKey       string `gorm:"primaryKey"`
	PropValue     string
}

func (propRow) TableName() string { return "props_containers" }

// Props returns every property of one container.
func (s *Store) Props(ctx context.Context, instance string) (map[string]string, error) {
	var rows []propRow
	if err := s.DB.WithContext(ctx).Where("props_instance = ?", instance).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read properties of %s: %w", instance, err)
	}
	props := make(map[string]string, len(rows))
	for _, r := range rows {
		props[r.PropKey] = r.PropValue
	}
	return props, nil
}

// EnsureClusterID returns the cluster's id, creating it if this is the first
// start on the database. Controllers starting together agree on one id.
func (s *Store) EnsureClusterID(ctx context.Context) (string, error) {
	row := propRow{PropsInstance: CtrlPropsInstance, PropKey: KeyClusterLocalID, PropValue: uuid.NewString()}
	db := s.DB.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return "", fmt.Errorf("create cluster id: %w", err)
	}
	var got propRow
	if err := db.Where("props_instance = ? AND prop_key = ?", CtrlPropsInstance, KeyClusterLocalID).Take(&got).Error; err != nil {
		return "", fmt.Errorf("read cluster id: %w", err)
	}
	return got.PropValue, nil
}
