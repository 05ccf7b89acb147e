package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// What a scheduled shipment does when it fails (LINSTOR's on_failure).
const (
	OnFailureSkip  = "SKIP"
	OnFailureRetry = "RETRY"
)

// ScheduleRow is a backup shipping schedule: when full and incremental
// backups ship, how many to keep, and what a failure does. A nil keep or
// retry count is LINSTOR's "all" or "forever".
type ScheduleRow struct {
	ScheduleName    string `gorm:"primaryKey"`
	ScheduleDspName string
	UUID            string `gorm:"column:uuid"`
	FullCron        string
	IncCron         string
	KeepLocal       *int32
	KeepRemote      *int32
	OnFailure       string
	MaxRetries      *int32
}

func (ScheduleRow) TableName() string { return "schedules" }

func scheduleNotFound(name string) *Error {
	return &Error{Problem: NotFound, Kind: KindController, Message: fmt.Sprintf("Schedule '%s' not found.", name), Code: apicall.FailNotFoundSchedule}
}

// CreateSchedule stores a new schedule.
func (s *Store) CreateSchedule(ctx context.Context, r ScheduleRow) (ScheduleRow, error) {
	r.ScheduleDspName, r.ScheduleName, r.UUID = r.ScheduleName, Key(r.ScheduleName), uuid.NewString()
	err := s.Write(ctx, func(tx *gorm.DB) error {
		dup := &Error{Problem: Exists, Kind: KindController, Code: apicall.FailExistsSchedule,
			Message: fmt.Sprintf("A schedule with the name '%s' already exists. Please use a different name or try to modify the schedule instead.", r.ScheduleDspName)}
		if err := absent[ScheduleRow](tx, dup, "schedule_name = ?", r.ScheduleName); err != nil {
			return err
		}
		return tx.Create(&r).Error
	})
	return r, err
}

// GetSchedule returns a schedule.
func (s *Store) GetSchedule(ctx context.Context, name string) (ScheduleRow, error) {
	return take[ScheduleRow](s.DB.WithContext(ctx), scheduleNotFound(name), "schedule_name = ?", Key(name))
}

// ListSchedules returns every schedule, ordered by name.
func (s *Store) ListSchedules(ctx context.Context) ([]ScheduleRow, error) {
	var rows []ScheduleRow
	return rows, s.DB.WithContext(ctx).Order("schedule_name").Find(&rows).Error
}

// SchedulesByKey is every schedule by the key of its name.
func (s *Store) SchedulesByKey(ctx context.Context) (map[string]ScheduleRow, error) {
	rows, err := s.ListSchedules(ctx)
	out := make(map[string]ScheduleRow, len(rows))
	for _, r := range rows {
		out[r.ScheduleName] = r
	}
	return out, err
}

// ModifySchedule changes a schedule in one write: change gets the stored
// row and may refuse.
func (s *Store) ModifySchedule(ctx context.Context, name string, change func(*ScheduleRow) error) (ScheduleRow, error) {
	var row ScheduleRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = take[ScheduleRow](tx, scheduleNotFound(name), "schedule_name = ?", Key(name)); err != nil {
			return err
		}
		if err := change(&row); err != nil {
			return err
		}
		return tx.Save(&row).Error
	})
	return row, err
}

// DeleteSchedule removes a schedule and, as LINSTOR does, every
// Schedule/<remote>/<schedule>/ property of it on the controller, the
// resource groups and the definitions.
func (s *Store) DeleteSchedule(ctx context.Context, name string) (ScheduleRow, error) {
	var row ScheduleRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = take[ScheduleRow](tx, scheduleNotFound(name), "schedule_name = ?", Key(name)); err != nil {
			return err
		}
		if err := dropScheduleProps(tx, func(_, schedule string) bool { return Key(schedule) == row.ScheduleName }); err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return row, err
}

// SchedulePrefix is the namespace of the schedule properties.
const SchedulePrefix = "Schedule/"

