package schedules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckSpeaksLinstorsErrors(t *testing.T) {
	require.NoError(t, Check("0 0 * * *", ""))
	require.NoError(t, Check("*/15 2-4 1,15 JAN-MAR MON-FRI", "* * * * *"))
	require.ErrorContains(t, Check("0 0 * *", ""), `Error parsing full-cron "0 0 * *": `)
	require.ErrorContains(t, Check("0 0 * * *", "61 * * * *"), `Error parsing full-cron "61 * * * *": `, "LINSTOR names the incremental one full-cron too")
	require.ErrorContains(t, Check("@daily", ""), `Error parsing full-cron "@daily"`, "LINSTOR's UNIX dialect has no descriptors")
	require.ErrorContains(t, Check("0 0 30 2 *", ""), "The cron expression for full backups '0 0 30 2 *' has no possible future executions.")
}

func TestFullWinsAndCatchesUp(t *testing.T) {
	t.Setenv("TZ", "UTC")
	tm := Timing{Full: "0 * * * *", Inc: "*/10 * * * *"} // full hourly, incremental every ten minutes
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		require.NoError(t, err)
		return v
	}
	require.False(t, tm.Incremental(time.Time{}, at("2026-01-01 10:10:00")), "the first is full")
	require.True(t, tm.Incremental(at("2026-01-01 10:00:00"), at("2026-01-01 10:10:00")))
	require.False(t, tm.Incremental(at("2026-01-01 10:00:00"), at("2026-01-01 11:00:00")), "full and incremental due together: full")
	require.False(t, tm.Incremental(at("2026-01-01 10:00:00"), at("2026-01-01 13:20:00")), "a full missed while down: full")
	require.False(t, Timing{Full: "0 * * * *"}.Incremental(at("2026-01-01 10:00:00"), at("2026-01-01 10:10:00")), "no incremental expression: full")

	full, inc, incremental := tm.Next(at("2026-01-01 10:51:00"))
	require.Equal(t, at("2026-01-01 11:00:00"), full)
	require.Equal(t, at("2026-01-01 11:00:00"), inc)
	require.False(t, incremental, "together: full")
	_, _, incremental = tm.Next(at("2026-01-01 10:41:00"))
	require.True(t, incremental)
}
