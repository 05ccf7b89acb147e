package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"strata/restapi"
	"strata/store"
)

// ErrorReportQuery are the filters of the error report lists.
type ErrorReportQuery struct {
	Node        string `query:"node" doc:"only reports of this node"`
	Since       int64  `query:"since" doc:"only reports from this time on (ms since the epoch)"`
	To          int64  `query:"to" doc:"only reports up to this time (ms since the epoch)"`
	WithContent bool   `query:"withContent" doc:"include the reports' text"`
	Offset      int    `query:"offset" minimum:"0"`
	Limit       int    `query:"limit" minimum:"0"`
}

// errorReportJSON is a report in LINSTOR's shape; the text only when asked
// for (it can be long).
func (s *server) errorReportJSON(r store.ErrorReport, withContent bool) restapi.ErrorReport {
	out := restapi.ErrorReport{NodeName: r.NodeName, ErrorTime: r.ErrorTime, Filename: "ErrorReport-" + r.ID + ".log", Module: r.Module,
		Version: s.Build.Version, Exception: r.Exception, ExceptionMessage: r.Message}
	if withContent {
		out.Text = r.Text
	}
	return out
}

func (s *server) registerErrorReports(h huma.API) {
	list := func(ctx context.Context, f ErrorReportQuery, ids []string, withContent bool) ([]restapi.ErrorReport, error) {
		reps, err := s.Store.ErrorReports(ctx, store.ErrorReportFilter{Node: f.Node, Since: f.Since, To: f.To, IDs: ids})
		if err != nil {
			return nil, failure(err, 0, 0, nil)
		}
		reps = page(reps, ListParams{Offset: f.Offset, Limit: f.Limit})
		out := make([]restapi.ErrorReport, len(reps))
		for i, r := range reps {
			out[i] = s.errorReportJSON(r, withContent)
		}
		return out, nil
	}
	huma.Register(h, huma.Operation{OperationID: "errorReportList", Method: http.MethodGet, Path: "/v1/error-reports", Summary: "list all error reports", Tags: []string{"developers"}},
		func(ctx context.Context, in *ErrorReportQuery) (*struct{ Body []restapi.ErrorReport }, error) {
			out, err := list(ctx, *in, nil, in.WithContent)
			return &struct{ Body []restapi.ErrorReport }{out}, err
		})
	huma.Register(h, huma.Operation{OperationID: "errorReportShow", Method: http.MethodGet, Path: "/v1/error-reports/{reportid}", Summary: "show an error report", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			ReportID string `path:"reportid"`
			ErrorReportQuery
		}) (*struct{ Body []restapi.ErrorReport }, error) {
			out, err := list(ctx, in.ErrorReportQuery, []string{in.ReportID}, true)
			return &struct{ Body []restapi.ErrorReport }{out}, err
		})
}