// Keys under Schedule/<remote>/<schedule>/.
const (
	KeyScheduleEnabled  = "Enabled"
	KeySchedulePrefNode = "PrefNode"
	// KeyLastBackupTime and KeyLastBackupInc are on the definition: when
	// its last scheduled shipment started, and whether it was incremental.
	KeyLastBackupTime = "LastBackupTime"
	KeyLastBackupInc  = "LastBackupInc"
)

// KeyBackupShippedBySchedule is on a snapshot a schedule shipped: the
// schedule's name.
const KeyBackupShippedBySchedule = SchedulePrefix + "BackupShippedBySchedule"

// ScheduleKey is a schedule property of a remote and schedule.
func ScheduleKey(remote, schedule, key string) string {
	return SchedulePrefix + remote + "/" + schedule + "/" + key
}

// parseScheduleKey splits Schedule/<remote>/<schedule>/<key>.
func parseScheduleKey(k string) (remote, schedule, key string, ok bool) {
	rest, ok := strings.CutPrefix(k, SchedulePrefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// dropScheduleProps deletes the schedule properties of the pairs match
// chooses on the controller, every resource group and definition.
func dropScheduleProps(tx *gorm.DB, match func(remote, schedule string) bool) error {
	var rows []propRow
	q := tx.Where("prop_key >= ? AND prop_key < ?", SchedulePrefix, prefixEnd(SchedulePrefix))
	if err := q.Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		if remote, schedule, _, ok := parseScheduleKey(r.PropKey); ok && match(remote, schedule) {
			if err := tx.Where("props_instance = ? AND prop_key = ?", r.PropsInstance, r.PropKey).Delete(&propRow{}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// ScheduleLevel is where a schedule is enabled or disabled: a definition,
// a resource group, or (neither) the controller.
type ScheduleLevel struct {
	Resource, Group string
}

// instance is the level's properties container, after checking that the
// object exists.
func (l ScheduleLevel) instance(tx *gorm.DB) (string, error) {
	switch {
	case l.Resource != "":
		_, err := takeResourceDefinition(tx, l.Resource)
		return ResourceDefinitionInstance(l.Resource), err
	case l.Group != "":
		_, err := take[ResourceGroupRow](tx, notFound(KindResourceGroup, "Resource group '%s' not found.", l.Group), "resource_group_name = ?", Key(l.Group))
		return ResourceGroupInstance(l.Group), err
	}
	return CtrlPropsInstance, nil
}

// SetBackupSchedule enables or disables shipping to remote on schedule
// at one level, with the node to ship from when enabled; remote and
// schedule must exist. The names are kept as stored.
func (s *Store) SetBackupSchedule(ctx context.Context, l ScheduleLevel, remote, schedule string, enabled bool, prefNode string) (RemoteRow, ScheduleRow, error) {
	var r RemoteRow
	var sch ScheduleRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if r, err = take[RemoteRow](tx, remoteNotFound(remote), "remote_name = ?", Key(remote)); err != nil {
			return err
		}
		if sch, err = take[ScheduleRow](tx, scheduleNotFound(schedule), "schedule_name = ?", Key(schedule)); err != nil {
			return err
		}
		inst, err := l.instance(tx)
		if err != nil {
			return err
		}
		props := map[string]string{ScheduleKey(r.RemoteDspName, sch.ScheduleDspName, KeyScheduleEnabled): linstorBool(enabled)}
		if prefNode != "" {
			props[ScheduleKey(r.RemoteDspName, sch.ScheduleDspName, KeySchedulePrefNode)] = prefNode
		}
		return setProps(tx, inst, props)
	})
	return r, sch, err
}

// DeleteBackupSchedule removes what a level says of shipping to remote
// on schedule, so that the level above decides again.
func (s *Store) DeleteBackupSchedule(ctx context.Context, l ScheduleLevel, remote, schedule string) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		inst, err := l.instance(tx)
		if err != nil {
			return err
		}
		for _, k := range []string{KeyScheduleEnabled, KeySchedulePrefNode} {
			q := tx.Where("props_instance = ? AND LOWER(prop_key) = ?", inst, strings.ToLower(ScheduleKey(remote, schedule, k)))
			if err := q.Delete(&propRow{}).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// SchedulePair is what the three levels say of shipping one definition
// to a remote on a schedule: each level's Enabled (nil: not set there),
// the node to ship from, and the definition's last scheduled shipment.
type SchedulePair struct {
	Remote, Schedule            string
	Controller, Group, Resource *bool
	PrefNode                    string
	LastBackupMs                int64 // -1: never
	LastBackupInc               bool
}

// Enabled is the decision of the most specific level that says.
func (p SchedulePair) Enabled() bool {
	for _, b := range []*bool{p.Resource, p.Group, p.Controller} {
		if b != nil {
			return *b
		}
	}
	return false
}

// ResourceSchedules is one definition's schedule pairs, and whether it
// has resources (a definition without them ships nothing).
type ResourceSchedules struct {
	Resource, Group string
	Deployed        bool
	Pairs           []SchedulePair
}

// ScheduledResources is every definition (or those named) with the
// schedule pairs its levels set, ordered by name.
func (s *Store) ScheduledResources(ctx context.Context, names ...string) ([]ResourceSchedules, error) {
	db := s.DB.WithContext(ctx)
	var rds []ResourceDefinitionRow
	q := db.Order("resource_name")
	if len(names) > 0 {
		q = q.Where("resource_name IN ?", keys(names))
	}
	if err := q.Find(&rds).Error; err != nil {
		return nil, err
	}
	var rgs []ResourceGroupRow
	if err := db.Find(&rgs).Error; err != nil {
		return nil, err
	}
	groupName := map[string]string{}
	for _, g := range rgs {
		groupName[g.ResourceGroupName] = g.ResourceGroupDspName
	}
	var deployed []string
	if err := db.Model(&ResourceRow{}).Distinct("resource_name").Where("flags NOT LIKE ?", "%"+FlagDelete+"%").Pluck("resource_name", &deployed).Error; err != nil {
		return nil, err
	}
	var rows []propRow
	if err := db.Where("prop_key >= ? AND prop_key < ?", SchedulePrefix, prefixEnd(SchedulePrefix)).Find(&rows).Error; err != nil {
		return nil, err
	}
	byInstance := map[string][]propRow{}
	for _, r := range rows {
		byInstance[r.PropsInstance] = append(byInstance[r.PropsInstance], r)
	}
	out := make([]ResourceSchedules, 0, len(rds))
	for _, rd := range rds {
		if rd.Flags.Has(FlagDelete) {
			continue // being deleted: it ships nothing more
		}
		rs := ResourceSchedules{Resource: rd.ResourceDspName, Group: groupName[rd.ResourceGroupName], Deployed: slices.Contains(deployed, rd.ResourceName)}
		pairs := map[[2]string]*SchedulePair{}
		pair := func(remote, schedule string) *SchedulePair {
			k := [2]string{Key(remote), Key(schedule)}
			if pairs[k] == nil {
				pairs[k] = &SchedulePair{Remote: remote, Schedule: schedule, LastBackupMs: -1}
			}
			return pairs[k]
		}
		// The controller first, the definition last: the more specific
		// level's node wins.
		levels := []struct {
			instance string
			enabled  func(*SchedulePair) **bool
		}{
			{CtrlPropsInstance, func(p *SchedulePair) **bool { return &p.Controller }},
			{ResourceGroupInstance(rd.ResourceGroupName), func(p *SchedulePair) **bool { return &p.Group }},
			{ResourceDefinitionInstance(rd.ResourceName), func(p *SchedulePair) **bool { return &p.Resource }},
		}
		for _, l := range levels {
			for _, r := range byInstance[l.instance] {
				remote, schedule, key, ok := parseScheduleKey(r.PropKey)
				if !ok {
					continue
				}
				switch p := pair(remote, schedule); key {
				case KeyScheduleEnabled:
					b := strings.EqualFold(r.PropValue, "true")
					*l.enabled(p) = &b
				case KeySchedulePrefNode:
					p.PrefNode = r.PropValue
				case KeyLastBackupTime:
					p.LastBackupMs, _ = strconv.ParseInt(r.PropValue, 10, 64)
				case KeyLastBackupInc:
					p.LastBackupInc = strings.EqualFold(r.PropValue, "true")
				}
			}
		}
		for _, k := range slices.SortedFunc(maps.Keys(pairs), func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) }) {
			if p := pairs[k]; p.Controller != nil || p.Group != nil || p.Resource != nil {
				rs.Pairs = append(rs.Pairs, *p)
			}
		}
		out = append(out, rs)
	}
	return out, nil
}

// RecordScheduledShipment notes on the definition that a scheduled
// shipment to remote started, and whether it is incremental.
func (s *Store) RecordScheduledShipment(ctx context.Context, rd, remote, schedule string, startMs int64, incremental bool) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		def, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return err
		}
		return setProps(tx, ResourceDefinitionInstance(def.ResourceName), map[string]string{
			ScheduleKey(remote, schedule, KeyLastBackupTime): strconv.FormatInt(startMs, 10),
			ScheduleKey(remote, schedule, KeyLastBackupInc):  linstorBool(incremental),
		})
	})
}

