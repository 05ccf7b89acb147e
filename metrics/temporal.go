package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

var (
	// WorkflowDurations is how long workflows ran, start to end, by type.
	WorkflowDurations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "strata_workflow_duration_seconds", Help: "Duration of workflows from start to end, by type.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"type"})
	// WorkflowsEnded counts the workflows that ended, by type and result.
	WorkflowsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "strata_workflows_ended_total", Help: "Workflows that ended, by type and result (completed, failed).",
	}, []string{"type", "result"})
)

// Temporal is the Temporal SDK's metrics handler of the controller's
// worker: of what the SDK measures it keeps the workflows' end-to-end
// latency and their ends, by workflow type, and drops the rest.
type Temporal struct {
	tags map[string]string
}

var _ client.MetricsHandler = Temporal{}

// WithTags returns a handler with the tags added.
func (t Temporal) WithTags(tags map[string]string) client.MetricsHandler {
	merged := map[string]string{}
	for k, v := range t.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return Temporal{tags: merged}
}

// Counter counts the SDK's workflow completions and failures.
func (t Temporal) Counter(name string) client.MetricsCounter {
	result := map[string]string{"temporal_workflow_completed": "completed", "temporal_workflow_failed": "failed"}[name]
	if result == "" || t.tags["workflow_type"] == "" {
		return client.MetricsNopHandler.Counter(name)
	}
	c := WorkflowsEnded.WithLabelValues(t.tags["workflow_type"], result)
	return counterFunc(func(n int64) { c.Add(float64(n)) })
}

// Gauge drops the SDK's gauges.
func (t Temporal) Gauge(name string) client.MetricsGauge { return client.MetricsNopHandler.Gauge(name) }

// Timer records the SDK's end-to-end workflow latency.
func (t Temporal) Timer(name string) client.MetricsTimer {
	if name != "temporal_workflow_endtoend_latency" || t.tags["workflow_type"] == "" {
		return client.MetricsNopHandler.Timer(name)
	}
	h := WorkflowDurations.WithLabelValues(t.tags["workflow_type"])
	return timerFunc(func(d time.Duration) { h.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
