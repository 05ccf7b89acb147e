package backups

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"strata/agent/proto/bucket"
	"strata/apicall"
	"strata/store"
)

// DeleteQuery is LINSTOR's choice of backups to delete.
type DeleteQuery struct {
	ID, IDPrefix, Timestamp, ResourceName, NodeName, S3Key string
	Cascading, All, AllLocalCluster, DryRun, KeepSnaps     bool
}

// Check refuses what LINSTOR refuses: no choice, or more than one kind
// of choice (the time stamp, resource and node filters are one kind).
func (q DeleteQuery) Check() error {
	kinds := 0
	for _, set := range []bool{q.ID != "", q.IDPrefix != "", q.S3Key != "", q.Timestamp != "" || q.ResourceName != "" || q.NodeName != "", q.All, q.AllLocalCluster} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		return &apicall.Refused{Code: apicall.FailInvldRequest, Message: "You have to specify which backups you want to delete. Use 'all' to delete all backups in the specified bucket"}
	case kinds > 1:
		return &apicall.Refused{Code: apicall.FailInvldRequest, Message: "Too many parameters given. Use either id, id_prefix, s3key, any combination of timestamp, resource_name and node_name, all or all_local_cluster."}
	}
	if q.Timestamp != "" {
		if _, err := time.ParseInLocation(bucket.BackupIDFormat, q.Timestamp, time.Local); err != nil {
			return &apicall.Refused{Code: apicall.FailInvldRequest, Message: fmt.Sprintf("The timestamp '%s' is not of the form yyyyMMdd_HHmmss.", q.Timestamp)}
		}
	}
	return nil
}

// Select is the backups the query deletes: those it names and, when it
// cascades (all does), every backup based on them. Unlike LINSTOR, a
// backup that others are based on can go alone: in Strata's format every
// backup restores on its own, and Relinked keeps the chain LINSTOR's
// clients read whole.
func (l Listing) Select(q DeleteQuery, clusterID string) ([]*Entry, error) {
	match := func(id string, e *Entry) bool {
		switch {
		case q.ID != "":
			return id == q.ID || id+".meta" == q.ID
		case q.IDPrefix != "":
			return strings.HasPrefix(id, q.IDPrefix)
		case q.S3Key != "":
			return e.Name.MetaKey() == q.S3Key || slices.Contains(slices.Collect(maps.Values(e.DataKeys)), q.S3Key)
		case q.All:
			return true
		case q.AllLocalCluster:
			return e.Meta != nil && e.Meta.ClusterID == clusterID
		}
		if q.ResourceName != "" && !strings.EqualFold(e.Name.Resource, q.ResourceName) {
			return false
		}
		if q.NodeName != "" && (e.Meta == nil || !strings.EqualFold(e.Meta.NodeName, q.NodeName)) {
			return false
		}
		if q.Timestamp != "" {
			before, _ := time.ParseInLocation(bucket.BackupIDFormat, q.Timestamp, time.Local)
			at, err := e.Name.Time(time.Local)
			return err == nil && at.Before(before)
		}
		return true
	}
	chosen := map[string]bool{}
	for id, e := range l.Backups {
		if match(id, e) {
			chosen[id] = true
		}
	}
	if len(chosen) == 0 && (q.ID != "" || q.S3Key != "") {
		return nil, &apicall.Refused{Code: apicall.FailNotFoundBackup, Message: fmt.Sprintf("The backup '%s' does not exist in the given remote.", q.ID+q.S3Key)}
	}
	if q.Cascading || q.All {
		for changed := true; changed; {
			changed = false
			for id, e := range l.Backups {
				if base := l.base(e); !chosen[id] && base != nil && chosen[base.Name.ID()] {
					chosen[id], changed = true, true
				}
			}
		}
	}
	var out []*Entry
	for _, id := range slices.Sorted(maps.Keys(chosen)) {
		out = append(out, l.Backups[id])
	}
	return out, nil
}

// base is the backup e is based on, if the bucket holds it.
func (l Listing) base(e *Entry) *Entry {
	if e.Meta == nil || e.Meta.BasedOn == nil {
		return nil
	}
	n, ok := bucket.ParseMetaKey(*e.Meta.BasedOn)
	if !ok {
		return nil
	}
	return l.Backups[n.ID()]
}

// Relinked are the backups that stay but are based on one that goes,
// each with its meta based on the nearest base that stays (none: it
// becomes the chain's full backup), so that no listed backup names a
// base that is gone.
func (l Listing) Relinked(deleted []*Entry) []*Entry {
	gone := map[*Entry]bool{}
	for _, e := range deleted {
		gone[e] = true
	}
	var out []*Entry
	for _, id := range slices.Sorted(maps.Keys(l.Backups)) {
		e := l.Backups[id]
		base := l.base(e)
		if gone[e] || base == nil || !gone[base] {
			continue
		}
		for base != nil && gone[base] {
			base = l.base(base)
		}
		relinked := *e
		meta := *e.Meta
		meta.BasedOn = nil
		if base != nil {
			key := base.Name.MetaKey()
			meta.BasedOn = &key
		}
		relinked.Meta = &meta
		out = append(out, &relinked)
	}
	return out
}

// ScheduledBeyondKeep are the full backups of rd that schedule shipped,
// oldest first, past the newest keep (LINSTOR's keep_remote); deleted
// with cascading, their incremental backups go too.
func (l Listing) ScheduledBeyondKeep(rd, schedule string, keep int) []*Entry {
	var fulls []*Entry
	for _, e := range l.Backups {
		if e.Meta != nil && e.Meta.BasedOn == nil && strings.EqualFold(e.Name.Resource, rd) &&
			strings.EqualFold(e.Meta.RscDfn.SnapDfnProps[store.KeyBackupShippedBySchedule], schedule) {
			fulls = append(fulls, e)
		}
	}
	if len(fulls) <= keep {
		return nil
	}
	slices.SortFunc(fulls, func(a, b *Entry) int { return strings.Compare(a.Name.BackupID, b.Name.BackupID) })
	return fulls[:len(fulls)-keep]
}
