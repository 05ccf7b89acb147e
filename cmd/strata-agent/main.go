// strata-agent runs on every storage node: it receives the node's desired
// state from the controller and makes devices converge (package agent).
package main

import (
	"context"
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
	var listen string
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
			return serve(ctx, listen)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":3366", "address the controller connects to")
	return cmd
}

func serve(ctx context.Context, addr string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a := &agent.Agent{Version: version, Run: execrun.Exec{}, Log: log}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("strata agent ready", "version", version, "listen", ln.Addr().String())
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