// linstorBool is a boolean property value as LINSTOR writes it.
func linstorBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// scheduledBy tells whether schedule shipped sn to remote.
func scheduledBy(sn Snapshot, remote, schedule string) bool {
	return Key(sn.Props[KeyBackupShippedBySchedule]) == Key(schedule) && Key(sn.Props[BackupSourceKey(remote, KeyBackupTargetRemote)]) == Key(remote)
}

// basedOnFull tells whether sn's backup to remote belongs to the chain of
// the full backup shipped from the snapshot full (the full one itself too).
func basedOnFull(sn Snapshot, remote, full string) bool {
	return Key(sn.Props[BackupSourceKey(remote, KeyLastFullBackupTimestamp)]) == full
}

// ScheduledFulls are the snapshots that schedule shipped full backups
// from to remote.
func ScheduledFulls(snaps []Snapshot, remote, schedule string) []Snapshot {
	var out []Snapshot
	for _, sn := range snaps {
		if scheduledBy(sn, remote, schedule) && basedOnFull(sn, remote, sn.SnapshotName) {
			out = append(out, sn)
		}
	}
	return out
}

// BackupStartMs is when the shipment of sn to remote started, in ms
// since the epoch (0: none).
func BackupStartMs(sn Snapshot, remote string) int64 {
	ms, _ := strconv.ParseInt(sn.Props[BackupSourceKey(remote, KeyBackupStartTimestamp)], 10, 64)
	return ms
}

