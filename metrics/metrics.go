// Package metrics is what the controller serves at /metrics for
// Prometheus: the cluster under LINSTOR's exporter names (node, resource
// and volume state, storage-pool capacity, error reports), and Strata's
// own (REST request durations, workflows by type and state).
package metrics

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Cluster is what one scrape reports of the cluster.
type Cluster struct {
	Version      string
	Nodes        []Node
	Definitions  []Definition
	Resources    []Resource
	Pools        []Pool
	ErrorReports []ErrorReport
	// Workflows counts the workflows by type and status (Running,
	// Failed).
	Workflows map[[2]string]int
}

// Node is a node and LINSTOR's connection status name (ONLINE, ...).
type Node struct {
	Name, Type, Connection string
}

// Definition is a resource definition: its group, its resources and
// its volume sizes by number.
type Definition struct {
	Name, Group string
	Resources   int
	VolumeBytes map[int32]int64
}

// Resource is a resource on a node: in use (nil: not known) and its
// volumes.
type Resource struct {
	Name, Node string
	InUse      *bool
	Diskless   bool
	Volumes    []Volume
}

// Volume is a resource's volume: its disk state and allocated bytes (nil:
// not known).
type Volume struct {
	Number         int32
	DevicePath     string
	Pool           string
	DiskState      string
	AllocatedBytes *int64
}

// Pool is a storage pool with its capacity in bytes (nil: not known) and
// how many errors its node reports of it.
type Pool struct {
	Name, Node, Driver, Backing string
	FreeBytes, TotalBytes       *int64
	Errors                      int
}

// ErrorReport is one error report's node and module.
type ErrorReport struct {
	Node, Module string
}

// connectionStates are LINSTOR's ApiConsts.ConnectionStatus, in order:
// linstor_node_state is the index.
var connectionStates = []string{"OFFLINE", "CONNECTED", "ONLINE", "VERSION_MISMATCH", "FULL_SYNC_FAILED", "AUTHENTICATION_ERROR",
	"UNKNOWN", "HOSTNAME_MISMATCH", "OTHER_CONTROLLER", "AUTHENTICATED", "NO_STLT_CONN"}

// volumeStates are LINSTOR's exporter values of a volume's disk state.
var volumeStates = map[string]float64{"uptodate": 1, "created": 2, "attached": 3, "diskless": 4, "inconsistent": 5, "failed": 6,
	"to: creating": 7, "to: attachable": 8, "to: attaching": 9, "diskless(detached)": 90}

func help(values []string) string {
	var b strings.Builder
	for i, v := range values {
		b.WriteString(strconv.Itoa(i) + "=\"" + v + "\", ")
	}
	return strings.TrimSuffix(b.String(), ", ")
}

var (
	infoDesc         = prometheus.NewDesc("linstor_info", "Strata's version, under LINSTOR's name.", []string{"version"}, nil)
	nodeStateDesc    = prometheus.NewDesc("linstor_node_state", help(connectionStates), []string{"node", "nodetype"}, nil)
	rdCountDesc      = prometheus.NewDesc("linstor_resource_definition_count", "Number of resource definitions.", nil, nil)
	rdResourcesDesc  = prometheus.NewDesc("linstor_resource_definition_resource_count", "Number of resources of each resource definition.", []string{"name", "resource_group"}, nil)
	vdSizeDesc       = prometheus.NewDesc("linstor_volume_definition_size_bytes", "Size of each volume definition.", []string{"name", "volume_number", "resource_group"}, nil)
	rscStateDesc     = prometheus.NewDesc("linstor_resource_state", `-1="unknown state", 0="secondary", 1="primary"`, []string{"name", "node"}, nil)
	vlmStateDesc     = prometheus.NewDesc("linstor_volume_state", `-1="DUnknown", 1="UpToDate", 2="Created", 3="Attached", 4="Diskless", 5="Inconsistent", 6="Failed", 7="To: Creating", 8="To: Attachable", 9="To: Attaching", 90="Diskless(Detached)"`, []string{"resource", "node", "volume", "device_path", "storage_pool"}, nil)
	vlmAllocatedDesc = prometheus.NewDesc("linstor_volume_allocated_size_bytes", "Storage allocated for each volume.", []string{"resource", "node", "volume", "device_path", "storage_pool"}, nil)
	poolFreeDesc     = prometheus.NewDesc("linstor_storage_pool_capacity_free_bytes", "Free capacity of each storage pool.", []string{"storage_pool", "node", "driver", "backing_pool"}, nil)
	poolTotalDesc    = prometheus.NewDesc("linstor_storage_pool_capacity_total_bytes", "Total capacity of each storage pool.", []string{"storage_pool", "node", "driver", "backing_pool"}, nil)
	poolErrorsDesc   = prometheus.NewDesc("linstor_storage_pool_error_count", "Errors the node reports of each storage pool.", []string{"storage_pool", "node", "driver", "backing_pool"}, nil)
	errorsDesc       = prometheus.NewDesc("linstor_error_reports_count", "Error reports, by node and module.", []string{"hostname", "module"}, nil)
	scrapeDesc       = prometheus.NewDesc("linstor_scrape_duration_seconds", "How long reading the cluster for this scrape took.", nil, nil)
	workflowsDesc    = prometheus.NewDesc("strata_workflows", "Workflows by type and status (Running, or Failed within Temporal's retention).", []string{"type", "status"}, nil)
)

