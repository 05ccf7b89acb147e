// strata-controller serves the REST API, keeps the desired state in its
// database and runs Strata's Temporal worker.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"strata/activities"
	"strata/agent/tlsconf"
	"strata/agentlink"
	"strata/api"
	"strata/ldapauth"
	"strata/logring"
	"strata/masterkey"
	"strata/store"
	"strata/worker"
	"strata/worker/embedded"
	"strata/workflows"
)

// Set at build time with -ldflags "-X main.version=... -X main.gitHash=... -X main.buildTime=...".
var (
	version   = "0.1.0-dev"
	gitHash   = ""
	buildTime = ""
)

func main() {
	if err := newCommand().Execute(); err != nil {
		// One line, even when a driver's message spans several.
		fmt.Fprintln(os.Stderr, "strata-controller:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var (
		configPath, dataDir, listen, logLevel string
	)
	// effectiveConfig is the file's configuration, with the environment's
	// and --data-dir's changes.
	effectiveConfig := func(cmd *cobra.Command) (Config, error) {
		cfg, err := loadConfig(configPath, cmd.Flags().Changed("config"))
		if err != nil {
			return Config{}, err
		}
		cfg.applyEnv(os.Getenv)
		if cmd.Flags().Changed("data-dir") {
			cfg.DataDir = dataDir
		}
		return cfg, nil
	}
	cmd := &cobra.Command{
		Use:           "strata-controller",
		Short:         "Strata controller: REST API, desired state and workflows",
		Version:       version,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := effectiveConfig(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("log-level") {
				cfg.Logging.Level = logLevel
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			addr := cfg.listenAddress()
			if cmd.Flags().Changed("listen") {
				addr = listen
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return run(ctx, cfg, addr)
		},
	}
	// Flags apply only when given; their defaults are the configuration's,
	// shown in --help.
	def := defaultConfig()
	cmd.PersistentFlags().StringVar(&configPath, "config", defaultConfigPath, "configuration file (TOML)")
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", def.DataDir, "directory of the embedded database, embedded Temporal and backups")
	cmd.PersistentFlags().StringVar(&listen, "listen", def.listenAddress(), "address of the REST API (overrides [http] listen_addr and port)")
	cmd.PersistentFlags().StringVar(&logLevel, "log-level", def.Logging.Level, "ERROR, WARN, INFO, DEBUG or TRACE")
	cmd.AddCommand(&cobra.Command{
		Use:   "agent-token",
		Short: "print the token the cluster's agents know their controllers by (give it to strata-agent --controller-token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := effectiveConfig(cmd)
			if err != nil {
				return err
			}
			if err := privateFiles(cfg.DataDir, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), cfg.storeConfig(), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return fmt.Errorf("database: %w", err)
			}
			defer st.Close()
			token, err := st.AgentToken(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), token)
			return nil
		},
	})
	return cmd
}

// controller is the set of running parts, stopped in reverse order.
type controller struct {
	log      *slog.Logger
	ring     *logring.Ring
	level    *slog.LevelVar
	store    *store.Store
	temporal *embedded.Server
	client   client.Client
	worker   sdkworker.Worker
	http     *http.Server
	ln       net.Listener
	https    *http.Server
	tlsLn    net.Listener // the REST API over HTTPS; nil: off
	// stopAgents ends the watch of the agents.
	stopAgents context.CancelFunc
}

// agentPollInterval is how often every node's agent is asked whether it
// is there: a node shows Online or OFFLINE within it.
const agentPollInterval = 2 * time.Second

