package cli

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// sosReportCommand is LINSTOR's sos-report: create leaves the report on
// the controller, download also saves it here.
func (a *app) sosReportCommand() *cobra.Command {
	c := &cobra.Command{Use: "sos-report", Aliases: []string{"sos"}, Short: "SOS report commands: logs, versions and state for a support case"}
	var nodes, rscs, exclude []string
	var noController bool
	var since, dir string
	query := func() (url.Values, error) {
		q := url.Values{"nodes": nodes, "rscs": rscs, "exclude": exclude}
		if noController {
			q.Set("include-ctrl", "false")
		}
		if since != "" {
			d, err := time.ParseDuration(since)
			if err != nil {
				return nil, &exitError{exitUsage, fmt.Sprintf("invalid --since %q: give a duration such as 2h or 30m", since)}
			}
			q.Set("since", strconv.FormatInt(time.Now().Add(-d).UnixMilli(), 10))
		}
		return q, nil
	}
	flags := func(cmd *cobra.Command) *cobra.Command {
		cmd.Flags().StringSliceVarP(&nodes, "nodes", "n", nil, "only these nodes")
		cmd.Flags().StringSliceVarP(&rscs, "resources", "r", nil, "the nodes holding these resources")
		cmd.Flags().StringSliceVar(&exclude, "exclude-nodes", nil, "not these nodes")
		cmd.Flags().BoolVar(&noController, "no-controller", false, "leave out the controller's part")
		cmd.Flags().StringVarP(&since, "since", "s", "", "error reports and operations of this long ago on (default 1 day), such as 2h")
		return cmd
	}
	create := flags(verb("create", "create an SOS report on the controller", aliasCreate, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		q, err := query()
		if err != nil {
			return err
		}
		_, out, err := a.conn.do(cmd.Context(), "GET", "/v1/sos-report", q, nil)
		if err != nil {
			return err
		}
		return a.out.replies(out)
	}))
	download := flags(verb("download", "create an SOS report and save it here", []string{"dl"}, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		q, err := query()
		if err != nil {
			return err
		}
		body, err := a.get(cmd.Context(), "/v1/sos-report/download", q, nil)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, "sos_"+time.Now().UTC().Format("20060102_150405")+".tar.gz")
		if err := os.WriteFile(path, body, 0o600); err != nil {
			return &exitError{exitUnknown, err.Error()}
		}
		_, err = fmt.Fprintf(a.out.w, "SOS report saved as %s (%d bytes)\n", path, len(body))
		return err
	}))
	download.Flags().StringVar(&dir, "path", ".", "the directory to save the report in")
	c.AddCommand(create, download)
	return c
}
