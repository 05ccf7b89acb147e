package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/store"
)

// syncBuffer is a log sink the server's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// Each request is one log line: DEBUG when it succeeded, INFO when it
// failed, with the workflow it started; bodies stay out of the log.
func TestRequestsAreLogged(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	var out syncBuffer
	d := operationsDeps(t, c.store)
	d.Log = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(New(d))
	t.Cleanup(srv.Close)
	c.srv = srv

	c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes", nodeBody("alpha", "10.0.0.1"))
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions", `{"resource_definition": {"name": "data", "props": {"Aux/secret-note": "hidden-value"}}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/data/volume-definitions", `{"volume_definition": {"size_kib": 1024}}`)
	c.do(http.MethodPost, "/v1/resource-definitions/data/resources", `[{"resource": {"node_name": "alpha"}}]`) // no pool yet
	c.ok(http.StatusCreated, http.MethodPost, "/v1/nodes/alpha/storage-pools", `{"storage_pool_name": "DfltStorPool", "provider_kind": "FILE_THIN", "props": {"StorDriver/StorPoolName": "/srv"}}`)
	c.ok(http.StatusCreated, http.MethodPost, "/v1/resource-definitions/data/resources", `[{"resource": {"node_name": "alpha"}}]`)
	c.do(http.MethodGet, "/v1/nodes/nobody", nil)

	lines := out.lines()
	require.Len(t, lines, 7, "%s", strings.Join(lines, "\n"))
	require.Contains(t, lines[0], `level=DEBUG msg="REST request" method=POST path=/v1/nodes status=201`)
	require.Regexp(t, `level=INFO msg="REST request" method=POST path=/v1/resource-definitions/data/resources status=404 duration=\S+ remote=\S+ workflows=\[resource-create:data:alpha\]`, lines[3])
	require.Regexp(t, `level=DEBUG .* path=/v1/resource-definitions/data/resources status=201 .* workflows=\[resource-create:data:alpha\]`, lines[5])
	require.Contains(t, lines[6], `level=INFO msg="REST request" method=GET path=/v1/nodes/nobody status=404`)
	require.NotContains(t, strings.Join(lines, "\n"), "hidden-value")
}

// controller set-log-level changes the log level at run time: the
// request log's DEBUG lines appear once the level is DEBUG.
func TestSetLogLevel(t *testing.T) {
	c := newClient(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")})
	var out syncBuffer
	d := operationsDeps(t, c.store)
	d.LogLevel = &slog.LevelVar{}
	d.Log = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: d.LogLevel}))
	srv := httptest.NewServer(New(d))
	t.Cleanup(srv.Close)
	c.srv = srv

	var cfg ControllerConfig
	c.get("/v1/controller/config", &cfg)
	require.Equal(t, "INFO", cfg.Log.Level)
	var nodes []any
	c.get("/v1/nodes", &nodes)
	require.NotContains(t, strings.Join(out.lines(), "\n"), "path=/v1/nodes ", "no DEBUG lines at INFO")

	rcs := c.ok(http.StatusOK, http.MethodPut, "/v1/controller/config", `{"log": {"level_linstor": "DEBUG"}}`)
	require.Equal(t, "Log level of the controller set to DEBUG.", rcs[0].Message)
	require.Equal(t, slog.LevelDebug, d.LogLevel.Level())
	c.get("/v1/controller/config", &cfg)
	require.Equal(t, "DEBUG", cfg.Log.Level)
	c.get("/v1/nodes", &nodes)
	require.Contains(t, strings.Join(out.lines(), "\n"), `level=DEBUG msg="REST request" method=GET path=/v1/nodes status=200`)

	c.fail(http.StatusBadRequest, apicall.APICallParseError&apicall.MaskCode, http.MethodPut, "/v1/controller/config", `{"log": {"level": "LOUD"}}`)
	c.fail(http.StatusInternalServerError, apicall.FailInvldRequest, http.MethodPut, "/v1/controller/config", `{}`)
	require.Equal(t, slog.LevelDebug, d.LogLevel.Level(), "a refused change changes nothing")
}
