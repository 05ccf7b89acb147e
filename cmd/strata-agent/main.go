// strata-agent runs on every storage node: it receives the node's desired
// state from the controller and makes devices converge (package agent).
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
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"strata/agent"
	"strata/agent/execrun"
	"strata/agent/tlsconf"
	"strata/logring"
)

// Set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "strata-agent:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var listen, drbdDir, logFormat string
	var files agent.ExternalFiles
	var trust agent.Trust
	var tlsFiles tlsconf.Files
	cmd := &cobra.Command{
		Use:           "strata-agent",
		Short:         "Strata node agent",
		Version:       version,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if trust.Token == "" {
				trust.Token = os.Getenv("STRATA_CONTROLLER_TOKEN")
			}
			if logFormat != "text" && logFormat != "json" {
				return fmt.Errorf("--log-format %q: use text or json", logFormat)
			}
			return serve(ctx, listen, drbdDir, files, &trust, tlsFiles, logFormat == "json")
		},
	}
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "text, or json for one JSON object per line")
	cmd.Flags().StringVar(&listen, "listen", ":3366", "address the controller connects to (3367 is LINSTOR's for SSL)")
	cmd.Flags().StringVar(&drbdDir, "drbd-dir", agent.DefaultDrbdDir, "where the DRBD resource files the agent renders are kept")
	cmd.Flags().StringSliceVar(&files.Dirs, "allow-ext-files", nil, "directories external files may be written to, each a file's parent (LINSTOR's allowExtFiles)")
	cmd.Flags().StringVar(&files.Record, "ext-files-record", agent.DefaultFilesRecord, "where the agent lists the external files it wrote")
	cmd.Flags().StringVar(&trust.Token, "controller-token", "", "the cluster's agent token (strata-controller agent-token; also STRATA_CONTROLLER_TOKEN); without it the first controller's is trusted")
	cmd.Flags().StringVar(&trust.File, "trust-file", agent.DefaultTrustFile, "where the agent keeps the fingerprint of the controller token it trusts")
	cmd.Flags().StringVar(&tlsFiles.Cert, "tls-cert", "", "the agent's certificate (PEM): serve mutual TLS, for nodes of communication type SSL")
	cmd.Flags().StringVar(&tlsFiles.Key, "tls-key", "", "the key of --tls-cert")
	cmd.Flags().StringVar(&tlsFiles.CA, "tls-ca", "", "the CA that signed the controller's certificate")
	return cmd
}

func serve(ctx context.Context, addr, drbdDir string, files agent.ExternalFiles, trust *agent.Trust, tlsFiles tlsconf.Files, jsonLogs bool) error {
	level := &slog.LevelVar{} // node set-log-level changes it
	// The recent lines are kept for SOS reports as well.
	ring := logring.New(4 << 20)
	log := logring.NewLogger(os.Stderr, ring, level, jsonLogs)
	var tlsConfig *tls.Config
	if tlsFiles.Set() {
		var err error
		if tlsConfig, err = tlsFiles.Server(); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	a := &agent.Agent{Version: version, Run: execrun.Exec{}, Machine: agent.RealMachine(), Log: log, Level: level, DrbdDir: drbdDir, Files: files, Trust: trust, LogRing: ring}
	// Slow headers are cut off; a whole request is not bounded, since jobs
	// stream their answers for as long as they run (a ReadTimeout would
	// cancel them).
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("strata agent ready", "version", version, "listen", ln.Addr().String(), "tls", tlsConfig != nil)
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
