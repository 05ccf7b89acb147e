// Package worker connects to Temporal and runs the controller's worker:
// the registration of every workflow and activity on Strata's task queue.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"strata/activities"
	"strata/metrics"
	"strata/workflows"
)

// Dial connects to the Temporal frontend at hostPort and checks, within
// timeout, that it answers and knows the namespace.
func Dial(ctx context.Context, hostPort, namespace string, timeout time.Duration, log *slog.Logger) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(log.With("component", "temporal-client")),
		// Workflow durations and ends for /metrics.
		MetricsHandler: metrics.Temporal{},
	})
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", hostPort, err)
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("temporal at %s: namespace %q: %w", hostPort, namespace, err)
	}
	return c, nil
}

// Workflows are every workflow Strata runs.
var Workflows = []any{
	workflows.DatabaseBackup, workflows.NodeSync, workflows.Deploy,
	workflows.ToggleDisk, workflows.Activate, workflows.MakeAvailable, workflows.ResourceCreate, workflows.ResourceDelete, workflows.ResourceDefinitionDelete,
	workflows.Autoplace, workflows.Spawn, workflows.Clone, workflows.NodeDelete,
	workflows.PhysicalStorage, workflows.DevicePool,
	workflows.SnapshotCreate, workflows.SnapshotDelete, workflows.SnapshotRestore, workflows.SnapshotRollback,
	workflows.AutoSnapshot, workflows.AutoSnapshotSchedules,
	workflows.BackupCreate, workflows.BackupDelete, workflows.BackupRestore, workflows.BackupShip, workflows.BackupReceive,
	workflows.BackupSchedules, workflows.ScheduledBackup,
	workflows.SOSReport, workflows.NodeEvacuate, workflows.ResourceEvacuate, workflows.NodeRestore, workflows.AutoEvict, workflows.MigrateDisk, workflows.AutoDiskfulWatch, workflows.AutoDiskful,
}

// Start registers Strata's workflows and activities on taskQueue
// (workflows.TaskQueue; tests use their own) and starts polling.
func Start(c client.Client, taskQueue string, acts *activities.Activities) (worker.Worker, error) {
	w := worker.New(c, taskQueue, worker.Options{})
	for _, wf := range Workflows {
		w.RegisterWorkflow(wf)
	}
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start temporal worker: %w", err)
	}
	return w, nil
}
