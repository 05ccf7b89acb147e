package activities

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"strata/logring"
	"strata/store"
)

// SOSSources are what the controller's part of an SOS report comes from
// besides the database and Temporal.
type SOSSources struct {
	// Dir receives the reports (sos_<name>.tar.gz).
	Dir string
	// Version and Config (redacted of its secrets) describe the controller.
	Version, Config string
	// Log holds the controller's recent log lines.
	Log *logring.Ring
}

// SOSRequest selects what a report holds, as LINSTOR's sos-report does:
// the nodes named, or those holding one of the resources named, less the
// excluded; the controller's part unless told not to; error reports and
// workflows since Since (ms since the epoch; 0: the last day).
type SOSRequest struct {
	Name              string   `json:"name"`
	Nodes             []string `json:"nodes,omitempty"`
	Resources         []string `json:"resources,omitempty"`
	Exclude           []string `json:"exclude,omitempty"`
	IncludeController bool     `json:"include_controller"`
	Since             int64    `json:"since,omitempty"`
}

// SOSPart is one node's part of a report.
type SOSPart struct {
	Name string `json:"name"`
	Node string `json:"node"`
}

func (a *Activities) sosStaging(name string) string { return filepath.Join(a.SOS.Dir, "."+name) }

// SOSNodes are the nodes a report covers.
func (a *Activities) SOSNodes(ctx context.Context, in SOSRequest) ([]string, error) {
	names := in.Nodes
	if len(in.Resources) > 0 {
		rs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: in.Resources})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			names = append(names, r.NodeDspName)
		}
	} else if len(names) == 0 {
		nodes, err := a.Store.ListNodes(ctx, nil)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			names = append(names, n.NodeDspName)
		}
	}
	var out []string
	for _, n := range names {
		if !slices.ContainsFunc(in.Exclude, func(x string) bool { return strings.EqualFold(x, n) }) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// SOSController writes the controller's part: its version, configuration
// and log, the database (secrets redacted), the error reports and the
// recent workflows' histories (events without their payloads, which may
// carry what users sent).
func (a *Activities) SOSController(ctx context.Context, in SOSRequest) error {
	dir := filepath.Join(a.sosStaging(in.Name), "controller")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	write := func(name string, text string) error {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600)
	}
	if err := write("version.txt", a.SOS.Version+"\n"); err != nil {
		return err
	}
	if err := write("strata.toml", a.SOS.Config); err != nil {
		return err
	}
	if a.SOS.Log != nil {
		if err := write("controller.log", string(a.SOS.Log.Bytes())); err != nil {
			return err
		}
	}
	var db strings.Builder
	enc := json.NewEncoder(&db)
	enc.SetEscapeHTML(false) // <redacted> reads as it is
	if err := a.Store.DumpTables(ctx, func(table string, rows []map[string]any) error {
		if table == "error_reports" {
			return nil // in error-reports/
		}
		fmt.Fprintf(&db, "-- %s (%d rows)\n", table, len(rows))
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := write("database.jsonl", db.String()); err != nil {
		return err
	}
	since := in.Since
	if since == 0 {
		since = time.Now().Add(-24 * time.Hour).UnixMilli()
	}
	reports, err := a.Store.ErrorReports(ctx, store.ErrorReportFilter{Since: since})
	if err != nil {
		return err
	}
	for _, r := range reports {
		if err := write("error-reports/"+r.ID+".txt", r.Text); err != nil {
			return err
		}
	}
	return a.sosWorkflows(ctx, time.UnixMilli(since), write)
}

// sosWorkflows writes the histories of the workflows started since, up
// to the latest 200.
func (a *Activities) sosWorkflows(ctx context.Context, since time.Time, write func(name, text string) error) error {
	list, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("StartTime > '%s'", since.UTC().Format(time.RFC3339)), PageSize: 200})
	if err != nil {
		return write("workflows/unavailable.txt", "Temporal did not list the workflows: "+err.Error()+"\n")
	}
	var index strings.Builder
	for _, e := range list.Executions {
		id, run := e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
		fmt.Fprintf(&index, "%s\t%s\t%s\t%s\n", e.GetStartTime().AsTime().Format(time.RFC3339), e.GetType().GetName(), e.GetStatus(), id)
		var h strings.Builder
		it := a.Temporal.GetWorkflowHistory(ctx, id, run, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				fmt.Fprintf(&h, "(history ends: %v)\n", err)
				break
			}
			fmt.Fprintf(&h, "%d\t%s\t%s", ev.GetEventId(), ev.GetEventTime().AsTime().Format(time.RFC3339Nano), ev.GetEventType())
			if at := ev.GetActivityTaskScheduledEventAttributes(); at != nil {
				fmt.Fprintf(&h, "\t%s", at.GetActivityType().GetName())
			}
			if f := failureOf(ev); f != "" {
				fmt.Fprintf(&h, "\t%s", f)
			}
			h.WriteString("\n")
		}
		if err := write("workflows/"+fileName(id)+".txt", h.String()); err != nil {
			return err
		}
	}
	return write("workflows/index.txt", index.String())
}

// failureOf is the failure message an event carries, if any.
func failureOf(ev *historypb.HistoryEvent) string {
	switch {
	case ev.GetActivityTaskFailedEventAttributes() != nil:
		return ev.GetActivityTaskFailedEventAttributes().GetFailure().GetMessage()
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		return ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
	case ev.GetWorkflowTaskFailedEventAttributes() != nil:
		return ev.GetWorkflowTaskFailedEventAttributes().GetFailure().GetMessage()
	}
	return ""
}

// SOSNode writes a node's part, as its agent collects it; a node whose
// agent cannot be asked gets a note saying why.
func (a *Activities) SOSNode(ctx context.Context, in SOSPart) error {
	dir := filepath.Join(a.sosStaging(in.Name), "nodes", fileName(in.Node))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rep, err := a.Agents.SOSReport(ctx, in.Node)
	if err != nil {
		return os.WriteFile(filepath.Join(dir, "unreachable.txt"), []byte("The node's agent could not be asked: "+err.Error()+"\n"), 0o600)
	}
	for name, text := range rep.Files {
		p := filepath.Join(dir, filepath.FromSlash(filepath.Clean("/" + name))[1:])
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// SOSPack makes the report's tarball of its staging directory and returns
// its path; the staging directory goes.
func (a *Activities) SOSPack(ctx context.Context, name string) (string, error) {
	staging := a.sosStaging(name)
	path := filepath.Join(a.SOS.Dir, "sos_"+name+".tar.gz")
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	if err := filepath.WalkDir(staging, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(staging, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "sos_" + name + "/" + filepath.ToSlash(rel), Mode: 0o600, Size: info.Size(), ModTime: info.ModTime()}); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	}); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, os.RemoveAll(staging)
}

// fileName makes a name safe as one path element.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, s)
}
