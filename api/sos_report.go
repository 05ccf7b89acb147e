package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"strata/activities"
	"strata/apicall"
	"strata/workflows"
)

// SOSReportQuery selects what an SOS report holds (LINSTOR's sos-report
// create and download).
type SOSReportQuery struct {
	Nodes       []string `query:"nodes,explode" doc:"nodes to use"`
	Resources   []string `query:"rscs,explode" doc:"use nodes where any given resource is deployed"`
	Exclude     []string `query:"exclude,explode" doc:"do not use the given nodes"`
	IncludeCtrl bool     `query:"include-ctrl" default:"true" doc:"include the controller's part"`
	Since       int64    `query:"since" doc:"error reports and workflows from this time on (ms since the epoch); default the last day"`
}

// sosWait bounds how long a request waits for its report.
const sosWait = 5 * time.Minute

// registerSOSReport serves sos-report create (the report stays in the
// controller's data directory, sos-reports/) and download (it is sent).
// Each report is a workflow; a node whose agent cannot be asked gets a
// note in the report instead of failing it.
func (s *server) registerSOSReport(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "createSOSReport", Method: http.MethodGet, Path: "/v1/sos-report", DefaultStatus: http.StatusCreated,
		Summary: "create an SOS report on the controller", Tags: []string{"developers"}},
		func(ctx context.Context, in *SOSReportQuery) (*rcOutput, error) {
			res, id, err := s.sosReport(ctx, in)
			if err != nil {
				return nil, err
			}
			out := success(apicall.Created, 0, 0, "SOS Report created on controller: "+res.Path, "", map[string]string{"WorkflowId": id})
			out.Body[0].Details = fmt.Sprintf("Nodes: %s", strings.Join(res.Nodes, ", "))
			return out, nil
		})
	huma.Register(h, huma.Operation{OperationID: "downloadSOSReport", Method: http.MethodGet, Path: "/v1/sos-report/download",
		Summary: "create an SOS report and download it (tar.gz)", Tags: []string{"developers"}},
		func(ctx context.Context, in *SOSReportQuery) (*huma.StreamResponse, error) {
			res, _, err := s.sosReport(ctx, in)
			if err != nil {
				return nil, err
			}
			f, err := os.Open(res.Path)
			if err != nil {
				return nil, apicall.Failure(apicall.FailUnknownError, 0, 0, "The SOS report is not on this controller.", err.Error(),
					"Fetch "+res.Path+" from the controller that made it.")
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				defer f.Close()
				hctx.SetHeader("Content-Type", "application/gzip")
				hctx.SetHeader("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filepath.Base(res.Path)))
				_, _ = io.Copy(hctx.BodyWriter(), f)
			}}, nil
		})
}

// sosReport runs the report's workflow and waits for it.
func (s *server) sosReport(ctx context.Context, in *SOSReportQuery) (workflows.SOSResult, string, error) {
	req := activities.SOSRequest{Name: time.Now().UTC().Format("20060102_150405"), Nodes: splitList(in.Nodes), Resources: splitList(in.Resources),
		Exclude: splitList(in.Exclude), IncludeController: in.IncludeCtrl, Since: in.Since}
	id := workflows.SOSReportID(req.Name)
	r, err := s.start(ctx, id, workflows.SOSReport, req)
	if err != nil {
		return workflows.SOSResult{}, id, apicall.Failure(apicall.FailUnknownError, 0, 0, "The SOS report was not started.", err.Error(), "Check that Temporal runs (GET /health).")
	}
	wctx, cancel := context.WithTimeout(ctx, sosWait)
	defer cancel()
	var res workflows.SOSResult
	if err := r.Get(wctx, &res); err != nil {
		return res, id, apicall.Failure(apicall.FailUnknownError, 0, 0, "The SOS report failed.", err.Error(), "See workflow "+id+" in the Temporal UI.")
	}
	return res, id, nil
}

// splitList reads a list given as repeated parameters, comma-separated
// values or both.
func splitList(in []string) []string {
	var out []string
	for _, v := range in {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
