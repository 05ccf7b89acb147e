package tests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"strata/store"
	"strata/tests/harness"
)

// rcs is a LINSTOR answer.
type rcs []struct {
	RetCode int64  `json:"ret_code"`
	Message string `json:"message"`
}

// answer sends a request and returns its status and LINSTOR answer.
func answer(t *testing.T, c *harness.Controller, method, path string, body any) (int, rcs) {
	t.Helper()
	var out rcs
	status, err := c.Do(context.Background(), method, path, body, &out)
	require.NoError(t, err)
	return status, out
}

// tick triggers a tick of the Temporal Schedule id and returns the id
// of the run it starts.
func tick(t *testing.T, tc client.Client, id string) string {
	t.Helper()
	ctx := context.Background()
	h := tc.ScheduleClient().GetHandle(ctx, id)
	desc, err := h.Describe(ctx)
	require.NoError(t, err, "schedule %s", id)
	before := len(desc.Info.RecentActions)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var run string
	eventually(t, 30*time.Second, "the tick of "+id+" starts a run", func() bool {
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		if n := len(desc.Info.RecentActions); n > before {
			run = desc.Info.RecentActions[n-1].StartWorkflowResult.WorkflowID
			return true
		}
		return false
	})
	return run
}

// scheduledRun ticks the Temporal Schedule id and waits for its run;
// it returns the run's error.
func scheduledRun(t *testing.T, tc client.Client, id string) error {
	t.Helper()
	return tc.GetWorkflow(context.Background(), tick(t, tc, id), "").Get(context.Background(), nil)
}

// exists tells whether the Temporal Schedule id exists.
func exists(t *testing.T, tc client.Client, id string) bool {
	_, err := tc.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false
	}
	require.NoError(t, err)
	return true
}

