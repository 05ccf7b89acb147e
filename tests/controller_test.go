package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"strata/api"
	"strata/apicall"
	"strata/tests/harness"
)

func TestControllerOnEmbeddedDefaults(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	ctx := context.Background()

	var v api.ControllerVersion
	status, err := c.Do(ctx, http.MethodGet, "/v1/controller/version", nil, &v)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "1.28.0", v.RestAPIVersion)
	require.NotEmpty(t, v.Version)
	require.NotEmpty(t, v.GitHash, "linstor controller version prints every field")
	require.NotEmpty(t, v.BuildTime)

	var props map[string]string
	status, err = c.Do(ctx, http.MethodGet, "/v1/controller/properties", nil, &props)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Regexp(t, `^[0-9a-f-]{36}$`, props["Cluster/LocalID"])

	spec := get(t, c.URL+"/openapi.json")
	require.Contains(t, spec, `"/v1/controller/version"`)
	require.Contains(t, spec, `"/v1/controller/backup/db"`)
	docs := get(t, c.URL+"/docs")
	require.Contains(t, docs, "/v1/controller/backup/db")

	for _, f := range []string{"strata.db", "temporal.db"} {
		require.FileExists(t, filepath.Join(c.DataDir, f), "everything lives in the data directory")
	}
}

func TestDatabaseBackup(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	ctx := context.Background()

	var rcs apicall.RcList
	status, err := c.Do(ctx, http.MethodPost, "/v1/controller/backup/db", api.DatabaseBackupRequest{BackupName: "before-upgrade"}, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status, rcs)
	require.Len(t, rcs, 1)
	require.EqualValues(t, apicall.Created|apicall.MaskCrt|apicall.MaskCtrlConf, rcs[0].RetCode)
	require.Equal(t, "controller-backup-db:before-upgrade", rcs[0].ObjRefs["WorkflowId"])
	backup := filepath.Join(c.DataDir, "backups", "before-upgrade")
	require.FileExists(t, backup)

	// The workflow is in Temporal's history, where the UI shows it.
	tc := temporalClient(t, c)
	desc, err := tc.DescribeWorkflowExecution(ctx, "controller-backup-db:before-upgrade", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.WorkflowExecutionInfo.Status)

	bad := []struct {
		name, body string
		status     int
		code       uint64
	}{
		{"existing name", `{"backup_name":"before-upgrade"}`, http.StatusInternalServerError, apicall.FailInUse},
		{"path in name", `{"backup_name":"../escape"}`, http.StatusInternalServerError, apicall.FailInvldRequest},
		{"empty name", `{}`, http.StatusInternalServerError, apicall.FailInvldRequest},
		{"broken json", `{"backup_name":`, http.StatusBadRequest, apicall.APICallParseError},
		{"wrong type", `{"backup_name":7}`, http.StatusBadRequest, apicall.APICallParseError},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			// No Content-Type, as LINSTOR's clients send it.
			req, err := http.NewRequest(http.MethodPost, c.URL+"/v1/controller/backup/db", strings.NewReader(tt.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode, string(body))
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.Contains(t, string(body), fmt.Sprintf(`"ret_code":%d`, int64(tt.code|maskFor(tt.code))), string(body))
		})
	}
	entries, err := os.ReadDir(filepath.Join(c.DataDir, "backups"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "bad requests change nothing")
}

// maskFor is the op/obj context a backup error carries; parse errors carry none.
func maskFor(code uint64) uint64 {
	if code == apicall.APICallParseError {
		return 0
	}
	return apicall.MaskCrt | apicall.MaskCtrlConf
}

// Operations accepted before a SIGKILL finish after the restart, and data
// written before it is still there.
func TestControllerSurvivesSIGKILL(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{OperationWait: "1ms"})
	ctx := context.Background()
	var before map[string]string
	_, err := c.Do(ctx, http.MethodGet, "/v1/controller/properties", nil, &before)
	require.NoError(t, err)

	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	answers := make([]apicall.RcList, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			statuses[i], errs[i] = c.Do(ctx, http.MethodPost, "/v1/controller/backup/db", api.DatabaseBackupRequest{BackupName: fmt.Sprintf("b%02d", i)}, &answers[i])
		})
	}
	wg.Wait()
	for i, s := range statuses {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusCreated, s, "backup %d accepted: %v", i, answers[i])
	}
	c.Kill()
	restarted := time.Now()
	c.Start()

	tc := temporalClient(t, c)
	finishedAfterRestart := 0
	for i := range n {
		id := fmt.Sprintf("controller-backup-db:b%02d", i)
		run := tc.GetWorkflow(ctx, id, "")
		waitCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
		require.NoError(t, run.Get(waitCtx, nil), "workflow %s finishes", id)
		cancel()
		require.FileExists(t, filepath.Join(c.DataDir, "backups", fmt.Sprintf("b%02d", i)))
		desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err)
		if desc.WorkflowExecutionInfo.CloseTime.AsTime().After(restarted) {
			finishedAfterRestart++
		}
	}
	require.Positive(t, finishedAfterRestart, "some backups were still running when the controller was killed")
	t.Logf("%d of %d backups finished after the restart", finishedAfterRestart, n)

	var after map[string]string
	_, err = c.Do(ctx, http.MethodGet, "/v1/controller/properties", nil, &after)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	require.NoError(t, c.Stop(), "exit status 0 after SIGTERM")
	require.Contains(t, c.Log(), "shutting down")
	require.NotContains(t, c.Log(), "level=ERROR")
	c.Start()
}

