package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// A step of an operation (a workflow's activity) writes its change once:
// the step's key rides in the context of its write, the write records the
// key in its own transaction, and a write that finds its key recorded
// does nothing and answers ErrStepDone. The step's answer is recorded
// beside the key, so that a step run again after a crash answers as it
// did the first time.

type stepKey struct{}

// WithStep marks the writes made with ctx as those of step key, held by
// the operation holder.
func WithStep(ctx context.Context, key, holder string) context.Context {
	return context.WithValue(ctx, stepKey{}, [2]string{key, holder})
}

// ErrStepDone: the step's write was made before.
var ErrStepDone = errors.New("this step of the operation was done before")

// stepsKept is how long the record of a finished step is kept: longer
// than any operation runs, so that a replayed step always finds it.
const stepsKept = 7 * 24 * time.Hour

type operationStep struct {
	StepKey string `gorm:"primaryKey"`
	Holder  string
	Result  *string
	DoneAt  int64
}

func (operationStep) TableName() string { return "operation_steps" }

// beginStep runs inside a write: it refuses a step done before and
// records this one.
func beginStep(ctx context.Context, tx *gorm.DB) error {
	k, ok := ctx.Value(stepKey{}).([2]string)
	if !ok {
		return nil
	}
	var n int64
	if err := tx.Model(&operationStep{}).Where("step_key = ?", k[0]).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return ErrStepDone
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&operationStep{StepKey: k[0], Holder: k[1], DoneAt: time.Now().UnixMilli()}).Error
}

// StepResult is the answer recorded for step key, if there is one.
func (s *Store) StepResult(ctx context.Context, key string) (result string, ok bool, err error) {
	var st operationStep
	err = s.DB.WithContext(ctx).Where("step_key = ? AND result IS NOT NULL", key).Limit(1).Find(&st).Error
	if err != nil || st.Result == nil {
		return "", false, err
	}
	return *st.Result, true, nil
}

// RecordStepResult keeps the answer of step key (a step that wrote
// nothing is recorded with it), and forgets the steps of long ago.
func (s *Store) RecordStepResult(ctx context.Context, key, holder, result string) error {
	defer s.queueWriter()()
	db := s.DB.WithContext(ctx)
	now := time.Now()
	if err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "step_key"}}, DoUpdates: clause.AssignmentColumns([]string{"result"})}).
		Create(&operationStep{StepKey: key, Holder: holder, Result: &result, DoneAt: now.UnixMilli()}).Error; err != nil {
		return err
	}
	return db.Where("done_at < ?", now.Add(-stepsKept).UnixMilli()).Delete(&operationStep{}).Error
}
