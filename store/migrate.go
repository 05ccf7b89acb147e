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
	{2, "object model of nodes, storage pools, groups, definitions, resources and connections", []string{
		// Names are kept twice: upper-cased as the key (LINSTOR compares
		// names case-insensitively) and as the user typed them.
		`CREATE TABLE nodes (
			node_name     VARCHAR(255) NOT NULL PRIMARY KEY,
			node_dsp_name VARCHAR(255) NOT NULL,
			uuid          VARCHAR(36)  NOT NULL,
			node_type     VARCHAR(16)  NOT NULL,
			flags         TEXT         NOT NULL DEFAULT ''
		)`,
		`CREATE TABLE node_net_interfaces (
			node_name           VARCHAR(255) NOT NULL REFERENCES nodes (node_name) ON DELETE CASCADE,
			node_net_name       VARCHAR(32)  NOT NULL,
			node_net_dsp_name   VARCHAR(32)  NOT NULL,
			uuid                VARCHAR(36)  NOT NULL,
			inet_address        VARCHAR(64)  NOT NULL,
			stlt_conn_port      INTEGER,
			stlt_conn_encr_type VARCHAR(16),
			PRIMARY KEY (node_name, node_net_name)
		)`,
		`CREATE TABLE node_connections (
			node_name_src VARCHAR(255) NOT NULL REFERENCES nodes (node_name) ON DELETE CASCADE,
			node_name_dst VARCHAR(255) NOT NULL REFERENCES nodes (node_name) ON DELETE CASCADE,
			uuid          VARCHAR(36)  NOT NULL,
			PRIMARY KEY (node_name_src, node_name_dst)
		)`,
		`CREATE TABLE stor_pool_definitions (
			pool_name     VARCHAR(48) NOT NULL PRIMARY KEY,
			pool_dsp_name VARCHAR(48) NOT NULL,
			uuid          VARCHAR(36) NOT NULL
		)`,
		`CREATE TABLE storage_pools (
			node_name           VARCHAR(255) NOT NULL REFERENCES nodes (node_name) ON DELETE CASCADE,
			pool_name           VARCHAR(48)  NOT NULL REFERENCES stor_pool_definitions (pool_name),
			uuid                VARCHAR(36)  NOT NULL,
			driver_name         VARCHAR(32)  NOT NULL,
			free_space_mgr_name VARCHAR(255) NOT NULL,
			external_locking    BOOLEAN      NOT NULL DEFAULT FALSE,
			free_capacity       BIGINT,
			total_capacity      BIGINT,
			state_error         TEXT         NOT NULL DEFAULT '',
			state_report        VARCHAR(64)  NOT NULL DEFAULT '',
			PRIMARY KEY (node_name, pool_name)
		)`,
		`CREATE TABLE resource_groups (
			resource_group_name     VARCHAR(48) NOT NULL PRIMARY KEY,
			resource_group_dsp_name VARCHAR(48) NOT NULL,
			uuid                    VARCHAR(36) NOT NULL,
			description             TEXT        NOT NULL DEFAULT '',
			select_filter           TEXT        NOT NULL DEFAULT '{}',
			peer_slots              INTEGER
		)`,
		`CREATE TABLE volume_groups (
			resource_group_name VARCHAR(48) NOT NULL REFERENCES resource_groups (resource_group_name) ON DELETE CASCADE,
			vlm_nr              INTEGER     NOT NULL,
			uuid                VARCHAR(36) NOT NULL,
			flags               TEXT        NOT NULL DEFAULT '',
			PRIMARY KEY (resource_group_name, vlm_nr)
		)`,
		`CREATE TABLE resource_definitions (
			resource_name          VARCHAR(48) NOT NULL PRIMARY KEY,
			resource_dsp_name      VARCHAR(48) NOT NULL,
			uuid                   VARCHAR(36) NOT NULL,
			resource_external_name VARCHAR(255) UNIQUE,
			resource_group_name    VARCHAR(48) NOT NULL REFERENCES resource_groups (resource_group_name),
			flags                  TEXT        NOT NULL DEFAULT '',
			layer_stack            TEXT        NOT NULL DEFAULT '',
			drbd_port              INTEGER UNIQUE,
			drbd_secret            VARCHAR(64) NOT NULL DEFAULT '',
			drbd_peer_slots        INTEGER     NOT NULL,
			drbd_transport_type    VARCHAR(16) NOT NULL DEFAULT 'IP',
			create_timestamp       BIGINT      NOT NULL,
			view_generation        BIGINT      NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX resource_definitions_group ON resource_definitions (resource_group_name)`,
		`CREATE TABLE volume_definitions (
			resource_name VARCHAR(48) NOT NULL REFERENCES resource_definitions (resource_name) ON DELETE CASCADE,
			vlm_nr        INTEGER     NOT NULL,
			uuid          VARCHAR(36) NOT NULL,
			vlm_size      BIGINT      NOT NULL,
			flags         TEXT        NOT NULL DEFAULT '',
			drbd_minor    INTEGER UNIQUE,
			PRIMARY KEY (resource_name, vlm_nr)
		)`,
		`CREATE TABLE resources (
			resource_name    VARCHAR(48)  NOT NULL REFERENCES resource_definitions (resource_name) ON DELETE CASCADE,
			node_name        VARCHAR(255) NOT NULL REFERENCES nodes (node_name) ON DELETE CASCADE,
			uuid             VARCHAR(36)  NOT NULL,
			flags            TEXT         NOT NULL DEFAULT '',
			drbd_node_id     INTEGER      NOT NULL,
			create_timestamp BIGINT       NOT NULL,
			PRIMARY KEY (resource_name, node_name),
			UNIQUE (resource_name, drbd_node_id)
		)`,
		`CREATE INDEX resources_node ON resources (node_name)`,
		`CREATE TABLE volumes (
			resource_name  VARCHAR(48)  NOT NULL,
			node_name      VARCHAR(255) NOT NULL,
			vlm_nr         INTEGER      NOT NULL,
			uuid           VARCHAR(36)  NOT NULL,
			stor_pool_name VARCHAR(48)  NOT NULL,
			flags          TEXT         NOT NULL DEFAULT '',
			device_path    TEXT         NOT NULL DEFAULT '',
			allocated_kib  BIGINT,
			usable_kib     BIGINT,
			disk_state     VARCHAR(32)  NOT NULL DEFAULT '',
			state_error    TEXT         NOT NULL DEFAULT '',
			state_report   VARCHAR(64)  NOT NULL DEFAULT '',
			PRIMARY KEY (resource_name, node_name, vlm_nr),
			FOREIGN KEY (resource_name, node_name) REFERENCES resources (resource_name, node_name) ON DELETE CASCADE,
			FOREIGN KEY (resource_name, vlm_nr) REFERENCES volume_definitions (resource_name, vlm_nr) ON DELETE CASCADE,
			FOREIGN KEY (node_name, stor_pool_name) REFERENCES storage_pools (node_name, pool_name)
		)`,
		`CREATE INDEX volumes_pool ON volumes (node_name, stor_pool_name)`,
		// Every write transaction counts up the generation, so that a
		// controller can tell whether what it built from the database
		// (the serialised resource view) is still current, even when
		// another controller wrote.
		`CREATE TABLE change_generation (
			id         INTEGER NOT NULL PRIMARY KEY,
			generation BIGINT  NOT NULL
		)`,
		`INSERT INTO change_generation (id, generation) VALUES (1, 0)`,
		// LINSTOR's error reports: what went wrong, where, with an id a
		// user can quote.
		`CREATE TABLE error_reports (
			id         VARCHAR(64)  NOT NULL PRIMARY KEY,
			node_name  VARCHAR(255) NOT NULL,
			module     VARCHAR(32)  NOT NULL,
			error_time BIGINT       NOT NULL,
			exception  VARCHAR(255) NOT NULL,
			message    TEXT         NOT NULL,
			text       TEXT         NOT NULL
		)`,
		`CREATE INDEX error_reports_time ON error_reports (error_time)`,
		`CREATE TABLE resource_connections (
			resource_name VARCHAR(48)  NOT NULL,
			node_name_src VARCHAR(255) NOT NULL,
			node_name_dst VARCHAR(255) NOT NULL,
			uuid          VARCHAR(36)  NOT NULL,
			flags         TEXT         NOT NULL DEFAULT '',
			tcp_port      INTEGER,
			PRIMARY KEY (resource_name, node_name_src, node_name_dst),
			FOREIGN KEY (resource_name, node_name_src) REFERENCES resources (resource_name, node_name) ON DELETE CASCADE,
			FOREIGN KEY (resource_name, node_name_dst) REFERENCES resources (resource_name, node_name) ON DELETE CASCADE
		)`,
	}},
	{3, "what the agents report of a volume's layers", []string{
		// The device below the volume's top device (the storage device
		// under DRBD; the file or logical volume of storage only), and
		// the layer that made the top device ('' for STORAGE).
		`ALTER TABLE volumes ADD COLUMN backing_device TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volumes ADD COLUMN top_layer VARCHAR(16) NOT NULL DEFAULT ''`,
	}},
	{4, "what the agents report of a resource's DRBD state", []string{
		// The role ('' until DRBD reported one) and the connection state
		// to each peer node, as JSON (NULL for none).
		`ALTER TABLE resources ADD COLUMN drbd_role VARCHAR(16) NOT NULL DEFAULT ''`,
		`ALTER TABLE resources ADD COLUMN drbd_connections TEXT`,
	}},
	{5, "locks of long operations, per-node slots for heavy I/O, and steps done", []string{
		// An object ("rd/NAME", "node/NAME") is locked by the workflow
		// that holds it, so that operations on it queue instead of
		// interleaving, across controllers and restarts.
		`CREATE TABLE operation_locks (
			object   VARCHAR(512) NOT NULL PRIMARY KEY,
			holder   VARCHAR(512) NOT NULL,
			taken_at BIGINT       NOT NULL
		)`,
		`CREATE INDEX operation_locks_holder ON operation_locks (holder)`,
		// A slot of a kind of heavy I/O on a node (a backup shipment, an
		// evacuation's copy), held by a workflow; the kind's limit is a
		// property.
		`CREATE TABLE operation_slots (
			node_name VARCHAR(255) NOT NULL,
			kind      VARCHAR(64)  NOT NULL,
			holder    VARCHAR(512) NOT NULL,
			taken_at  BIGINT       NOT NULL,
			PRIMARY KEY (node_name, kind, holder)
		)`,
		`CREATE INDEX operation_slots_holder ON operation_slots (holder)`,
		// The steps of operations that changed the desired state, each in
		// the transaction of its change, with the step's answer once it
		// has one: a step that runs again after a crash does nothing twice
		// and answers as it did.
		`CREATE TABLE operation_steps (
			step_key VARCHAR(512) NOT NULL PRIMARY KEY,
			holder   VARCHAR(512) NOT NULL,
			result   TEXT,
			done_at  BIGINT       NOT NULL
		)`,
		`CREATE INDEX operation_steps_done ON operation_steps (done_at)`,
	}},
	{6, "the layers each node's agent last said it serves", []string{
		// NULL until the agent first answered; kept while it is offline,
		// so that what a resource's default layer stack is does not
		// change when a peer goes away or the controller restarts.
		`ALTER TABLE nodes ADD COLUMN served_layers TEXT`,
	}},
	{7, "snapshots: definitions, their volume definitions, and each node's snapshot with its volumes", []string{
		// phase is where a snapshot's create (or a rollback to it) is:
		// '' when none runs; nodes' desired states follow it (I/O
		// suspended, snapshot to take, volumes to restore). The copies of
		// the definition's, resources' and volumes' properties at
		// snapshot time are JSON.
		`CREATE TABLE snapshot_definitions (
			resource_name             VARCHAR(48) NOT NULL REFERENCES resource_definitions (resource_name),
			snapshot_name             VARCHAR(48) NOT NULL,
			snapshot_dsp_name         VARCHAR(48) NOT NULL,
			uuid                      VARCHAR(36) NOT NULL,
			flags                     TEXT        NOT NULL DEFAULT '',
			phase                     VARCHAR(32) NOT NULL DEFAULT '',
			resource_definition_props TEXT,
			PRIMARY KEY (resource_name, snapshot_name)
		)`,
		`CREATE TABLE snapshot_volume_definitions (
			resource_name           VARCHAR(48) NOT NULL,
			snapshot_name           VARCHAR(48) NOT NULL,
			vlm_nr                  INTEGER     NOT NULL,
			uuid                    VARCHAR(36) NOT NULL,
			size_kib                BIGINT      NOT NULL,
			flags                   TEXT        NOT NULL DEFAULT '',
			volume_definition_props TEXT,
			PRIMARY KEY (resource_name, snapshot_name, vlm_nr),
			FOREIGN KEY (resource_name, snapshot_name) REFERENCES snapshot_definitions (resource_name, snapshot_name) ON DELETE CASCADE
		)`,
		`CREATE TABLE snapshots (
			resource_name    VARCHAR(48)  NOT NULL,
			snapshot_name    VARCHAR(48)  NOT NULL,
			node_name        VARCHAR(255) NOT NULL REFERENCES nodes (node_name) ON DELETE CASCADE,
			uuid             VARCHAR(36)  NOT NULL,
			flags            TEXT         NOT NULL DEFAULT '',
			create_timestamp BIGINT       NOT NULL DEFAULT 0,
			resource_props   TEXT,
			PRIMARY KEY (resource_name, snapshot_name, node_name),
			FOREIGN KEY (resource_name, snapshot_name) REFERENCES snapshot_definitions (resource_name, snapshot_name) ON DELETE CASCADE
		)`,
		`CREATE INDEX snapshots_node ON snapshots (node_name)`,
		`CREATE TABLE snapshot_volumes (
			resource_name  VARCHAR(48)  NOT NULL,
			snapshot_name  VARCHAR(48)  NOT NULL,
			node_name      VARCHAR(255) NOT NULL,
			vlm_nr         INTEGER      NOT NULL,
			uuid           VARCHAR(36)  NOT NULL,
			stor_pool_name VARCHAR(48)  NOT NULL,
			volume_props   TEXT,
			state_error    TEXT         NOT NULL DEFAULT '',
			PRIMARY KEY (resource_name, snapshot_name, node_name, vlm_nr),
			FOREIGN KEY (resource_name, snapshot_name, node_name) REFERENCES snapshots (resource_name, snapshot_name, node_name) ON DELETE CASCADE
		)`,
		// Whether a pool can take snapshots, as its agent probed it (a
		// FILE pool only on a file system with reflinks); NULL until
		// reported.
		`ALTER TABLE storage_pools ADD COLUMN supports_snapshots BOOLEAN`,
	}},
	{8, "the DRBD node id each snapshot part was taken with", []string{
		// DRBD's internal metadata inside the snapshot names the node id;
		// a resource restored from it on that node gets the same id.
		`ALTER TABLE snapshots ADD COLUMN drbd_node_id INTEGER`,
	}},
	{9, "the master key, wrapped under the master passphrase", []string{
		// One row at most; not a property, so that no properties answer
		// ever shows it.
		`CREATE TABLE master_key (
			id      INTEGER NOT NULL PRIMARY KEY,
			wrapped TEXT    NOT NULL
		)`,
	}},
	{10, "remotes: S3 buckets and other LINSTOR clusters that backups go to", []string{
		// Secrets (S3 keys, a LINSTOR remote's passphrase) are kept only
		// sealed with the master key (masterkey.Seal); '' when not given.
		`CREATE TABLE remotes (
			remote_name       VARCHAR(255) NOT NULL PRIMARY KEY,
			remote_dsp_name   VARCHAR(255) NOT NULL,
			uuid              VARCHAR(36)  NOT NULL,
			kind              VARCHAR(16)  NOT NULL,
			flags             TEXT         NOT NULL DEFAULT '',
			endpoint          TEXT         NOT NULL DEFAULT '',
			bucket            TEXT         NOT NULL DEFAULT '',
			region            TEXT         NOT NULL DEFAULT '',
			use_path_style    BOOLEAN      NOT NULL DEFAULT FALSE,
			access_key_sealed TEXT         NOT NULL DEFAULT '',
			secret_key_sealed TEXT         NOT NULL DEFAULT '',
			url               TEXT         NOT NULL DEFAULT '',
			cluster_id        VARCHAR(36)  NOT NULL DEFAULT '',
			passphrase_sealed TEXT         NOT NULL DEFAULT ''
		)`,
	}},
	{11, "backup shipping schedules", []string{
		// NULL keep and retry counts are LINSTOR's "all" and "forever".
		`CREATE TABLE schedules (
			schedule_name     VARCHAR(48)  NOT NULL PRIMARY KEY,
			schedule_dsp_name VARCHAR(48)  NOT NULL,
			uuid              VARCHAR(36)  NOT NULL,
			full_cron         TEXT         NOT NULL,
			inc_cron          TEXT         NOT NULL DEFAULT '',
			keep_local        INTEGER,
			keep_remote       INTEGER,
			on_failure        VARCHAR(8)   NOT NULL DEFAULT 'SKIP',
			max_retries       INTEGER
		)`,
	}},
	{12, "key-value stores: named property containers clients keep their own state in", []string{
		// Their properties live in props_containers under /KEYVALUESTORES/.
		`CREATE TABLE key_value_stores (
			kvs_name     VARCHAR(48) NOT NULL PRIMARY KEY,
			kvs_dsp_name VARCHAR(48) NOT NULL,
			uuid         VARCHAR(36) NOT NULL
		)`,
	}},
	{13, "resources: whether they are in use and DRBD's promotion score, as their agents report them", []string{
		// NULL: the node's agent has not reported the resource.
		`ALTER TABLE resources ADD COLUMN in_use BOOLEAN`,
		`ALTER TABLE resources ADD COLUMN promotion_score INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE resources ADD COLUMN may_promote BOOLEAN NOT NULL DEFAULT FALSE`,
	}},
	{14, "volumes: the file system the agent made on them (FileSystem/Type), once", []string{
		`ALTER TABLE volumes ADD COLUMN file_system VARCHAR(16) NOT NULL DEFAULT ''`,
	}},
	{15, "external files: files the agents write on the nodes of the definitions they are attached to", []string{
		// Attached by the definition property Files/<path> = True.
		`CREATE TABLE external_files (
			path         VARCHAR(4096) NOT NULL PRIMARY KEY,
			uuid         VARCHAR(36)   NOT NULL,
			content      TEXT          NOT NULL,
			alt_suffixes TEXT          NOT NULL DEFAULT ''
		)`,
	}},
	{16, "nodes: when an offline node is to be evicted (ms since the epoch), while its auto-evict timer runs", []string{
		`ALTER TABLE nodes ADD COLUMN eviction_timestamp BIGINT`,
	}},
	{17, "resources: since when the agent reports the resource in use (ms since the epoch), for DrbdOptions/auto-diskful", []string{
		`ALTER TABLE resources ADD COLUMN in_use_since BIGINT`,
	}},
	{18, "volumes: how a DRBD volume replicates to each peer, and how much of a sync is done (JSON)", []string{
		`ALTER TABLE volumes ADD COLUMN replication_states TEXT`,
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
