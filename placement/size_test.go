package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func kib(n int64) *int64 { return &n }

func pool(node, name, provider string, free, total int64) Pool {
	return Pool{Node: node, Name: name, Provider: provider, FreeKib: kib(free), TotalKib: kib(total),
		FreeRatio: DefaultOversubscriptionRatio, TotalRatio: DefaultOversubscriptionRatio, AutoplaceTarget: true}
}

// with returns p changed by change.
func with(p Pool, change func(*Pool)) Pool {
	change(&p)
	return p
}

func TestUsable(t *testing.T) {
	tests := []struct {
		name string
		p    Pool
		want int64
		ok   bool
	}{
		{"thick offers its free space", pool("a", "p", "LVM", 100, 1000), 100, true},
		{"thin oversubscribes its free space", pool("a", "p", "LVM_THIN", 100, 1000), 2000, true},
		{"thin is bounded by its capacity", with(pool("a", "p", "FILE_THIN", 900, 1000), func(p *Pool) { p.TotalRatio = 10 }), 10000, true},
		{"what its volumes may grow to counts against the capacity", with(pool("a", "p", "ZFS_THIN", 900, 1000), func(p *Pool) { p.ReservedKib = 19500 }), 500, true},
		{"ratio 1 is no oversubscription", with(pool("a", "p", "LVM_THIN", 100, 1000), func(p *Pool) { p.FreeRatio, p.TotalRatio = 1, 1 }), 100, true},
		{"over-reserved gives nothing", with(pool("a", "p", "LVM_THIN", 100, 1000), func(p *Pool) { p.ReservedKib = 50000 }), 0, true},
		{"unknown until the agent reports", Pool{Node: "a", Name: "p", Provider: "LVM"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.Usable()
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSelectAndChoose(t *testing.T) {
	pools := []Pool{
		pool("alpha", "pool1", "LVM", 300, 1000),
		pool("alpha", "pool2", "LVM", 500, 1000),
		pool("bravo", "pool1", "LVM", 200, 1000),
		pool("charlie", "pool1", "LVM", 400, 1000),
		pool("charlie", "DfltDisklessStorPool", "DISKLESS", 0, 0),
		{Node: "delta", Name: "pool1", Provider: "LVM", AutoplaceTarget: true}, // not reported yet
		with(pool("echo", "pool1", "LVM", 9000, 9000), func(p *Pool) { p.AutoplaceTarget = false }),
	}
	tests := []struct {
		name   string
		filter Filter
		count  int
		nodes  []string
		max    int64
		ok     bool
	}{
		{"best pool per node, most space first", Filter{}, 2, []string{"alpha", "charlie"}, 400, true},
		{"three replicas: the smallest of three", Filter{}, 3, []string{"alpha", "charlie", "bravo"}, 200, true},
		{"only the named pool", Filter{StoragePools: []string{"POOL1"}}, 2, []string{"charlie", "alpha"}, 300, true},
		{"only the named nodes", Filter{Nodes: []string{"alpha", "bravo"}}, 2, []string{"alpha", "bravo"}, 200, true},
		{"only the named providers", Filter{Providers: []string{"ZFS"}}, 1, nil, 0, false},
		{"not enough nodes", Filter{}, 4, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chosen, maxKib, ok := Choose(Select(pools, tt.filter), tt.count)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.max, maxKib)
			var nodes []string
			for _, p := range chosen {
				nodes = append(nodes, p.Node)
			}
			require.Equal(t, tt.nodes, nodes)
		})
	}

	require.Equal(t, []Candidate{
		{StoragePool: "pool1", MaxKib: 300, Nodes: []string{"charlie", "alpha"}, AllThin: false},
	}, Candidates(Select(pools, Filter{}), 2), "pool2 is on one node only")
}
