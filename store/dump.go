package store

import (
	"context"
	"regexp"
	"sort"
)

// secretName matches the columns and property keys that hold secrets:
// DRBD's shared secrets, sealed remote keys, the wrapped master key, the
// agent token, passphrases.
var secretName = regexp.MustCompile(`(?i)secret|passw|passphrase|sealed|wrapped|token`)

// Redacted stands for a secret in a dump.
const Redacted = "<redacted>"

// Tables hands every table's rows to fn, table by table in name order, as
// they are stored.
func (s *Store) Tables(ctx context.Context, fn func(table string, rows []map[string]any) error) error {
	tables, err := s.DB.WithContext(ctx).Migrator().GetTables()
	if err != nil {
		return err
	}
	sort.Strings(tables)
	for _, table := range tables {
		var rows []map[string]any
		if err := s.DB.WithContext(ctx).Table(table).Find(&rows).Error; err != nil {
			return err
		}
		if err := fn(table, rows); err != nil {
			return err
		}
	}
	return nil
}

// DumpTables is Tables with every secret replaced by Redacted: what an
// SOS report carries of the database.
func (s *Store) DumpTables(ctx context.Context, fn func(table string, rows []map[string]any) error) error {
	return s.Tables(ctx, func(table string, rows []map[string]any) error {
		for _, r := range rows {
			redactRow(table, r)
		}
		return fn(table, rows)
	})
}

func redactRow(table string, row map[string]any) {
	if table == "master_key" {
		for k := range row {
			if k != "id" {
				row[k] = Redacted
			}
		}
		return
	}
	for k, v := range row {
		if secretName.MatchString(k) && k != "prop_key" && v != "" && v != nil {
			row[k] = Redacted
		}
	}
	if key, ok := row["prop_key"].(string); ok {
		if inst, _ := row["props_instance"].(string); inst == secretsInstance || secretName.MatchString(key) {
			row["prop_value"] = Redacted
		}
	}
}