func run(ctx context.Context, cfg Config, addr string) error {
	level := &slog.LevelVar{} // controller set-log-level changes it
	l, _ := api.ParseLogLevel(cfg.Logging.Level)
	level.Set(l)
	// The recent lines are kept for SOS reports as well.
	ring := logring.New(8 << 20)
	log := logring.NewLogger(os.Stderr, ring, level, cfg.Logging.Format == "json")
	started := time.Now()

	if err := privateFiles(cfg.DataDir, log); err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	c := &controller{log: log, level: level, ring: ring}
	defer c.stop()
	if err := c.start(ctx, cfg, addr); err != nil {
		return err
	}
	log.Info("strata controller ready", "version", version, "rest", addr, "temporal", temporalTarget(cfg, c.temporal), "database", c.store.Dialect, "startup", time.Since(started).Round(time.Millisecond))
	if c.temporal != nil && c.temporal.UIAddress() != "" {
		log.Info("temporal web UI", "url", "http://"+c.temporal.UIAddress())
	}

	errc := make(chan error, 2)
	if c.http != nil {
		go func() { errc <- c.http.Serve(c.ln) }()
	}
	if c.https != nil {
		log.Info("REST API over HTTPS", "address", c.tlsLn.Addr().String(), "client_certificates", cfg.HTTPS.ClientCA != "")
		go func() { errc <- c.https.Serve(c.tlsLn) }()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("REST API: %w", err)
	}
}

