// strata is Strata's command-line client, with LINSTOR's command tree.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

type options struct {
	controllers string
	machine     bool
	timeout     time.Duration
}

func newRoot() *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Strata command-line client (LINSTOR's command tree)",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&o.controllers, "controllers", envOr("LS_CONTROLLERS", "localhost:3370"), "comma-separated controller addresses (env LS_CONTROLLERS)")
	root.PersistentFlags().BoolVarP(&o.machine, "machine-readable", "m", false, "print JSON")
	root.PersistentFlags().DurationVarP(&o.timeout, "timeout", "t", 300*time.Second, "timeout of each REST call")

	controller := &cobra.Command{Use: "controller", Aliases: []string{"c"}, Short: "controller commands"}
	controller.AddCommand(&cobra.Command{
		Use:     "version",
		Aliases: []string{"v"},
		Short:   "show the controller's version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v struct {
				Version        string `json:"version"`
				GitHash        string `json:"git_hash"`
				BuildTime      string `json:"build_time"`
				RestAPIVersion string `json:"rest_api_version"`
			}
			raw, err := o.get(cmd.Context(), "/v1/controller/version", &v)
			if err != nil {
				return err
			}
			if o.machine {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), string(raw))
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "strata controller %s; GIT-hash: %s\n", v.Version, v.GitHash)
			return err
		},
	})
	root.AddCommand(controller)
	return root
}

// get fetches path from the first controller that answers.
func (o *options) get(ctx context.Context, path string, out any) ([]byte, error) {
	client := &http.Client{Timeout: o.timeout}
	var lastErr error
	for _, c := range strings.Split(o.controllers, ",") {
		base := strings.TrimSpace(c)
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		u, err := url.Parse(base)
		if err != nil {
			lastErr = fmt.Errorf("invalid controller address %q", c)
			continue
		}
		if u.Port() == "" {
			u.Host += ":3370"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = fmt.Errorf("unable to connect to %s: %w", u.Host, err)
			continue
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s answered %s without JSON", u.Host, resp.Status)
		}
		if resp.StatusCode >= 300 {
			return raw, fmt.Errorf("%s answered %s: %s", u.Host, resp.Status, raw)
		}
		return raw, json.Unmarshal(raw, out)
	}
	return nil, lastErr
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
