package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"strata/restapi"
)

// reportID is the report's id, from its file name ErrorReport-<id>.log.
func reportID(r restapi.ErrorReport) string {
	var id string
	if _, err := fmt.Sscanf(r.Filename, "ErrorReport-%s", &id); err != nil {
		return r.Filename
	}
	if len(id) > 4 && id[len(id)-4:] == ".log" {
		id = id[:len(id)-4]
	}
	return id
}

func (a *app) errorReportsCommand() *cobra.Command {
	c := &cobra.Command{Use: "error-reports", Aliases: []string{"err"}, Short: "error reports of the controller and the nodes"}
	var nodes []string
	var since time.Duration
	list := verb("list", "list error reports", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		q := url.Values{}
		if len(nodes) > 0 {
			q.Set("node", nodes[0])
		}
		if since > 0 {
			q.Set("since", strconv.FormatInt(time.Now().Add(-since).UnixMilli(), 10))
		}
		var reps []restapi.ErrorReport
		raw, err := a.get(cmd.Context(), "/v1/error-reports", q, &reps)
		if err != nil {
			return err
		}
		rows := make([][]string, len(reps))
		for i, r := range reps {
			rows[i] = []string{reportID(r), time.UnixMilli(r.ErrorTime).Format("2006-01-02 15:04:05"), r.NodeName, r.Exception}
		}
		return a.list(raw, []string{"Id", "Datetime", "Node", "Exception"}, rows)
	})
	list.Flags().StringSliceVarP(&nodes, "nodes", "n", nil, "only reports of this node")
	list.Flags().DurationVarP(&since, "since", "s", 0, "only reports of the last duration, such as 2h")
	show := verb("show ID", "show an error report", []string{"s"}, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		var reps []restapi.ErrorReport
		raw, err := a.get(cmd.Context(), "/v1/error-reports/"+pathEscape(args[0]), nil, &reps)
		if err != nil {
			return err
		}
		if a.out.machine {
			return a.out.json(raw)
		}
		if len(reps) == 0 {
			return &exitError{exitAPIError, fmt.Sprintf("Error report '%s' not found.", args[0])}
		}
		_, err = fmt.Fprint(a.out.w, reps[0].Text)
		return err
	})
	c.AddCommand(list, show)
	return c
}
