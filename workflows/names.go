// Package workflows holds Strata's Temporal workflows. Workflow code is
// deterministic: no I/O, no clocks, no randomness; all effects are
// activities. This file names everything a client of the workflows
// uses: the task queue, the workflow ids, the query and the signal.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"strata/apicall"
	"strata/store"
)

// TaskQueue is where the controllers' workers take Strata's workflows from.
const TaskQueue = "strata-controller"

// StatusQuery is the query every Strata workflow answers with its
// progress.
const StatusQuery = "status"

// Status is a workflow's progress as reported by StatusQuery.
type Status struct {
	State   string `json:"state"`
	Percent int    `json:"percent"`
	// Accepted is the answer of a long operation's request, given once
	// the operation is under way (a backup: once its snapshot is taken).
	Accepted apicall.RcList `json:"accepted,omitempty"`
	// Bytes moved of the total, and the rate over the last report, for
	// operations that move data.
	DoneBytes      int64 `json:"done_bytes,omitempty"`
	TotalBytes     int64 `json:"total_bytes,omitempty"`
	BytesPerSecond int64 `json:"bytes_per_second,omitempty"`
	// Items done of the total, and those under way, for operations on
	// many objects (an evacuation's resources).
	ItemsDone  int      `json:"items_done,omitempty"`
	ItemsTotal int      `json:"items_total,omitempty"`
	Current    []string `json:"current,omitempty"`
}

// DeploySignal tells a running Deploy of a definition that more of its
// nodes have a new state.
const DeploySignal = "deploy-nodes"

// Workflow ids are deterministic: one operation on an object at a time,
// and a repeated request joins the running one instead of doubling it.
// Names compare case-insensitively, so ids use them lower-cased; ':'
// (in no name) separates the parts and keeps ids whole in a URL path
// (/v1/operations/{id}).

// ToggleDiskID names the toggle-disk of a resource to diskful or to
// diskless (both may be asked for at once; they queue on the
// definition's lock).
func ToggleDiskID(rd, node string, diskful bool) string {
	return id("toggle-disk", rd, node, map[bool]string{true: "diskful", false: "diskless"}[diskful])
}

// MakeAvailableID names the make-available of a definition on a node,
// diskful or not.
func MakeAvailableID(rd, node string, diskful bool) string {
	return id("make-available", rd, node, map[bool]string{true: "diskful", false: "any"}[diskful])
}

// CloneID names the clone of a definition into target.
func CloneID(target string) string { return id("clone", target) }

// ActivateID names the activate or the deactivate of a resource.
func ActivateID(rd, node string, active bool) string {
	return id(map[bool]string{true: "activate", false: "deactivate"}[active], rd, node)
}

// AutoplaceID names the placement of a definition's replicas, or a dry
// run of it.
func AutoplaceID(rd string, dryRun bool) string { return id("autoplace", rd) + dryRunSuffix(dryRun) }

// SpawnID names a resource-group spawn of a definition, or a dry run of
// it.
func SpawnID(rd string, dryRun bool) string { return id("spawn", rd) + dryRunSuffix(dryRun) }

func dryRunSuffix(dryRun bool) string {
	if dryRun {
		return ":dry-run"
	}
	return ""
}

// ResourceCreateID names the creation of a definition's resources on
// nodes.
func ResourceCreateID(rd string, nodes []string) string {
	return id("resource-create", rd, sortedList(nodes))
}

// ResourceDeleteID names the delete of a resource.
func ResourceDeleteID(rd, node string) string { return id("resource-delete", rd, node) }

// ResourceDefinitionDeleteID names the delete of a definition.
func ResourceDefinitionDeleteID(rd string) string { return id("resource-definition-delete", rd) }

// NodeDeleteID names the delete (or lost) of a node.
func NodeDeleteID(node string) string { return id("node-delete", node) }

// DeployID names the deployment of a definition's changes to its nodes.
func DeployID(rd string) string { return id("deploy", rd) }

// NodeEvacuateID names a node's evacuation: evacuate again while it
// runs joins it.
func NodeEvacuateID(node string) string { return id("node-evacuate", node) }

// NodeEvictID names a node's eviction (node evict, or its auto-evict
// timer's end).
func NodeEvictID(node string) string { return id("node-evict", node) }

// AutoEvictID names the auto-evict timer of an offline node.
func AutoEvictID(node string) string { return id("auto-evict", node) }

// MigrateDiskID names the migrate-disk of a resource to node.
func MigrateDiskID(rd, node string) string { return id("migrate-disk", rd, node) }

// AutoDiskfulID names the auto-diskful of a definition's diskless
// resource on a node.
func AutoDiskfulID(rd, node string) string { return id("auto-diskful", rd, node) }

// AutoDiskfulWatchID names the one watch of the diskless Primaries.
const AutoDiskfulWatchID = "auto-diskful-watch"

// NodeRestoreID names a node's restore.
func NodeRestoreID(node string) string { return id("node-restore", node) }

// ResourceEvacuateID names the move of one resource off an evacuated
// node.
func ResourceEvacuateID(node, rd string) string { return id("evacuate", node, rd) }