func TestControllerOnPostgres(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{PostgresURL: harness.PostgresDatabase(t)})
	ctx := context.Background()
	var props map[string]string
	status, err := c.Do(ctx, http.MethodGet, "/v1/controller/properties", nil, &props)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, props["Cluster/LocalID"])

	var rcs apicall.RcList
	status, err = c.Do(ctx, http.MethodPost, "/v1/controller/backup/db", api.DatabaseBackupRequest{BackupName: "x"}, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, status)
	require.Contains(t, rcs[0].Message, "only with the embedded SQLite database")
	require.Contains(t, rcs[0].Correction, "pg_dump")
	require.NoFileExists(t, filepath.Join(c.DataDir, "strata.db"), "PostgreSQL replaces the embedded database")
}

func TestTemporalWebUIShowsWorkflows(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{UI: true})
	ctx := context.Background()
	var rcs apicall.RcList
	status, err := c.Do(ctx, http.MethodPost, "/v1/controller/backup/db", api.DatabaseBackupRequest{BackupName: "ui"}, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status)

	require.Contains(t, get(t, "http://"+c.UIAddr+"/"), "<html")
	// The UI's own API is what its pages render.
	list := get(t, "http://"+c.UIAddr+"/api/v1/namespaces/default/workflows")
	require.Contains(t, list, "controller-backup-db:ui")
}

func temporalClient(t *testing.T, c *harness.Controller) client.Client {
	tc, err := client.Dial(client.Options{HostPort: c.TemporalAddr, Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	return tc
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, b)
	return string(b)
}

// The data directory holds the DRBD secrets and every property: what the
// controller writes there (its database, embedded Temporal's, backups)
// is its user's alone, and what others could read before is made so at
// start, with a warning.
func TestDataFilesAreTheControllersAlone(t *testing.T) {
	ctx := context.Background()
	c := harness.StartController(t, harness.ControllerOptions{})
	var rcs apicall.RcList
	status, err := c.Do(ctx, http.MethodPost, "/v1/controller/backup/db", api.DatabaseBackupRequest{BackupName: "private"}, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status, "%v", rcs)
	open := func() []string {
		var loose []string
		require.NoError(t, filepath.Walk(c.DataDir, func(path string, info os.FileInfo, err error) error {
			require.NoError(t, err)
			if info.Mode().Perm()&0o077 != 0 {
				loose = append(loose, fmt.Sprintf("%s %s", path, info.Mode().Perm()))
			}
			return nil
		}))
		return loose
	}
	require.Empty(t, open())
	require.FileExists(t, filepath.Join(c.DataDir, "backups", "private"))

	require.NoError(t, c.Stop())
	require.NoError(t, os.Chmod(filepath.Join(c.DataDir, "backups", "private"), 0o644))
	require.NoError(t, os.Chmod(c.DataDir, 0o755))
	c.Start()
	require.Empty(t, open())
	require.Contains(t, c.Log(), "data file was readable by others")
}

// With [logging] format = "json" (here STRATA_LOG_FORMAT, which overrides
// it) and the agent's --log-format json, every log line is one JSON
// object, as log collectors read them.
func TestJSONLogs(t *testing.T) {
	t.Setenv("STRATA_LOG_FORMAT", "json")
	c := harness.StartController(t, harness.ControllerOptions{})
	ag := harness.StartAgent(t, "--log-format", "json")
	require.NoError(t, c.Stop())
	require.NoError(t, ag.Stop())
	for name, log := range map[string]string{"controller": c.Log(), "agent": ag.Log()} {
		ready := false
		for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "%s: %q", name, line)
			require.Contains(t, rec, "level")
			ready = ready || strings.HasSuffix(fmt.Sprint(rec["msg"]), "ready")
		}
		require.True(t, ready, "%s logged that it is ready:\n%s", name, log)
	}
}
