package placement

import (
	"cmp"
	"slices"
	"strings"
)

// DRBD's auto-quorum properties (guide 2.15.3).
const (
	KeyQuorum     = "DrbdOptions/Resource/quorum"
	KeyOnNoQuorum = "DrbdOptions/Resource/on-no-quorum"
	// DefaultQuorumPolicy is on-no-quorum when DrbdOptions/auto-quorum
	// names none.
	DefaultQuorumPolicy = "io-error"
)

// Replicas are a definition's replicas as auto-quorum counts them (those
// being deleted left out) and its auto-quorum settings.
type Replicas struct {
	Diskful, Diskless int
	// TieBreakers hold the definition's diskless tie-breakers.
	TieBreakers []string
	// Policy is DrbdOptions/auto-quorum: "" or io-error, suspend-io, or
	// disabled (auto-quorum leaves everything alone).
	Policy string
	// NoTieBreaker is DrbdOptions/auto-add-quorum-tiebreaker=false.
	NoTieBreaker bool
	// Props are the definition's own quorum properties.
	Props map[string]string
}

// QuorumChange is what auto-quorum does to a definition.
type QuorumChange struct {
	AddTieBreaker     bool
	RemoveTieBreakers []string
	Set               map[string]string
	Delete            []string
}

// AutoQuorum decides auto-quorum as the guide says: two diskful replicas
// alone get a diskless tie-breaker, and a tie-breaker no longer needed
// goes; with three diskful replicas, or two and a diskless one (the
// tie-breaker counts), quorum is majority and on-no-quorum the policy;
// with fewer, both properties are removed. canAdd says whether a node for
// a tie-breaker can be found; without one, quorum waits for a third
// replica.
func AutoQuorum(r Replicas, canAdd bool) QuorumChange {
	var c QuorumChange
	if r.Policy == "disabled" {
		return c
	}
	tiebreakers := len(r.TieBreakers)
	wantTB := r.Diskful == 2 && r.Diskless == 0 && !r.NoTieBreaker
	switch {
	case wantTB && tiebreakers == 0 && canAdd:
		c.AddTieBreaker, tiebreakers = true, 1
	case !wantTB:
		c.RemoveTieBreakers, tiebreakers = r.TieBreakers, 0
	}
	policy := cmp.Or(r.Policy, DefaultQuorumPolicy)
	if r.Diskful >= 3 || r.Diskful >= 2 && r.Diskless+tiebreakers >= 1 {
		for _, kv := range [][2]string{{KeyQuorum, "majority"}, {KeyOnNoQuorum, policy}} {
			if r.Props[kv[0]] != kv[1] {
				if c.Set == nil {
					c.Set = map[string]string{}
				}
				c.Set[kv[0]] = kv[1]
			}
		}
		return c
	}
	for _, k := range []string{KeyQuorum, KeyOnNoQuorum} {
		if _, ok := r.Props[k]; ok {
			c.Delete = append(c.Delete, k)
		}
	}
	return c
}

// TieBreaker chooses the node for a definition's tie-breaker as the
// autoplacer rates nodes: of those that do not hold it, may be autoplaced
// on, serve DRBD (or have not said what they serve) and have a diskless
// pool, the one whose best diskful pool rates highest by the weighted
// strategies (a node without one rates lowest), by name among equals. It
// returns the node and its diskless pool; "" when no node qualifies.
func TieBreaker(c Cluster, holders []string, w Weights) (node, pool string) {
	held := map[string]bool{}
	for _, h := range holders {
		held[strings.ToUpper(h)] = true
	}
	eligible := map[string]*Node{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if held[strings.ToUpper(n.Name)] || !n.AutoplaceTarget || n.Layers != nil && !servesLayers(*n, []string{"DRBD"}) {
			continue
		}
		eligible[strings.ToUpper(n.Name)] = n
	}
	diskless := map[string]string{}
	var cands []candidate
	for i := range c.Pools {
		p := &c.Pools[i]
		n, ok := eligible[strings.ToUpper(p.Node)]
		switch {
		case !ok:
		case Diskless(p.Provider):
			if _, seen := diskless[n.Name]; !seen {
				diskless[n.Name] = p.Name
			}
		default:
			cands = append(cands, candidate{node: n, pool: p})
		}
	}
	score(cands, w)
	best := map[string]float64{}
	for _, cd := range cands {
		if s, ok := best[cd.node.Name]; !ok || cd.score > s {
			best[cd.node.Name] = cd.score
		}
	}
	names := make([]string, 0, len(diskless))
	for n := range diskless {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		sa, oka := best[a]
		sb, okb := best[b]
		if oka != okb {
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(sb, sa), strings.Compare(a, b))
	})
	if len(names) == 0 {
		return "", ""
	}
	return names[0], diskless[names[0]]
}