// NodeSyncID names the one sync of a node at a time.
func NodeSyncID(node string) string { return id("node-sync", node) }

// PoolSyncID names the push that follows a storage pool's create: its
// own run, so that it does not join a node sync that read the node's
// state before the pool was there.
func PoolSyncID(node, pool string) string { return id("node-sync", node, "pool", pool) }

// PhysicalStorageID names a listing of the nodes' unused disks.
func PhysicalStorageID(nodes []string) string { return id("physical-storage", sortedList(nodes)) }

// DevicePoolID names the creation of a device pool on a node.
func DevicePoolID(node, pool string) string { return id("device-pool", node, pool) }

// DatabaseBackupID names the one workflow that writes a backup of that
// name.
func DatabaseBackupID(name string) string { return "controller-backup-db:" + name }

// SnapshotCreateID names the create of snapshots: one, or several
// taken together.
func SnapshotCreateID(refs []store.SnapshotRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.Resource + ":" + r.Snapshot
	}
	return id("snapshot-create", sortedList(parts))
}

// SnapshotDeleteID names the delete of a snapshot (on some nodes).
func SnapshotDeleteID(rd, snap string, nodes []string) string {
	if len(nodes) > 0 {
		return id("snapshot-delete", rd, snap, sortedList(nodes))
	}
	return id("snapshot-delete", rd, snap)
}

// SnapshotRestoreID names the restore of a snapshot into a definition:
// one at a time per target.
func SnapshotRestoreID(to string) string { return id("snapshot-restore", to) }

// SnapshotRollbackID names the rollback of a definition.
func SnapshotRollbackID(rd string) string { return id("snapshot-rollback", rd) }

// AutoSnapshotScheduleID names the Temporal Schedule of a definition's
// automatic snapshots; its runs' ids start with AutoSnapshotRunID.
func AutoSnapshotScheduleID(rd string) string { return id("auto-snapshot", rd) }

// AutoSnapshotRunID starts the ids of a definition's automatic snapshot
// runs (the schedule appends each run's time).
func AutoSnapshotRunID(rd string) string { return id("auto-snapshot-run", rd) }

// AutoSnapshotSchedulesID names the one workflow that makes the
// schedules match the AutoSnapshot/* properties.
const AutoSnapshotSchedulesID = "auto-snapshot-schedules"

// AutoSnapshotSchedulesSignal tells it that the properties changed again.
const AutoSnapshotSchedulesSignal = "auto-snapshot-properties-changed"

// BackupScheduleID names the Temporal Schedule of a definition's
// shipping to a remote on a schedule; every such id starts with
// BackupSchedulePrefix.
func BackupScheduleID(rd, remote, schedule string) string {
	return id("backup-schedule", rd, remote, schedule)
}

// BackupSchedulePrefix starts the id of every Temporal Schedule of
// scheduled shipping.
const BackupSchedulePrefix = "backup-schedule:"

// ScheduledBackupRunPrefix starts the ids of scheduled shipments'
// runs, followed by definition, remote and schedule (the schedule
// appends each run's time).
const ScheduledBackupRunPrefix = "scheduled-backup:"

// BackupSchedulesID names the one workflow that makes the Temporal
// Schedules of scheduled shipping match the database.
const BackupSchedulesID = "backup-schedules"

// BackupSchedulesSignal tells it that schedules changed again.
const BackupSchedulesSignal = "backup-schedules-changed"

// sortedList is names in order, comma-separated: one id however the
// request ordered them.
func sortedList(names []string) string {
	names = append([]string(nil), names...)
	sort.Strings(names)
	return strings.Join(names, ",")
}

func id(op string, names ...string) string {
	return op + ":" + strings.ToLower(strings.Join(names, ":"))
}

// BackupCreateID names the backup of a snapshot to a remote; it starts
// with BackupCreatePrefix.
func BackupCreateID(remote, rd, snap string) string { return id("backup-create", remote, rd, snap) }

// BackupCreatePrefix starts every BackupCreateID, followed by remote,
// definition and snapshot, lower-cased.
const BackupCreatePrefix = "backup-create:"

// BackupShipID names the shipment of a snapshot to a LINSTOR remote; it
// starts with BackupShipPrefix.
func BackupShipID(remote, rd, snap string) string { return id("backup-ship", remote, rd, snap) }

// BackupShipPrefix starts every BackupShipID, followed by remote,
// definition and snapshot, lower-cased.
const BackupShipPrefix = "backup-ship:"

// BackupReceiveID names the receive of a snapshot shipped from the
// cluster with the id into a definition.
func BackupReceiveID(cluster, rd, snap string) string { return id("backup-receive", cluster, rd, snap) }

// BackupRestoreID names the restore of a backup into a definition.
func BackupRestoreID(remote, target string) string { return id("backup-restore", remote, target) }

// BackupDeleteID names a delete of backups from a remote: the same
// request joins a running one.
func BackupDeleteID(remote string, q any) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%+v", q)))
	return id("backup-delete", remote, hex.EncodeToString(sum[:8]))
}
