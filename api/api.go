// Package api serves Strata's REST API: LINSTOR's /v1 paths and JSON shapes
// on huma operations over a chi router, answering writes and errors with
// LINSTOR's apicall.ApiCallRc lists.
package api

import (
	"cmp"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.temporal.io/sdk/client"

	"strata/agentlink"
	"strata/apicall"
	"strata/ldapauth"
	"strata/masterkey"
	"strata/metrics"
	"strata/store"
)

// RestAPIVersion is the LINSTOR REST API version Strata speaks. LINSTOR
// clients only require that it starts with "1".
const RestAPIVersion = "1.28.0"

// BuildInfo identifies the running binary.
type BuildInfo struct {
	Version   string
	GitHash   string
	BuildTime string
}

// filled gives every field a value, as LINSTOR's clients print them all
// (linstor controller version fails on a missing one): what the linker
// did not set comes from the version control stamp Go keeps in the
// binary, else "unknown".
func (b BuildInfo) filled() BuildInfo {
	vcs := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			vcs[s.Key] = s.Value
		}
	}
	b.GitHash = cmp.Or(b.GitHash, vcs["vcs.revision"], "unknown")
	b.BuildTime = cmp.Or(b.BuildTime, vcs["vcs.time"], "unknown")
	b.Version = cmp.Or(b.Version, "unknown")
	return b
}

// Deps is what the API needs from the rest of the controller.
type Deps struct {
	Store    *store.Store
	Temporal client.Client
	Build    BuildInfo
	// BackupDir receives database backups (embedded database only).
	BackupDir string
	// OperationWait is how long a request waits for its workflow before
	// answering that the operation goes on in the background.
	OperationWait time.Duration
	// Agents knows the nodes' connection states; nil: every node OFFLINE.
	Agents *agentlink.Link
	// TaskQueue is where the operations' workflows go
	// (workflows.TaskQueue when empty; tests use their own).
	TaskQueue string
	// Keyring holds this controller's unlocked master key; nil: one of
	// the API's own.
	Keyring *masterkey.Keyring
	// Log gets a line per request; nil: none.
	Log *slog.Logger
	// LogLevel is the controller's log level, changed at run time by
	// controller set-log-level; nil: one of the API's own.
	LogLevel *slog.LevelVar
	// LDAP signs REST users in ([ldap] enabled); nil: no sign-in.
	LDAP *ldapauth.Directory
}

type server struct {
	Deps
	// resources and snapshots are the views clients poll.
	resources, snapshots definitionView
}

// New returns the HTTP handler of the whole API.
func New(d Deps) http.Handler {
	r := chi.NewRouter()
	rest := metrics.NewREST()
	// LINSTOR's clients call some lists with a trailing slash
	// (/v1/error-reports/?since=…, /v1/physical-storage/).
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r.Use(rest.Middleware, requestLog(log), middleware.StripSlashes, pathRules, bodyRules)
	if d.LDAP != nil {
		r.Use(signInRules(d.LDAP))
	}
	cfg := huma.DefaultConfig("Strata", d.Build.Version)
	cfg.Info.Description = "Strata's REST API. The /v1 paths are wire-compatible with LINSTOR's REST API " + RestAPIVersion + "."
	cfg.CreateHooks = nil // no "$schema" fields: bodies must match LINSTOR's field for field
	cfg.DocsPath = ""     // served below, without assets from the internet
	h := humachi.New(r, cfg)

	d.Build = d.Build.filled()
	if d.LogLevel == nil {
		d.LogLevel = &slog.LevelVar{}
	}
	if d.Keyring == nil {
		d.Keyring = &masterkey.Keyring{}
	}
	s := &server{Deps: d, resources: definitionView{build: resourcePieces}, snapshots: definitionView{build: snapshotPieces}}
	s.registerController(h)
	s.registerControllerConfig(h)
	s.registerHealth(h)
	s.registerNodes(h)
	s.registerStoragePools(h)
	s.registerPhysicalStorage(h)
	s.registerAutoplace(h)
	s.registerSpawn(h)
	s.registerToggleDisk(h)
	s.registerResourceGroups(h)
	s.registerResourceDefinitions(h)
	s.registerResources(h)
	s.registerSnapshots(h)
	s.registerEncryption(h)
	s.registerRemotes(h)
	s.registerBackups(h)
	s.registerShip(h)
	s.registerSchedules(h)
	s.registerConnections(h)
	s.registerPropsInfo(h)
	s.registerSizing(h)
	s.registerOperations(h)
	s.registerErrorReports(h)
	s.registerKeyValueStore(h)
	s.registerExternalFiles(h)
	s.registerClone(h)
	s.registerSpaceReport(h)
	s.registerSOSReport(h)
	r.Delete("/v1/controller/properties/*", s.deleteControllerProperty)
	r.Get("/docs", docsHandler(h.OpenAPI()))
	// Prometheus: the cluster under LINSTOR's exporter names, and Strata's own.
	r.Method("GET", "/metrics", metrics.Handler(rest, metrics.ClusterCollector{Read: s.cluster}))
	serveGaps(r)
	return r
}

func init() {
	// huma's own errors (unparsable or invalid bodies, oversized requests)
	// reach LINSTOR clients as apicall.ApiCallRc lists like every other error.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		if status == http.StatusRequestEntityTooLarge {
			return tooLarge(msg)
		}
		code, message := apicall.FailUnknownError, msg
		if status >= 400 && status < 500 {
			code, message = apicall.APICallParseError, "Unable to parse input json."
		}
		rc := apicall.NewRc(code, 0, 0, message)
		details := []string{msg}
		for _, err := range errs {
			if err != nil {
				details = append(details, err.Error())
			}
		}
		rc.Details = strings.Join(details, "\n")
		return apicall.RcList{rc}
	}
}
