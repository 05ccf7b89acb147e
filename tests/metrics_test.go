package tests

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
)

// metricValue is the value of the metric family's sample whose labels
// include want; ok is false when there is none.
func metricValue(mf *dto.MetricFamily, want map[string]string) (float64, bool) {
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// /metrics reports the cluster under LINSTOR's exporter names and
// Strata's own, in a format that promtool's linter (promlint, what
// `promtool check metrics` runs) finds no fault in.
func TestMetrics(t *testing.T) {
	c, dirs, _, _ := snapshotCluster(t)
	for range 3 {
		resp, err := http.Get(c.URL + "/v1/resource-definitions/db")
		require.NoError(t, err)
		resp.Body.Close()
	}
	// A snapshot whose take the frozen file system holds: a workflow
	// that runs while the metrics are read.
	freeze(t, filepath.Dir(dirs["alpha"]), true)
	start(t, c, http.MethodPost, "/v1/resource-definitions/db/snapshots", map[string]any{"name": "held"})

	var body string
	var families map[string]*dto.MetricFamily
	eventually(t, 30*time.Second, "every volume reported UpToDate", func() bool {
		resp, err := http.Get(c.URL + "/metrics")
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
		body = string(raw)
		var parser expfmt.TextParser
		families, err = parser.TextToMetricFamilies(strings.NewReader(body))
		require.NoError(t, err)
		n := 0
		for _, m := range families["linstor_volume_state"].GetMetric() {
			if m.GetGauge().GetValue() == 1 {
				n++
			}
		}
		return n == 3 && families["strata_workflows"] != nil
	})
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	require.NoError(t, err)
	for _, p := range problems {
		// LINSTOR's own names end in _count on gauges; dashboards and
		// alerts use them, so they stay, and are the only finding.
		require.True(t, strings.HasPrefix(p.Metric, "linstor_") && strings.Contains(p.Text, `should not have "_count" suffix`), "promtool check metrics: %+v", p)
	}

	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		mf, ok := families[name]
		require.True(t, ok, "%s is reported", name)
		v, ok := metricValue(mf, labels)
		require.True(t, ok, "%s%v is reported", name, labels)
		return v
	}
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		require.Equal(t, 2.0, value("linstor_node_state", map[string]string{"node": n, "nodetype": "SATELLITE"}), "ONLINE is 2")
		require.Positive(t, value("linstor_storage_pool_capacity_total_bytes", map[string]string{"node": n, "storage_pool": "pool1", "driver": "FILE_THIN"}))
		require.Positive(t, value("linstor_storage_pool_capacity_free_bytes", map[string]string{"node": n, "storage_pool": "pool1"}))
	}
	require.Equal(t, 1.0, value("linstor_resource_definition_count", nil))
	require.Equal(t, 3.0, value("linstor_resource_definition_resource_count", map[string]string{"name": "db", "resource_group": "db3"}))
	require.Equal(t, float64(64<<20), value("linstor_volume_definition_size_bytes", map[string]string{"name": "db", "volume_number": "0"}))
	// As the resource view says it: in use 1, not 0, not reported -1
	// (storage-only resources carry no state yet).
	var view []struct {
		Node  string `json:"node_name"`
		State *struct {
			InUse *bool `json:"in_use"`
		} `json:"state"`
	}
	_, err = c.Do(context.Background(), http.MethodGet, "/v1/view/resources?resources=db", nil, &view)
	require.NoError(t, err)
	require.Len(t, view, 3)
	for _, r := range view {
		want := -1.0
		if r.State != nil && r.State.InUse != nil {
			want = map[bool]float64{true: 1, false: 0}[*r.State.InUse]
		}
		require.Equal(t, want, value("linstor_resource_state", map[string]string{"name": "db", "node": r.Node}), r.Node)
	}
	require.Equal(t, 1.0, value("linstor_info", nil))
	require.GreaterOrEqual(t, value("strata_rest_request_duration_seconds", map[string]string{"method": "GET", "route": "/v1/resource-definitions/{resource}", "code": "200"}), 3.0,
		"requests counted under their route, not their path")
	require.Equal(t, 1.0, value("strata_workflows", map[string]string{"type": "SnapshotCreate", "status": "Running"}))
	freeze(t, filepath.Dir(dirs["alpha"]), false)
	require.Positive(t, value("strata_agent_push_duration_seconds", map[string]string{"result": "ok"}), "the pushes that deployed db")
	require.Positive(t, value("strata_workflow_duration_seconds", map[string]string{"type": "Spawn"}), "the spawn of db")
	require.Positive(t, value("strata_workflows_ended_total", map[string]string{"type": "Spawn", "result": "completed"}))
	_, ok := families["go_goroutines"]
	require.True(t, ok, "the Go runtime's")
}

// scrape reads the controller's /metrics.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}
