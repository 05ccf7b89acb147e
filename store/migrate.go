package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"gorm.io/gorm"
)

// A migration moves the schema from version-1 to version. Migrations are
// append-only: a released one is never edited, so any older database can be
// brought forward step by step. DDL is kept to what SQLite and PostgreSQL
// both accept.
type migration struct {
	version     int
	description string
	statements  []string
}

var migrations = []migration{
	{1, "property containers", []string{
		// LINSTOR keeps every object's properties in one table keyed by
		// the object's instance path ("/CTRLCFG", "/NODES/N1", ...).
		`CREATE TABLE props_containers (
			props_instance VARCHAR(512) NOT NULL,
			prop_key       VARCHAR(512) NOT NULL,
			prop_value     TEXT         NOT NULL,
			PRIMARY KEY (props_instance, prop_key)
		)`,
	}},
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

type schemaMigration struct {
	Version     int `gorm:"primaryKey;autoIncrement:false"`
	Description string
	AppliedAt   time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migrate applies the pending migrations, each in its own transaction. On
// SQLite an existing database is first copied aside, as LINSTOR does with
// its embedded database before an upgrade; on PostgreSQL an advisory lock
// keeps several controllers starting together from migrating twice.
func (s *Store) migrate(ctx context.Context, log *slog.Logger) error {
	db := s.DB.WithContext(ctx)
	if err := db.AutoMigrate(&schemaMigration{}); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := s.CurrentVersion(ctx)
	if err != nil {
		return err
	}
	if current > SchemaVersion() {
		return fmt.Errorf("database schema version %d is newer than this Strata (%d): upgrade Strata", current, SchemaVersion())
	}
	if current == SchemaVersion() {
		return nil
	}
	if s.Dialect == DialectSQLite && current > 0 {
		aside := fmt.Sprintf("%s.v%d-%s.bak", s.sqlitePath, current, time.Now().UTC().Format("20060102T150405Z"))
		if err := s.copySQLite(ctx, aside); err != nil {
			return fmt.Errorf("copy database aside before migration: %w", err)
		}
		log.Info("copied database aside before migration", "copy", aside, "from_version", current)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if s.Dialect == DialectPostgres {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(7370)").Error; err != nil {
					return err
				}
			}
			var done int64
			if err := tx.Model(&schemaMigration{}).Where("version = ?", m.version).Count(&done).Error; err != nil {
				return err
			}
			if done > 0 { // another controller applied it while we waited
				return nil
			}
			for _, stmt := range m.statements {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return tx.Create(&schemaMigration{Version: m.version, Description: m.description, AppliedAt: time.Now().UTC()}).Error
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.description, err)
		}
		log.Info("database migrated", "version", m.version, "description", m.description)
	}
	return nil
}

// CurrentVersion is the highest migration applied to the database.
func (s *Store) CurrentVersion(ctx context.Context) (int, error) {
	var v *int
	if err := s.DB.WithContext(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// copySQLite writes a consistent copy of the live SQLite database (WAL
// included) to path, which must not exist yet.
func (s *Store) copySQLite(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	return s.DB.WithContext(ctx).Exec("VACUUM INTO ?", path).Error
}
