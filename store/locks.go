package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Objects that long operations lock: a resource definition and a node.
func ResourceDefinitionLock(rd string) string { return "rd/" + Key(rd) }
func NodeLock(node string) string             { return "node/" + Key(node) }

type operationLock struct {
	Object  string `gorm:"primaryKey"`
	Holder  string
	TakenAt int64
}

func (operationLock) TableName() string { return "operation_locks" }

type operationSlot struct {
	NodeName string `gorm:"primaryKey"`
	Kind     string `gorm:"primaryKey"`
	Holder   string `gorm:"primaryKey"`
	TakenAt  int64
}

func (operationSlot) TableName() string { return "operation_slots" }

// LockedError says which operation holds an object another one asked for.
type LockedError struct {
	Object, Holder string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is locked by operation %s", e.Object, e.Holder)
}

// TakeLocks locks every object for holder (a workflow id), all or none:
// when another holder has one of them, nothing is taken and the error is
// a *LockedError naming it. Objects holder has already are kept, so a
// retried step takes its locks again without harm.
func (s *Store) TakeLocks(ctx context.Context, holder string, objects []string) error {
	objects = append([]string(nil), objects...)
	for i, o := range objects {
		objects[i] = lockKey(o)
	}
	sort.Strings(objects) // one order for every writer
	return s.writeBookkeeping(ctx, func(tx *gorm.DB) error {
		var held []operationLock
		if err := tx.Where("object IN ?", objects).Find(&held).Error; err != nil {
			return err
		}
		mine := map[string]bool{}
		for _, l := range held {
			if l.Holder != holder {
				return &LockedError{Object: l.Object, Holder: l.Holder}
			}
			mine[l.Object] = true
		}
		now := time.Now().UnixMilli()
		for _, o := range objects {
			if !mine[o] {
				if err := tx.Create(&operationLock{Object: o, Holder: holder, TakenAt: now}).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// TakeSlot gives holder one of the node's slots of kind, of which at most
// limit are held at once. It reports false when they are all taken; a
// holder that has its slot already keeps it.
func (s *Store) TakeSlot(ctx context.Context, node, kind, holder string, limit int) (bool, error) {
	taken := false
	err := s.writeBookkeeping(ctx, func(tx *gorm.DB) error {
		var held []operationSlot
		if err := tx.Where("node_name = ? AND kind = ?", Key(node), kind).Find(&held).Error; err != nil {
			return err
		}
		for _, h := range held {
			if h.Holder == holder {
				taken = true
				return nil
			}
		}
		if len(held) >= limit {
			return nil
		}
		taken = true
		return tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&operationSlot{NodeName: Key(node), Kind: kind, Holder: holder, TakenAt: time.Now().UnixMilli()}).Error
	})
	return taken, err
}

// Release gives back every lock and slot holder has.
func (s *Store) Release(ctx context.Context, holder string) error {
	return s.writeBookkeeping(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("holder = ?", holder).Delete(&operationLock{}).Error; err != nil {
			return err
		}
		return tx.Where("holder = ?", holder).Delete(&operationSlot{}).Error
	})
}

// LockHolders are the holders of every lock and slot.
func (s *Store) LockHolders(ctx context.Context) ([]string, error) {
	var out []string
	err := s.DB.WithContext(ctx).Raw("SELECT holder FROM operation_locks UNION SELECT holder FROM operation_slots ORDER BY holder").Scan(&out).Error
	return out, err
}

// lockKey is how a locked object (a name of the user's choosing) is
// stored: as it is when it is short printable ASCII, else a hash of it.
// The column holds 512 bytes, and PostgreSQL refuses NUL and bytes that
// are not UTF-8: a lock that cannot be written would leave its operation
// waiting for ever. (Holders are operation ids, which the API keeps
// short and printable.)
func lockKey(s string) string {
	if len(s) <= 256 && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// AsLocked returns the lock conflict inside err, if there is one.
func AsLocked(err error) (*LockedError, bool) {
	var e *LockedError
	ok := errors.As(err, &e)
	return e, ok
}

// A SlotKind is a kind of heavy I/O whose concurrency per node is
// limited by a property (set on the node or the controller; negative:
// no limit).
type SlotKind struct {
	Name     string
	Property string
	Default  int
}

// BackupShipping slots bound the backups a node ships at once
// (BackupShipping/MaxConcurrentBackupsPerNode). LINSTOR's default is no
// limit, which froze clusters when a schedule started every shipment at
// once; Strata's is 2.
var BackupShipping = SlotKind{Name: "backup-shipping", Property: "BackupShipping/MaxConcurrentBackupsPerNode", Default: 2}

// CloneCopying slots bound the clones a node copies at once
// (KeyMaxConcurrentCopies), for pools without snapshots.
var CloneCopying = SlotKind{Name: "clone-copying", Property: KeyMaxConcurrentCopies, Default: 2}

// KeyMaxConcurrentCopies is Strata's limit of the volumes of clones a
// node copies at once.
const KeyMaxConcurrentCopies = "Clone/MaxConcurrentCopiesPerNode"

// SlotLimit is how many slots of kind a node has: the property on the
// node, else on the controller, else the kind's default; negative for no
// limit.
func (s *Store) SlotLimit(ctx context.Context, node string, kind SlotKind) (int, error) {
	np, err := s.Props(ctx, NodeInstance(node))
	if err != nil {
		return 0, err
	}
	cp, err := s.Props(ctx, CtrlPropsInstance)
	if err != nil {
		return 0, err
	}
	if n, err := strconv.Atoi(Inherited(kind.Property, np, cp)); err == nil {
		return n, nil
	}
	return kind.Default, nil
}