// ClusterCollector reports the cluster that read returns at each scrape.
type ClusterCollector struct {
	Read func(ctx context.Context) (Cluster, error)
}

// Describe sends every metric's description.
func (c ClusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{infoDesc, nodeStateDesc, rdCountDesc, rdResourcesDesc, vdSizeDesc, rscStateDesc, vlmStateDesc, vlmAllocatedDesc,
		poolFreeDesc, poolTotalDesc, poolErrorsDesc, errorsDesc, scrapeDesc, workflowsDesc} {
		ch <- d
	}
}

// Collect reads the cluster and sends its metrics; a cluster that cannot
// be read is reported as an invalid metric, which fails the scrape.
func (c ClusterCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := c.Read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(infoDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	bytes := func(b *int64) float64 {
		if b == nil {
			return math.NaN()
		}
		return float64(*b)
	}
	gauge(infoDesc, 1, cl.Version)
	for _, n := range cl.Nodes {
		state := 6.0 // UNKNOWN
		for i, s := range connectionStates {
			if s == n.Connection {
				state = float64(i)
			}
		}
		gauge(nodeStateDesc, state, n.Name, strings.ToUpper(n.Type))
	}
	gauge(rdCountDesc, float64(len(cl.Definitions)))
	for _, d := range cl.Definitions {
		gauge(rdResourcesDesc, float64(d.Resources), d.Name, d.Group)
		for nr, b := range d.VolumeBytes {
			gauge(vdSizeDesc, float64(b), d.Name, strconv.Itoa(int(nr)), d.Group)
		}
	}
	for _, r := range cl.Resources {
		state := -1.0
		if r.InUse != nil {
			state = map[bool]float64{true: 1, false: 0}[*r.InUse]
		}
		gauge(rscStateDesc, state, r.Name, r.Node)
		for _, v := range r.Volumes {
			labels := []string{r.Name, r.Node, strconv.Itoa(int(v.Number)), v.DevicePath, v.Pool}
			disk := strings.ToLower(v.DiskState)
			if disk == "diskless" && !r.Diskless {
				disk = "diskless(detached)"
			}
			state, ok := volumeStates[disk]
			if !ok {
				state = -1
			}
			gauge(vlmStateDesc, state, labels...)
			gauge(vlmAllocatedDesc, bytes(v.AllocatedBytes), labels...)
		}
	}
	for _, p := range cl.Pools {
		labels := []string{p.Name, p.Node, p.Driver, p.Backing}
		free, total := bytes(p.FreeBytes), bytes(p.TotalBytes)
		if p.Driver == "DISKLESS" {
			free, total = 0, 0
		}
		gauge(poolFreeDesc, free, labels...)
		gauge(poolTotalDesc, total, labels...)
		gauge(poolErrorsDesc, float64(p.Errors), labels...)
	}
	counts := map[ErrorReport]int{}
	for _, e := range cl.ErrorReports {
		counts[e]++
	}
	for e, n := range counts {
		gauge(errorsDesc, float64(n), e.Node, e.Module)
	}
	for k, n := range cl.Workflows {
		gauge(workflowsDesc, float64(n), k[0], k[1])
	}
	gauge(scrapeDesc, time.Since(start).Seconds())
}

// REST measures the REST API's requests by route.
type REST struct {
	durations *prometheus.HistogramVec
}

// NewREST makes the measure of REST requests.
func NewREST() *REST {
	return &REST{durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "strata_rest_request_duration_seconds", Help: "Duration of REST API requests, by method, route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"method", "route", "code"})}
}

// Middleware measures each request under its route's pattern (so that
// names in paths do not make a series each).
func (m *REST) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(rec, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.durations.WithLabelValues(r.Method, route, strconv.Itoa(cmp.Or(rec.Status(), http.StatusOK))).Observe(time.Since(start).Seconds())
	})
}

// What the controller's steps measure as they go (activities run in the
// controller that serves /metrics).
var (
	// AgentPush is how long sending a node its state took, by result.
	AgentPush = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "strata_agent_push_duration_seconds", Help: "Duration of sending a node its desired state and receiving its report, by result (ok, error).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"result"})
	// BackupBytes counts the bytes backups moved, by direction: read
	// (from a snapshot or the bucket) and sent (to the bucket).
	BackupBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "strata_backup_bytes_total", Help: "Bytes moved by backups and restores, by direction (read, sent).",
	}, []string{"direction"})
)

// Handler serves the registry's metrics with the Go runtime's and the
// process's.
func Handler(cs ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), AgentPush, BackupBytes,
		WorkflowDurations, WorkflowsEnded)
	reg.MustRegister(cs...)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

// Describe and Collect make REST a collector.
func (m *REST) Describe(ch chan<- *prometheus.Desc) { m.durations.Describe(ch) }

// Collect sends the durations.
func (m *REST) Collect(ch chan<- prometheus.Metric) { m.durations.Collect(ch) }
