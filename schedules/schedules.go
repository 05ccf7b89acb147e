// Package schedules is the timing of scheduled backup shipping: LINSTOR's
// 5-field cron expressions in the controller's time zone, and which
// shipment (full or incremental) is due when.
package schedules

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"strata/apicall"
)

// parser reads the UNIX cron dialect LINSTOR accepts: minute, hour, day
// of month, month, day of week, with names for months and days.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse reads a cron expression, evaluated in the controller's zone.
func Parse(expr string) (cron.Schedule, error) {
	return parser.Parse("CRON_TZ=" + Zone() + " " + expr)
}

// Check refuses cron expressions as LINSTOR does: one it cannot parse
// (LINSTOR calls the incremental one "full-cron" too), or a full one
// with no future execution. An empty incremental expression is none.
func Check(full, inc string) error {
	for i, expr := range []string{full, inc} {
		if i == 1 && expr == "" {
			continue
		}
		if _, err := Parse(expr); err != nil || len(strings.Fields(expr)) != 5 {
			why := "expected 5 fields (minute, hour, day of month, month, day of week)"
			if err != nil {
				why = err.Error()
			}
			return &apicall.Refused{Code: apicall.MaskError | apicall.MaskSchedule, Message: fmt.Sprintf("Error parsing full-cron %q: %s", expr, why)}
		}
	}
	if s, _ := Parse(full); s.Next(time.Now()).IsZero() {
		return &apicall.Refused{Code: apicall.MaskError | apicall.MaskSchedule, Message: fmt.Sprintf("The cron expression for full backups '%s' has no possible future executions.", full)}
	}
	return nil
}

// Zone is the controller's time zone, by the name the Temporal server
// knows it: TZ, else the zone /etc/localtime links to, else UTC.
func Zone() string {
	if tz := os.Getenv("TZ"); tz != "" {
		return strings.TrimPrefix(tz, ":")
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if i := strings.Index(target, "zoneinfo/"); i >= 0 {
			return target[i+len("zoneinfo/"):]
		}
	}
	return "UTC"
}

// Timing is a schedule's expressions.
type Timing struct {
	Full, Inc string
}

// Incremental tells whether the shipment that runs at now is incremental:
// only when the schedule has an incremental expression, a full backup ran
// before (lastFull), and no full tick came since it — a full tick due at
// the same time as an incremental one, or missed while the controller was
// down, makes it full.
func (t Timing) Incremental(lastFull, now time.Time) bool {
	if t.Inc == "" || lastFull.IsZero() {
		return false
	}
	full, err := Parse(t.Full)
	if err != nil {
		return false
	}
	return full.Next(lastFull).After(now)
}

// Next is when the next full and incremental ticks after from are (zero:
// none), and which of them runs next: the earlier, full when both fall
// together.
func (t Timing) Next(from time.Time) (full, inc time.Time, incremental bool) {
	if s, err := Parse(t.Full); err == nil {
		full = s.Next(from)
	}
	if t.Inc != "" {
		if s, err := Parse(t.Inc); err == nil {
			inc = s.Next(from)
		}
	}
	return full, inc, !inc.IsZero() && (full.IsZero() || inc.Before(full))
}
