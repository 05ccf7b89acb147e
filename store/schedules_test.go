package store

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// scheduledSnapshot is a snapshot the schedule shipped to s3r: full when
// full is its own name, else incremental on that full one.
func scheduledSnapshot(name, full, status string, start int64) Snapshot {
	key := func(k string) string { return BackupSourceKey("s3r", k) }
	return Snapshot{SnapshotDefinitionRow: SnapshotDefinitionRow{SnapshotName: Key(name), SnapshotDspName: name}, Props: map[string]string{
		KeyBackupShippedBySchedule: "nightly", key(KeyBackupTargetRemote): "s3r", key(KeyLastFullBackupTimestamp): full,
		key(KeyShippingStatus): status, key(KeyBackupStartTimestamp): strconv.FormatInt(start, 10)}}
}

// keep-local counts the snapshots of full backups: past it, the failed
// ones go first, then the oldest, each after its incremental ones, and
// every one past it goes (LINSTOR deletes only one per run).
func TestScheduledSnapshotsBeyondKeep(t *testing.T) {
	snaps := []Snapshot{
		scheduledSnapshot("f1", "f1", ShippingSuccess, 100),
		scheduledSnapshot("i1", "f1", ShippingSuccess, 150),
		scheduledSnapshot("f2", "f2", ShippingFailed, 300),
		scheduledSnapshot("f3", "f3", ShippingSuccess, 400),
		scheduledSnapshot("i3", "f3", ShippingSuccess, 450),
		scheduledSnapshot("f4", "f4", ShippingSuccess, 500),
		{SnapshotDefinitionRow: SnapshotDefinitionRow{SnapshotName: "manual", SnapshotDspName: "manual"}},
	}
	require.Equal(t, []string{"f2", "i1", "f1", "i3", "f3"}, ScheduledSnapshotsBeyondKeep(snaps, "s3r", "nightly", 1))
	require.Equal(t, []string{"f2"}, ScheduledSnapshotsBeyondKeep(snaps, "s3r", "nightly", 3))
	require.Empty(t, ScheduledSnapshotsBeyondKeep(snaps, "s3r", "nightly", 4))
	require.Empty(t, ScheduledSnapshotsBeyondKeep(snaps, "s3r", "weekly", 0), "another schedule's")
	require.Empty(t, ScheduledSnapshotsBeyondKeep(snaps, "other", "nightly", 0), "another remote's")
}
