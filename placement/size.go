// Package placement chooses storage for resources: pure functions over a
// snapshot of the cluster's storage pools, without I/O.
package placement

import (
	"cmp"
	"slices"
	"strings"
)

// Pool is a storage pool as placement sees it.
type Pool struct {
	Node, Name, Provider string
	// FreeKib and TotalKib are the capacities its node's agent last
	// reported; nil while unknown.
	FreeKib, TotalKib *int64
	// ReservedKib is the sum of the sizes of the volumes placed in it.
	ReservedKib int64
	// FreeRatio and TotalRatio are the MaxFreeCapacityOversubscriptionRatio
	// and MaxTotalCapacityOversubscriptionRatio that apply to it.
	FreeRatio, TotalRatio float64
	// AutoplaceTarget is false when the node's AutoplaceTarget property
	// says the autoplacer may not use it.
	AutoplaceTarget bool
	// ResourceCount is how many volumes are placed in it (MinRscCount).
	ResourceCount int
	// Throughput is its Autoplacer/MaxThroughput less the
	// sys/fs/blkio_throttle_read and _write of its volumes (MaxThroughput).
	Throughput float64
}

// DefaultOversubscriptionRatio is LINSTOR's MaxOversubscriptionRatio
// when no property sets one.
const DefaultOversubscriptionRatio = 20.0

// Thin reports whether a provider allocates space only when written.
func Thin(provider string) bool {
	switch provider {
	case "LVM_THIN", "ZFS_THIN", "FILE_THIN":
		return true
	}
	return false
}

// Diskless reports whether a provider holds no data.
func Diskless(provider string) bool { return provider == "DISKLESS" }

// Usable is the largest volume the pool can take now, and whether its
// capacity is known. A thick pool offers its free space; a thin pool its
// free space times FreeRatio, bounded by its capacity times TotalRatio
// less what its volumes may grow to.
func (p Pool) Usable() (int64, bool) {
	if p.FreeKib == nil || p.TotalKib == nil {
		return 0, false
	}
	if !Thin(p.Provider) {
		return *p.FreeKib, true
	}
	byFree := int64(float64(*p.FreeKib) * p.FreeRatio)
	byTotal := int64(float64(*p.TotalKib)*p.TotalRatio) - p.ReservedKib
	return max(0, min(byFree, byTotal)), true
}

// Filter is the part of a resource group's auto-select filter that
// decides which pools may hold data.
type Filter struct {
	StoragePools []string // pool names; empty: any
	Providers    []string // provider kinds; empty: any
	Nodes        []string // node names; empty: any
}

// Select keeps the pools that may hold a replica's data: diskful, of a
// node the autoplacer may use, passing the filter, with a known capacity.
func Select(pools []Pool, f Filter) []Pool {
	var out []Pool
	for _, p := range pools {
		_, known := p.Usable()
		if Diskless(p.Provider) || !p.AutoplaceTarget || !known ||
			!oneOf(p.Name, f.StoragePools) || !oneOf(p.Provider, f.Providers) || !oneOf(p.Node, f.Nodes) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// oneOf reports whether name is in names (case-insensitive, as LINSTOR's
// names are), or names is empty.
func oneOf(name string, names []string) bool {
	return len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
}

// Choose picks count pools on distinct nodes with the most usable space,
// LINSTOR's default MaxFreeSpace strategy, and returns them with the
// largest volume all of them can hold. ok is false when fewer than count
// nodes have a pool.
func Choose(pools []Pool, count int) (chosen []Pool, maxKib int64, ok bool) {
	best := map[string]Pool{}
	for _, p := range pools {
		if cur, seen := best[strings.ToUpper(p.Node)]; !seen || usable(p) > usable(cur) {
			best[strings.ToUpper(p.Node)] = p
		}
	}
	for _, p := range best {
		chosen = append(chosen, p)
	}
	slices.SortFunc(chosen, func(a, b Pool) int {
		return cmp.Or(cmp.Compare(usable(b), usable(a)), strings.Compare(a.Node, b.Node))
	})
	if count < 1 || len(chosen) < count {
		return nil, 0, false
	}
	chosen = chosen[:count]
	return chosen, usable(chosen[count-1]), true
}

func usable(p Pool) int64 {
	u, _ := p.Usable()
	return u
}

// Candidate is, for one pool name, the largest volume count replicas of
// it can hold and the nodes that would hold them.
type Candidate struct {
	StoragePool string
	MaxKib      int64
	Nodes       []string
	AllThin     bool
}

// Candidates returns, for every pool name among pools, the largest volume
// that count replicas in pools of that name can hold, largest first.
func Candidates(pools []Pool, count int) []Candidate {
	byName := map[string][]Pool{}
	for _, p := range pools {
		byName[p.Name] = append(byName[p.Name], p)
	}
	var out []Candidate
	for name, group := range byName {
		chosen, maxKib, ok := Choose(group, count)
		if !ok {
			continue
		}
		c := Candidate{StoragePool: name, MaxKib: maxKib, AllThin: true}
		for _, p := range chosen {
			c.Nodes = append(c.Nodes, p.Node)
			c.AllThin = c.AllThin && Thin(p.Provider)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(b.MaxKib, a.MaxKib), strings.Compare(a.StoragePool, b.StoragePool))
	})
	return out
}
