package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// spaceReportingCommand is LINSTOR's space-reporting: the cluster's
// storage space.
func (a *app) spaceReportingCommand() *cobra.Command {
	c := &cobra.Command{Use: "space-reporting", Aliases: []string{"spr"}, Short: "storage space report commands"}
	query := verb("query", "report the cluster's storage space, pool by pool", []string{"q"}, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var r struct {
			ReportText string `json:"reportText"`
		}
		raw, err := a.get(cmd.Context(), "/v1/space-report", nil, &r)
		if err != nil {
			return err
		}
		if a.out.machine {
			return a.out.json(raw)
		}
		_, err = fmt.Fprint(a.out.w, r.ReportText)
		return err
	})
	c.AddCommand(query)
	return c
}