// Schedules as the user guide (2.12) describes them, against MinIO: bad
// input changes nothing; where a schedule is enabled follows the
// definition over the group over the controller, and exactly those runs
// exist as Temporal Schedules; ticks ship full, then incremental
// backups of several definitions; keep-local and keep-remote prune every
// full backup past them; RETRY ships after S3 comes back; and the
// Temporal Schedules come back from the database after a restart.
func TestScheduledBackups(t *testing.T) {
	ctx := context.Background()
	c, dirs, _, cli := snapshotCluster(t)
	s3, _ := backupRemote(t, c)
	must(t, c, http.MethodPost, "/v1/resource-groups/db3/spawn", map[string]any{"resource_definition_name": "db2", "volume_sizes": []int64{64 << 10}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-groups", map[string]any{"name": "other", "select_filter": map[string]any{"place_count": 1, "storage_pool": "pool1"}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "idle", "resource_group_name": "other"}}, http.StatusCreated)
	eventually(t, 30*time.Second, "db2 deployed", func() bool { return ready(t, c, "db2", 3) })
	tc, err := client.Dial(client.Options{HostPort: c.TemporalAddr, Namespace: "default"})
	require.NoError(t, err)
	defer tc.Close()
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}

	// Bad input: LINSTOR's errors, and nothing is stored.
	for _, b := range []struct {
		method, path string
		body         any
		status       int
		message      string
	}{
		{http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "bad", "full_cron": "61 * * * *"}, 500, `Error parsing full-cron "61 * * * *"`},
		{http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "bad", "full_cron": "0 0 * * *", "inc_cron": "0 0 * *"}, 500, `Error parsing full-cron "0 0 * *"`},
		{http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "bad", "full_cron": "0 0 30 2 *"}, 500, "has no possible future executions"},
		{http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "bad", "full_cron": "0 0 * * *", "keep_local": -1}, 500, "Invalid keep_local -1."},
		{http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "bad", "full_cron": "0 0 * * *", "on_failure": "PANIC"}, 500, "Invalid on_failure 'PANIC'."},
		{http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "1", "full_cron": "0 0 * * *"}, 500, "Invalid schedule name '1'."},
		{http.MethodPut, "/v1/remotes/s3r/backups/schedule/nosuch/enable", map[string]any{}, 404, "Schedule 'nosuch' not found."},
		{http.MethodPut, "/v1/schedules/nosuch", map[string]any{"keep_local": 2}, 404, "Schedule 'nosuch' not found."},
	} {
		status, out := answer(t, c, b.method, b.path, b.body)
		require.Equal(t, b.status, status, "%s %s: %+v", b.method, b.path, out)
		require.Contains(t, out[0].Message, b.message)
	}
	var l struct {
		Data []map[string]any `json:"data"`
	}
	_, err = c.Do(ctx, http.MethodGet, "/v1/schedules", nil, &l)
	require.NoError(t, err)
	require.Empty(t, l.Data, "no bad schedule was stored")

	// Created as the guide types it (with LINSTOR's explicit nulls).
	out, errOut, code := cliRun(t, env, "schedule", "create", "--incremental-cron", "0 0 2 1 *", "nightly", "0 0 1 1 *")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Schedule: nightly, FullCron: 0 0 1 1 *, IncCron: 0 0 2 1 * created successfully.")
	must(t, c, http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "fulls", "full_cron": "0 0 1 1 *", "keep_local": 1, "keep_remote": 2, "on_failure": nil, "max_retries": nil}, http.StatusOK)
	must(t, c, http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "retry", "full_cron": "0 0 1 1 *", "on_failure": "RETRY", "max_retries": 3}, http.StatusOK)
	status, dup := answer(t, c, http.MethodPost, "/v1/schedules", map[string]any{"schedule_name": "nightly", "full_cron": "0 0 * * *"})
	require.Equal(t, 500, status)
	require.Equal(t, "A schedule with the name 'nightly' already exists. Please use a different name or try to modify the schedule instead.", dup[0].Message)
	for _, b := range []struct {
		path   string
		body   any
		status int
	}{
		{"/v1/remotes/nowhere/backups/schedule/nightly/enable", map[string]any{}, 404},
		{"/v1/remotes/s3r/backups/schedule/nightly/enable", map[string]any{"rsc_name": "nosuch"}, 404},
		{"/v1/remotes/s3r/backups/schedule/nightly/enable", map[string]any{"grp_name": "nosuch"}, 404},
	} {
		status, out := answer(t, c, http.MethodPut, b.path, b.body)
		require.Equal(t, b.status, status, "%s: %+v", b.path, out)
	}
	out, _, code = cliRun(t, env, "schedule", "list")
	require.Zero(t, code)
	require.Regexp(t, `nightly .*0 0 1 1 \* .*0 0 2 1 \*`, out)
	require.Regexp(t, `fulls .*1 .*2 .*SKIP`, out)

	// Where nightly is enabled: the most specific level that says
	// decides, and only what is enabled runs.
	const db, db2 = "backup-schedule:db:s3r:nightly", "backup-schedule:db2:s3r:nightly"
	set := func(level, verb string) {
		t.Helper()
		body := map[string]any{}
		query := ""
		switch level {
		case "rd":
			body["rsc_name"], query = "db", "?rsc_dfn_name=db"
		case "rg":
			body["grp_name"], query = "db3", "?rsc_grp_name=db3"
		}
		if verb == "delete" {
			must(t, c, http.MethodDelete, "/v1/remotes/s3r/backups/schedule/nightly/delete"+query, nil, http.StatusOK)
			return
		}
		must(t, c, http.MethodPut, "/v1/remotes/s3r/backups/schedule/nightly/"+verb, body, http.StatusOK)
	}
	for _, tc2 := range []struct {
		ctrl, rg, rd string // enable, disable or delete
		db, db2      bool   // whether they ship
	}{
		{"enable", "delete", "delete", true, true},
		{"enable", "disable", "delete", false, false},
		{"enable", "disable", "enable", true, false},
		{"disable", "delete", "enable", true, false},
		{"disable", "enable", "delete", true, true},
		{"delete", "delete", "disable", false, false},
		{"delete", "enable", "disable", false, true},
		{"enable", "delete", "delete", true, true},
	} {
		set("ctrl", tc2.ctrl)
		set("rg", tc2.rg)
		set("rd", tc2.rd)
		eventually(t, 30*time.Second, "the Temporal Schedules follow", func() bool {
			return exists(t, tc, db) == tc2.db && exists(t, tc, db2) == tc2.db2
		})
		var details struct {
			Data []struct {
				Remote   string `json:"remote_name"`
				Schedule string `json:"schedule_name"`
				Ctrl     *bool  `json:"ctrl"`
				RscGrp   *bool  `json:"rsc_grp"`
				RscDfn   *bool  `json:"rsc_dfn"`
			} `json:"data"`
		}
		_, err := c.Do(ctx, http.MethodGet, "/v1/view/schedules-by-resource/db", nil, &details)
		require.NoError(t, err)
		say := func(verb string) *bool {
			if verb == "delete" {
				return nil
			}
			b := verb == "enable"
			return &b
		}
		require.Len(t, details.Data, 1)
		require.Equal(t, []*bool{say(tc2.ctrl), say(tc2.rg), say(tc2.rd)}, []*bool{details.Data[0].Ctrl, details.Data[0].RscGrp, details.Data[0].RscDfn}, "%+v", tc2)
	}
	// A definition made later is covered by the level that enables it.
	must(t, c, http.MethodPost, "/v1/resource-groups/db3/spawn", map[string]any{"resource_definition_name": "late", "volume_sizes": []int64{4 << 10}}, http.StatusCreated)
	eventually(t, 30*time.Second, "late ships on nightly too", func() bool { return exists(t, tc, "backup-schedule:late:s3r:nightly") })
	deleteDefinition(t, c, "late")
	eventually(t, 30*time.Second, "a deleted definition ships nothing", func() bool { return !exists(t, tc, "backup-schedule:late:s3r:nightly") })

	// The last row enabled it on the controller: the undeployed
	// definition in the other group is listed so, with its reason.
	out, _, code = cliRun(t, env, "schedule", "list-by-resource")
	require.Zero(t, code)
	require.Regexp(t, `idle .*undeployed`, out)
	require.Regexp(t, `db2 .*s3r .*nightly`, out)

	// Ticks: full first, then incremental, for each definition.
	for _, rd := range []string{"db", "db2"} {
		fill(t, c, rd, 0x11)
	}
	for _, id := range []string{db, db2} {
		require.NoError(t, scheduledRun(t, tc, id))
	}
	for _, rd := range []string{"db", "db2"} {
		fill(t, c, rd, 0x22)
	}
	time.Sleep(time.Second) // backup ids have seconds
	for _, id := range []string{db, db2} {
		require.NoError(t, scheduledRun(t, tc, id))
	}
	for _, rd := range []string{"db", "db2"} {
		l, err := cli.Backup.GetAll(ctx, "s3r", rd, "")
		require.NoError(t, err)
		require.Len(t, l.Linstor, 2, rd)
		var full, inc lapi.Backup
		for _, b := range l.Linstor {
			if b.BasedOnId == "" {
				full = b
			} else {
				inc = b
			}
		}
		require.True(t, full.Success && inc.Success, "%+v", l.Linstor)
		require.Equal(t, full.Id+".meta", inc.BasedOnId, "the second tick ships incrementally")
		require.True(t, strings.HasPrefix(full.OriginSnap, "back_"), "named as LINSTOR names scheduled snapshots: %s", full.OriginSnap)
	}
	var byRsc struct {
		Data []struct {
			Rsc          string `json:"rsc_name"`
			Schedule     string `json:"schedule_name"`
			Reason       string `json:"reason"`
			LastSnapTime int64  `json:"last_snap_time"`
			LastSnapInc  bool   `json:"last_snap_inc"`
			NextExec     int64  `json:"next_exec_time"`
			NextExecInc  bool   `json:"next_exec_inc"`
			NextFull     int64  `json:"next_planned_full"`
			NextInc      int64  `json:"next_planned_inc"`
		} `json:"data"`
	}
	_, err = c.Do(ctx, http.MethodGet, "/v1/view/schedules-by-resource?rsc=db&active-only=true", nil, &byRsc)
	require.NoError(t, err)
	require.Len(t, byRsc.Data, 1)
	e := byRsc.Data[0]
	require.True(t, e.LastSnapInc)
	require.InDelta(t, time.Now().UnixMilli(), e.LastSnapTime, float64(time.Minute.Milliseconds()))
	nextJan1 := time.Date(time.Now().Year()+1, 1, 1, 0, 0, 0, 0, time.Local).UnixMilli()
	require.Equal(t, nextJan1, e.NextFull, "next full: 1 January")
	require.Equal(t, nextJan1, e.NextExec, "1 January: full")
	require.False(t, e.NextExecInc)
	require.Equal(t, time.Date(time.Now().Year()+1, 1, 2, 0, 0, 0, 0, time.Local).UnixMilli(), e.NextInc)

	// keep-local 1, keep-remote 2: after three full backups, one local
	// snapshot and two backups of the schedule are left.
	must(t, c, http.MethodPut, "/v1/remotes/s3r/backups/schedule/fulls/enable", map[string]any{"rsc_name": "db"}, http.StatusOK)
	const fulls = "backup-schedule:db:s3r:fulls"
	eventually(t, 30*time.Second, "fulls runs for db", func() bool { return exists(t, tc, fulls) })
	for range 3 {
		time.Sleep(time.Second)
		require.NoError(t, scheduledRun(t, tc, fulls))
	}
	local := func() int {
		snaps, err := cli.Resources.GetSnapshots(ctx, "db")
		require.NoError(t, err)
		n := 0
		for _, s := range snaps {
			if s.Props["Schedule/BackupShippedBySchedule"] == "fulls" {
				n++
			}
		}
		return n
	}
	eventually(t, 30*time.Second, "one local snapshot of fulls", func() bool { return local() == 1 })
	l2, err := cli.Backup.GetAll(ctx, "s3r", "db", "")
	require.NoError(t, err)
	require.Len(t, l2.Linstor, 2+2, "nightly's two and the two newest of fulls")

	// RETRY: with S3 down the shipment fails, is tried again after a
	// minute, and ships once S3 is back.
	must(t, c, http.MethodPut, "/v1/remotes/s3r/backups/schedule/retry/enable", map[string]any{"rsc_name": "db2"}, http.StatusOK)
	const retry = "backup-schedule:db2:s3r:retry"
	eventually(t, 30*time.Second, "retry runs for db2", func() bool { return exists(t, tc, retry) })
	s3.Kill()
	run := tick(t, tc, retry)
	eventually(t, 90*time.Second, "the first try failed and waits", func() bool {
		v, err := tc.QueryWorkflow(ctx, run, "", "status")
		require.NoError(t, err)
		var st struct {
			State string `json:"state"`
		}
		require.NoError(t, v.Get(&st))
		return strings.Contains(st.State, "to retry")
	})
	s3.Start()
	var outcome struct {
		Replies rcs `json:"replies"`
	}
	require.NoError(t, tc.GetWorkflow(ctx, run, "").Get(ctx, &outcome), "shipped on a retry")
	require.Contains(t, fmt.Sprint(outcome.Replies), "Shipping of resource db2 to remote s3r will be retried for the 1. time. Max retries: 3")
	l3, err := cli.Backup.GetAll(ctx, "s3r", "db2", "")
	require.NoError(t, err)
	require.Len(t, l3.Linstor, 3, "nightly's two and the retried one")

	// A schedule deleted behind Strata's back comes back at the next
	// start; deleting the schedule removes what runs.
	require.NoError(t, tc.ScheduleClient().GetHandle(ctx, db).Delete(ctx))
	c.Kill()
	c.Start()
	must(t, c, http.MethodPatch, "/v1/encryption/passphrase", "backup-test-passphrase", http.StatusOK)
	eventually(t, 60*time.Second, "the schedule is back", func() bool { return exists(t, tc, db) })
	// A change of the database while no controller runs (a restored
	// database): the schedules follow it at the start.
	require.NoError(t, c.Stop())
	st, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(c.DataDir, "strata.db")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.NoError(t, st.DeleteBackupSchedule(ctx, store.ScheduleLevel{Resource: "db"}, "s3r", "fulls"))
	require.NoError(t, st.Close())
	c.Start()
	must(t, c, http.MethodPatch, "/v1/encryption/passphrase", "backup-test-passphrase", http.StatusOK)
	eventually(t, 60*time.Second, "fulls runs no more for db", func() bool { return !exists(t, tc, fulls) })
	require.True(t, exists(t, tc, db), "nightly still does")

	out, _, code = cliRun(t, env, "schedule", "delete", "nightly")
	require.Zero(t, code)
	require.Contains(t, out, "Schedule: nightly deleted.")
	eventually(t, 30*time.Second, "nightly runs no more", func() bool { return !exists(t, tc, db) && !exists(t, tc, db2) })
	_, err = c.Do(ctx, http.MethodGet, "/v1/view/schedules-by-resource/db", nil, &l)
	require.NoError(t, err)
	snapshotsSettled(t, c, dirs)
}
