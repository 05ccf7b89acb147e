package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAutoQuorum(t *testing.T) {
	majority := map[string]string{KeyQuorum: "majority", KeyOnNoQuorum: "io-error"}
	tests := []struct {
		name   string
		r      Replicas
		canAdd bool
		want   QuorumChange
	}{
		{"one replica: nothing", Replicas{Diskful: 1}, true, QuorumChange{}},
		{"two diskful: a tie-breaker and quorum", Replicas{Diskful: 2}, true,
			QuorumChange{AddTieBreaker: true, Set: majority}},
		{"two diskful, no node for a tie-breaker: no quorum yet", Replicas{Diskful: 2}, false, QuorumChange{}},
		{"two diskful and their tie-breaker, quorum set: nothing", Replicas{Diskful: 2, TieBreakers: []string{"C"}, Props: majority}, true, QuorumChange{}},
		{"two diskful and a diskless: quorum, no tie-breaker", Replicas{Diskful: 2, Diskless: 1}, true, QuorumChange{Set: majority}},
		{"a diskless replica replaces the tie-breaker", Replicas{Diskful: 2, Diskless: 1, TieBreakers: []string{"C"}, Props: majority}, true,
			QuorumChange{RemoveTieBreakers: []string{"C"}}},
		{"three diskful with the group's policy", Replicas{Diskful: 3, Policy: "suspend-io", Props: majority}, true,
			QuorumChange{Set: map[string]string{KeyOnNoQuorum: "suspend-io"}}},
		{"down to one diskful and a diskless: quorum goes", Replicas{Diskful: 1, Diskless: 1, Props: majority}, true,
			QuorumChange{Delete: []string{KeyQuorum, KeyOnNoQuorum}}},
		{"the tie-breaker goes with the second diskful", Replicas{Diskful: 1, TieBreakers: []string{"C"}, Props: majority}, true,
			QuorumChange{RemoveTieBreakers: []string{"C"}, Delete: []string{KeyQuorum, KeyOnNoQuorum}}},
		{"auto-add-quorum-tiebreaker=false", Replicas{Diskful: 2, NoTieBreaker: true}, true, QuorumChange{}},
		{"disabled: the user's values stay", Replicas{Diskful: 3, Policy: "disabled", Props: map[string]string{KeyQuorum: "off"}}, true, QuorumChange{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, AutoQuorum(tt.r, tt.canAdd))
		})
	}
}

func TestTieBreakerIsChosenByTheAutoplacersRating(t *testing.T) {
	free := func(kib int64) *int64 { return &kib }
	node := func(name string, layers ...string) Node {
		return Node{Name: name, AutoplaceTarget: true, Layers: layers}
	}
	pools := func(node string, freeKib int64, count int) []Pool {
		return []Pool{{Node: node, Name: "DfltDisklessStorPool", Provider: "DISKLESS"},
			{Node: node, Name: "pool1", Provider: "FILE_THIN", FreeKib: free(freeKib), TotalKib: free(1 << 30), ResourceCount: count}}
	}
	cluster := func(nodes []Node, ps ...[]Pool) Cluster {
		c := Cluster{Nodes: nodes}
		for _, p := range ps {
			c.Pools = append(c.Pools, p...)
		}
		return c
	}
	tests := []struct {
		name    string
		c       Cluster
		weights Weights
		want    string
	}{
		{"the most free space by default, not the first name",
			cluster([]Node{node("a"), node("b"), node("c"), node("d")}, pools("a", 1, 0), pools("b", 1, 0), pools("c", 100, 0), pools("d", 500, 5)), nil, "d"},
		{"the fewest resources with MinRscCount",
			cluster([]Node{node("a"), node("b"), node("c"), node("d")}, pools("c", 100, 1), pools("d", 500, 5)), Weights{MinRscCount: 1}, "c"},
		{"a node without a diskful pool rates lowest",
			cluster([]Node{node("a"), node("b"), node("c"), node("d")}, pools("d", 1, 0), []Pool{{Node: "c", Name: "DfltDisklessStorPool", Provider: "DISKLESS"}}), nil, "d"},
		{"not where DRBD is not served, nor where it may not be placed",
			cluster([]Node{node("a"), node("b"), node("c", "STORAGE"), {Name: "d"}, node("e", "DRBD", "STORAGE")}, pools("c", 900, 0), pools("d", 900, 0), pools("e", 1, 0)), nil, "e"},
		{"no node: none", cluster([]Node{node("a"), node("b")}, pools("a", 1, 0), pools("b", 1, 0)), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pool := TieBreaker(tt.c, []string{"A", "b"}, tt.weights)
			require.Equal(t, tt.want, got)
			if got != "" {
				require.Equal(t, "DfltDisklessStorPool", pool)
			}
		})
	}
}
