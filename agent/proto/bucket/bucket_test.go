package bucket

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNamesAreLinstors(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 52, 52, 0, time.Local)
	n := Name{Resource: "res1", BackupID: BackupID(at)}
	require.Equal(t, "res1_back_20261202_095252", n.ID())
	require.Equal(t, "res1_back_20261202_095252.meta", n.MetaKey())
	require.Equal(t, "res1_00000_back_20261202_095252", n.DataKey(0))
	require.Equal(t, "back_20261202_095252", n.SnapshotName())

	named := Name{Resource: "res1", BackupID: n.BackupID, Suffix: ":c2", Snapshot: "mysnap"}
	require.Equal(t, "res1_back_20261202_095252:c2^mysnap.meta", named.MetaKey())
	require.Equal(t, "res1_00001_back_20261202_095252:c2^mysnap", named.DataKey(1))
	snapOnly := Name{Resource: "res1", BackupID: n.BackupID, Snapshot: "full1"}
	for _, want := range []Name{named, n, snapOnly} {
		got, ok := ParseMetaKey(want.MetaKey())
		require.True(t, ok, want.MetaKey())
		require.Equal(t, want, got)
		got, ok = ParseID(want.ID())
		require.True(t, ok)
		require.Equal(t, want, got)
	}
	got, nr, ok := ParseDataKey(named.DataKey(1))
	require.True(t, ok)
	require.Equal(t, int32(1), nr)
	require.Equal(t, named, got)
	id, ok := ParseID(named.ID())
	require.True(t, ok)
	require.Equal(t, named, id)
	when, err := n.Time(time.Local)
	require.NoError(t, err)
	require.True(t, when.Equal(at))

	for _, bad := range []string{"res1_back_2026_1.meta", "x_back_20261202_095252.meta", "strata/chunks/ab/ab"} {
		_, ok := ParseMetaKey(bad)
		require.False(t, ok, bad)
	}
	_, _, ok = ParseDataKey("res1.cache_00000_back_20261202_095252")
	require.False(t, ok, "other storage volumes are not Strata's")
}

func TestDeltaRoundTrip(t *testing.T) {
	parent := Sum([]byte("parent"))
	d := Delta{Parent: parent, Ranges: []Range{{Offset: 4096, Data: []byte("new data")}, {Offset: 0, Zero: 10}}}
	back, err := DecodeDelta(d.Encode())
	require.NoError(t, err)
	require.Equal(t, d, back)
	chunk := []byte("0123456789abcdef")
	chunk = append(chunk, make([]byte, 8192)...)
	require.NoError(t, back.Apply(chunk))
	require.Equal(t, make([]byte, 10), chunk[:10])
	require.Equal(t, "new data", string(chunk[4096:4104]))

	_, err = DecodeDelta([]byte("SDL1short"))
	require.Error(t, err)
	require.Error(t, Delta{Ranges: []Range{{Offset: 10, Zero: 1 << 30}}}.Apply(chunk))
}
