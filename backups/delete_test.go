package backups

import (
	"testing"

	"github.com/stretchr/testify/require"

	"strata/agent/proto/bucket"
)

// chain is a listing of a full backup and two incrementals on it.
func chain() (Listing, []*Entry) {
	l := Listing{Backups: map[string]*Entry{}}
	var out []*Entry
	var base *string
	for _, id := range []string{"back_20260101_000000", "back_20260102_000000", "back_20260103_000000"} {
		e := &Entry{Name: bucket.Name{Resource: "db", BackupID: id}, Meta: &bucket.Meta{RscName: "db", BasedOn: base}}
		l.Backups[e.Name.ID()] = e
		key := e.Name.MetaKey()
		base = &key
		out = append(out, e)
	}
	return l, out
}

func TestDeleteTheMiddleOfAChain(t *testing.T) {
	l, c := chain()
	del, err := l.Select(DeleteQuery{ID: c[1].Name.ID()}, "")
	require.NoError(t, err)
	require.Equal(t, []*Entry{c[1]}, del, "alone: every backup restores on its own")
	re := l.Relinked(del)
	require.Len(t, re, 1)
	require.Equal(t, c[2].Name, re[0].Name)
	require.Equal(t, c[0].Name.MetaKey(), *re[0].Meta.BasedOn, "the last is based on the full one now")
	require.Equal(t, c[1].Name.MetaKey(), *c[2].Meta.BasedOn, "the listing itself is not changed")

	del, err = l.Select(DeleteQuery{ID: c[0].Name.ID()}, "")
	require.NoError(t, err)
	re = l.Relinked(del)
	require.Len(t, re, 1)
	require.Nil(t, re[0].Meta.BasedOn, "the first incremental becomes the chain's full backup")

	del, err = l.Select(DeleteQuery{ID: c[0].Name.ID(), Cascading: true}, "")
	require.NoError(t, err)
	require.Equal(t, c, del, "cascading takes the whole chain")
	require.Empty(t, l.Relinked(del))

	del, err = l.Select(DeleteQuery{IDPrefix: "db_back_2026010"}, "")
	require.NoError(t, err)
	require.Len(t, del, 3)
	_, err = l.Select(DeleteQuery{ID: "db_back_20250101_000000"}, "")
	require.ErrorContains(t, err, "The backup 'db_back_20250101_000000' does not exist in the given remote.")
}

// keep-remote counts the full backups the schedule shipped of the
// definition and lets the oldest past it go.
func TestScheduledBeyondKeep(t *testing.T) {
	l := Listing{Backups: map[string]*Entry{}}
	add := func(rd, id, schedule string, basedOn *string) {
		e := &Entry{Name: bucket.Name{Resource: rd, BackupID: id}, Meta: &bucket.Meta{BasedOn: basedOn,
			RscDfn: bucket.MetaRscDfn{SnapDfnProps: map[string]string{"Schedule/BackupShippedBySchedule": schedule}}}}
		l.Backups[e.Name.ID()] = e
	}
	base := "db_back_20260101_000000.meta"
	add("db", "back_20260101_000000", "nightly", nil)
	add("db", "back_20260101_010000", "nightly", &base)
	add("db", "back_20260102_000000", "nightly", nil)
	add("db", "back_20260103_000000", "nightly", nil)
	add("db", "back_20251231_000000", "weekly", nil)
	add("other", "back_20251231_000000", "nightly", nil)
	var ids []string
	for _, e := range l.ScheduledBeyondKeep("db", "nightly", 1) {
		ids = append(ids, e.Name.ID())
	}
	require.Equal(t, []string{"db_back_20260101_000000", "db_back_20260102_000000"}, ids, "the oldest full ones past the newest")
	require.Empty(t, l.ScheduledBeyondKeep("db", "nightly", 3))
}
