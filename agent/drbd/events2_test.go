package drbd

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvents2InitialStateAndChanges(t *testing.T) {
	data, err := os.ReadFile("testdata/events2.txt")
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "exists -\n")
	require.Len(t, lines, 2)

	s := State{}
	require.NoError(t, s.Read(strings.NewReader(lines[0])))
	b := s["backups"]
	require.NotNil(t, b)
	assert.Equal(t, "Secondary", b.Role)
	assert.EqualValues(t, 10102, b.PromotionScore)
	assert.True(t, b.MayPromote)
	assert.Equal(t, DeviceState{Minor: 1000, Disk: "UpToDate", Quorum: true}, *b.Devices[0])
	assert.Equal(t, "Inconsistent", b.Devices[1].Disk)
	assert.Equal(t, "Connected", b.Connections["bravo"].Connection)
	assert.EqualValues(t, 1, b.Connections["bravo"].NodeID)
	assert.Equal(t, "SyncTarget", b.Connections["bravo"].Sync[1])
	assert.InDelta(t, 42.17, b.Connections["bravo"].Done[1], 0.001)
	assert.Equal(t, "DUnknown", b.Connections["charlie"].PeerDisks[0])
	assert.Equal(t, DeviceState{Minor: 1002, Disk: "Diskless", Client: true, Quorum: true}, *s["scratch"].Devices[0])

	require.NoError(t, s.Read(strings.NewReader(lines[1])))
	assert.Equal(t, "Primary", b.Role)
	assert.Equal(t, "UpToDate", b.Devices[1].Disk)
	assert.Equal(t, "Established", b.Connections["bravo"].Sync[1])
	assert.NotContains(t, b.Connections, "charlie", "a destroyed connection is gone")
	assert.NotContains(t, s, "scratch", "a destroyed resource is gone")
}

func TestEvents2BadLines(t *testing.T) {
	for _, line := range []string{"", "exists device volume:0 disk:UpToDate", "exists device name:r0 volume0"} {
		_, err := ParseEvent(line)
		assert.Error(t, err, "%q", line)
	}
	ev, err := ParseEvent("exists -")
	require.NoError(t, err)
	assert.Equal(t, Event{What: "exists", Fields: map[string]string{}}, ev)
}
