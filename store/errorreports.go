package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// ErrorReport is one of LINSTOR's error reports.
type ErrorReport struct {
	ID        string `gorm:"column:id;primaryKey"`
	NodeName  string // where it happened, as the user typed the node's name
	Module    string // CONTROLLER or SATELLITE
	ErrorTime int64  // ms since the epoch
	Exception string // the kind of failure, such as a command that failed
	Message   string
	Text      string // the whole report
}

func (ErrorReport) TableName() string { return "error_reports" }

// Error report ids are LINSTOR's <instance>-<node>-<sequence>: a random
// instance number per controller start keeps several controllers' ids
// apart.
var (
	reportInstance = func() uint32 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		return binary.BigEndian.Uint32(b[:])
	}()
	reportSeq atomic.Int64
)

func newReportID() string {
	return fmt.Sprintf("%08X-00000-%06d", reportInstance, reportSeq.Add(1))
}

// addErrorReport writes a report inside a transaction and returns its id.
func addErrorReport(tx *gorm.DB, node, module, exception, message string) (string, error) {
	now := time.Now()
	r := ErrorReport{ID: newReportID(), NodeName: node, Module: module, ErrorTime: now.UnixMilli(), Exception: exception, Message: message}
	r.Text = fmt.Sprintf("ERROR REPORT %s\n\nNode:       %s\nModule:     %s\nError time: %s\n\nReported error:\n===============\n\n%s\n\n%s\n",
		r.ID, node, module, now.UTC().Format("2006-01-02 15:04:05"), exception, message)
	return r.ID, tx.Create(&r).Error
}

// ErrorReportFilter selects reports by node and time (ms; 0: open).
type ErrorReportFilter struct {
	Node      string
	Since, To int64
	IDs       []string
}

// ErrorReports returns the reports that pass the filter, oldest first.
func (s *Store) ErrorReports(ctx context.Context, f ErrorReportFilter) ([]ErrorReport, error) {
	q := s.DB.WithContext(ctx).Order("error_time, id")
	if f.Node != "" {
		q = q.Where("UPPER(node_name) = ?", Key(f.Node))
	}
	if f.Since > 0 {
		q = q.Where("error_time >= ?", f.Since)
	}
	if f.To > 0 {
		q = q.Where("error_time <= ?", f.To)
	}
	if len(f.IDs) > 0 {
		q = q.Where("id IN ?", f.IDs)
	}
	var out []ErrorReport
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list error reports: %w", err)
	}
	return out, nil
}

// reportChange returns the report id for a state error: the old one when
// the error is the same as before, a new report when it changed, none
// when there is no error.
func reportChange(tx *gorm.DB, node, module, subject, oldErr, oldReport, newErr string) (string, error) {
	switch {
	case newErr == "":
		return "", nil
	case newErr == oldErr && oldReport != "":
		return oldReport, nil
	}
	return addErrorReport(tx, node, module, subject, newErr)
}