// ScheduledSnapshotsBeyondKeep are the snapshots keep_local lets go of a
// definition's shipping to remote on schedule: of the snapshots full
// backups were shipped from, the failed ones first, then the oldest, as
// many as exceed keep — each after the snapshots of the incremental
// backups based on it. Unlike LINSTOR, every full beyond keep goes, not
// only one per run. A snapshot a shipment uses stays.
func ScheduledSnapshotsBeyondKeep(snaps []Snapshot, remote, schedule string, keep int) []string {
	fulls := ScheduledFulls(snaps, remote, schedule)
	if len(fulls) <= keep {
		return nil
	}
	succeeded := func(sn Snapshot) bool { return sn.Props[BackupSourceKey(remote, KeyShippingStatus)] == ShippingSuccess }
	slices.SortStableFunc(fulls, func(a, b Snapshot) int {
		if okA, okB := succeeded(a), succeeded(b); okA != okB {
			if okA {
				return 1
			}
			return -1
		}
		return cmp.Compare(BackupStartMs(a, remote), BackupStartMs(b, remote))
	})
	var out []string
	for _, full := range fulls[:len(fulls)-keep] {
		for _, sn := range snaps {
			if scheduledBy(sn, remote, schedule) && sn.SnapshotName != full.SnapshotName && basedOnFull(sn, remote, full.SnapshotName) && !Shipping(sn) {
				out = append(out, sn.SnapshotDspName)
			}
		}
		if !Shipping(full) {
			out = append(out, full.SnapshotDspName)
		}
	}
	return out
}
