// Package embedded runs a single-machine Temporal server (and optionally its
// web UI) inside the controller, persisted in an SQLite file, so that Strata
// needs nothing else installed. Production points at an external cluster.
package embedded

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"strata/worker/embedded/ports"
)

// Config of the embedded server.
type Config struct {
	DBPath          string // SQLite file of Temporal's persistence
	FrontendAddress string // host:port of the gRPC frontend; port 0 picks a free one
	Namespace       string // registered at start
	UIAddress       string // host:port of the web UI; empty turns it off
	Logger          *slog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	temporal temporal.Server
	quiet    *atomic.Bool
	ui       *uiserver.Server
	frontend string
	uiAddr   string
}

const clusterName = "active"

// Start sets up the schema on first use, registers the namespace and starts
// all Temporal services in this process.
func Start(cfg Config) (*Server, error) {
	host, frontendPort, err := splitHostPort(cfg.FrontendAddress)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend address %q: %w", cfg.FrontendAddress, err)
	}
	if frontendPort == 0 {
		if frontendPort, err = ports.Free(host); err != nil {
			return nil, err
		}
	} else if err := checkFree(net.JoinHostPort(host, strconv.Itoa(frontendPort))); err != nil {
		return nil, fmt.Errorf("embedded temporal frontend: %w", err)
	}
	if cfg.UIAddress != "" {
		if err := checkFree(cfg.UIAddress); err != nil {
			return nil, fmt.Errorf("temporal web UI: %w", err)
		}
	}
	frontend := net.JoinHostPort(host, strconv.Itoa(frontendPort))

	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: cfg.DBPath,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "2", // FULL: an accepted operation survives power loss
			"busy_timeout": "10000",
		},
	}
	if err := os.MkdirAll(filepath.Dir(cfg.DBPath), 0o750); err != nil {
		return nil, fmt.Errorf("create temporal data directory: %w", err)
	}
	if _, err := os.Stat(cfg.DBPath); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("set up temporal schema in %s: %w", cfg.DBPath, err)
		}
	}
	if err := forgetMembers(cfg.DBPath); err != nil {
		return nil, err
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("temporal namespace %q: %w", cfg.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("register temporal namespace %q: %w", cfg.Namespace, err)
	}

	internal, err := internalPorts(filepath.Join(filepath.Dir(cfg.DBPath), "temporal-ports.json"))
	if err != nil {
		return nil, err
	}
	serverCfg := serverConfig(host, frontendPort, internal, sqlCfg)
	quiet := new(atomic.Bool)
	quiet.Store(true) // until Ready
	// One partition per task queue: a single process gains nothing from
	// four, and with four a task persisted in a partition that no poller
	// reaches after a crash waited up to a minute to be picked up.
	dynamicConfig := dynamicconfig.StaticClient{
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(serverCfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(newLogger(cfg.Logger.With("component", "temporal"), quiet)),
		temporal.WithDynamicConfigClient(dynamicConfig),
	)
	if err != nil {
		return nil, fmt.Errorf("create embedded temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start embedded temporal server: %w", err)
	}
	s := &Server{temporal: srv, quiet: quiet, frontend: frontend}
	if cfg.UIAddress != "" {
		if err := s.startUI(cfg, frontend); err != nil {
			_ = srv.Stop()
			return nil, err
		}
	}
	return s, nil
}

// serverConfig describes one host running every service on loopback
// ports: the frontend's, and the internal ones in order.
func serverConfig(host string, frontendPort int, internal []int, sqlCfg *config.SQL) *config.Config {
	next := func() int {
		p := internal[0]
		internal = internal[1:]
		return p
	}
	services := map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		grpcPort := frontendPort
		if name != "frontend" {
			grpcPort = next()
		}
		rpc := config.RPC{GRPCPort: grpcPort, MembershipPort: next(), BindOnLocalHost: true}
		if name == "frontend" {
			// The frontend's HTTP API serves Temporal's REST and Nexus calls.
			rpc.HTTPPort = next()
			if host != "127.0.0.1" && host != "localhost" {
				rpc.BindOnLocalHost, rpc.BindOnIP = false, host
			}
		}
		services[name] = config.Service{RPC: rpc}
	}
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort))},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort))},
	}
}

func (s *Server) startUI(cfg Config, frontend string) error {
	host, port, err := splitHostPort(cfg.UIAddress)
	if err != nil {
		return fmt.Errorf("temporal web UI address %q: %w", cfg.UIAddress, err)
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		TemporalGRPCAddress: frontend,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}))
	s.uiAddr = cfg.UIAddress
	go func() {
		if err := s.ui.Start(); err != nil {
			cfg.Logger.Error("temporal web UI stopped", "error", err)
		}
	}()
	return nil
}

// FrontendAddress is where clients and workers reach the server.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIAddress is where the web UI listens, or "" when it is off.
func (s *Server) UIAddress() string { return s.uiAddr }

// Ready tells the server that a client got through: from now on its
// warnings and errors are logged as such.
func (s *Server) Ready() { s.quiet.Store(false) }

// Stopping announces a shutdown: the disconnects that follow are expected
// and logged at DEBUG.
func (s *Server) Stopping() { s.quiet.Store(true) }

// Stop shuts the UI and all services down.
func (s *Server) Stop() error {
	s.Stopping()
	if s.ui != nil {
		s.ui.Stop()
	}
	return s.temporal.Stop()
}

func splitHostPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", portStr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// checkFree fails early with a clear message: the UI server would otherwise
// exit the whole process when it cannot bind.
// internalPortCount is how many loopback ports the services need besides
// the frontend's: three gRPC, four membership and one HTTP.
const internalPortCount = 8

// internalPorts are the ports of the services' internal listeners: those
// of the last start when they are all free (kept in path), else new
// ones. Keeping them shrinks the moment in which another process can
// take a port between its check and the server's bind to the time the
// controller was down — a restart right after a crash no longer picks
// eight new ports that any process may be taking meanwhile.
func internalPorts(path string) ([]int, error) {
	var kept []int
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &kept) == nil && len(kept) == internalPortCount {
		free := true
		for _, p := range kept {
			free = free && checkFree(net.JoinHostPort("127.0.0.1", strconv.Itoa(p))) == nil
		}
		if free {
			return kept, nil
		}
	}
	seen := map[int]bool{}
	var out []int
	for len(out) < internalPortCount {
		p, err := ports.Free("127.0.0.1")
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("keep the embedded temporal ports: %w", err)
	}
	return out, nil
}

func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

// forgetMembers removes the cluster membership rows a previous run left
// behind. The embedded server is a single process whose services take new
// ports at every start; after a crash, its services would first try to
// join the dead run's members and serve no task for over 30 seconds.
func forgetMembers(dbPath string) error {
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		return fmt.Errorf("open temporal database %s: %w", dbPath, err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("forget the previous run's temporal members: %w", err)
	}
	return nil
}