func (c *controller) start(ctx context.Context, cfg Config, addr string) error {
	var err error
	if cfg.httpEnabled() {
		// Bind first: a taken port should fail before anything else starts.
		if c.ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("REST API: %w", err)
		}
	}
	if cfg.httpsEnabled() {
		if c.tlsLn, err = httpsListener(cfg.HTTPS, cfg.httpsAddress()); err != nil {
			return err
		}
	}

	c.store, err = store.Open(ctx, cfg.storeConfig(), c.log)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	clusterID, err := c.store.EnsureClusterID(ctx)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	c.log.Debug("cluster", "id", clusterID)

	hostPort := cfg.Temporal.Address
	if hostPort == "" {
		uiAddr := ""
		if cfg.uiEnabled() {
			uiAddr = cfg.Temporal.UIAddress
		}
		c.temporal, err = embedded.Start(embedded.Config{
			DBPath:          cfg.dataPath("temporal.db"),
			FrontendAddress: cfg.Temporal.EmbeddedAddress,
			Namespace:       cfg.Temporal.Namespace,
			UIAddress:       uiAddr,
			Logger:          c.log,
		})
		if err != nil {
			return err
		}
		hostPort = c.temporal.FrontendAddress()
	}
	c.client, err = worker.Dial(ctx, hostPort, cfg.Temporal.Namespace, cfg.Temporal.DialTimeout.Duration, c.log)
	if err != nil {
		return err
	}
	if c.temporal != nil {
		c.temporal.Ready()
	}
	var agentsTLS *tls.Config
	if files := (tlsconf.Files{Cert: cfg.Agents.TLSCert, Key: cfg.Agents.TLSKey, CA: cfg.Agents.TLSCA}); files.Set() {
		if agentsTLS, err = files.Client(); err != nil {
			return fmt.Errorf("[agents]: %w", err)
		}
	}
	// The master passphrase of [encrypt] or MASTER_PASSPHRASE creates or
	// unlocks the master key; a wrong one leaves it locked, as LINSTOR.
	keyring := &masterkey.Keyring{}
	if said, err := (masterkey.Passphrase{Store: c.store, Ring: keyring}).Auto(ctx, cfg.Encrypt.Passphrase); err != nil {
		c.log.Error("the configured master passphrase was not accepted; the master key stays locked", "error", err)
	} else if said != "" {
		c.log.Info(said)
	}
	agents := agentlink.New(c.store, c.log.With("component", "agents"), agentPollInterval, agentsTLS)
	if agents.Token, err = c.store.AgentToken(ctx); err != nil {
		return err
	}
	acts := &activities.Activities{Store: c.store, BackupDir: cfg.dataPath("backups"), Agents: agents, Temporal: c.client, Keyring: keyring,
		SOS: activities.SOSSources{Dir: cfg.dataPath("sos-reports"), Version: fmt.Sprintf("strata-controller %s (%s, built %s)", version, gitHash, buildTime),
			Config: cfg.redacted(), Log: c.ring}}
	if c.worker, err = worker.Start(c.client, workflows.TaskQueue, acts); err != nil {
		return err
	}
	if c.ln != nil || c.tlsLn != nil {
		// Slow headers (slowloris) are cut off here, slow bodies by the API;
		// a whole request is not bounded, since it may wait for its
		// operation (a ReadTimeout would cancel it).
		server := func(h http.Handler) *http.Server {
			return &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, Handler: h}
		}
		var directory *ldapauth.Directory
		if cfg.LDAP.Enabled {
			directory = ldapauth.New(cfg.LDAP)
		}
		rest := api.New(api.Deps{
			Store:         c.store,
			Temporal:      c.client,
			Build:         api.BuildInfo{Version: version, GitHash: gitHash, BuildTime: buildTime},
			BackupDir:     acts.BackupDir,
			OperationWait: cfg.Temporal.OperationWait.Duration,
			Agents:        agents,
			Keyring:       keyring,
			Log:           c.log.With("component", "rest"),
			LogLevel:      c.level,
			LDAP:          directory,
		})
		if c.tlsLn != nil {
			c.https = server(rest)
			rest = redirectToHTTPS(c.tlsLn.Addr().(*net.TCPAddr).Port, rest)
		}
		if c.ln != nil {
			c.http = server(rest)
		}
	}
	// A node whose agent comes online is sent its whole state.
	agents.Reverify = cfg.Agents.VerifyInterval.Duration
	agents.OnConnect = func(node string) {
		if _, err := api.StartNodeSync(context.Background(), c.client, workflows.TaskQueue, node); err != nil {
			c.log.Error("start sending a node its state", "node", node, "error", err)
		}
	}
	// A node whose agent goes (or is gone when the controller starts)
	// gets its auto-evict timer.
	agents.OnDisconnect = func(node string, first bool) {
		if err := api.StartAutoEvict(context.Background(), c.client, workflows.TaskQueue, node, cfg.Agents.TimerMinute.Duration, first); err != nil {
			c.log.Error("start a node's auto-evict timer", "node", node, "error", err)
		}
	}
	if err := api.StartAutoDiskfulWatch(context.Background(), c.client, workflows.TaskQueue, cfg.Agents.TimerMinute.Duration); err != nil {
		c.log.Error("start the watch of the diskless Primaries (auto-diskful)", "error", err)
	}
	// Schedules follow properties that changed while no controller ran
	// (a restored database, another controller's write).
	if err := api.ReconcileAutoSnapshots(context.Background(), c.client, workflows.TaskQueue); err != nil {
		c.log.Error("reconcile the auto-snapshot schedules", "error", err)
	}
	if err := api.ReconcileBackupSchedules(context.Background(), c.client, workflows.TaskQueue); err != nil {
		c.log.Error("reconcile the backup shipping schedules", "error", err)
	}
	var agentsCtx context.Context
	agentsCtx, c.stopAgents = context.WithCancel(context.Background())
	go agents.Run(agentsCtx)
	return nil
}

// stop shuts down whatever start got running, newest first, so that no
// request or workflow task is cut off by a part it still needs.
func (c *controller) stop() {
	if c.temporal != nil {
		c.temporal.Stopping()
	}
	if c.stopAgents != nil {
		c.stopAgents()
	}
	for _, l := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{c.http, c.ln}, {c.https, c.tlsLn}} {
		if l.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := l.srv.Shutdown(ctx); err != nil {
				c.log.Warn("REST API shutdown", "error", err)
			}
			cancel()
		} else if l.ln != nil {
			_ = l.ln.Close()
		}
	}
	if c.worker != nil {
		c.worker.Stop()
	}
	if c.client != nil {
		c.client.Close()
	}
	if c.temporal != nil {
		if err := c.temporal.Stop(); err != nil {
			c.log.Warn("embedded temporal shutdown", "error", err)
		}
	}
	if c.store != nil {
		if err := c.store.Close(); err != nil {
			c.log.Warn("database close", "error", err)
		}
	}
}

func temporalTarget(cfg Config, s *embedded.Server) string {
	if s != nil {
		return "embedded " + s.FrontendAddress()
	}
	return cfg.Temporal.Address
}
