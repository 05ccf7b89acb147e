package placement

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Node is a node as the autoplacer sees it.
type Node struct {
	Name  string
	Props map[string]string // Aux/* and the rest of its properties
	// AutoplaceTarget is false when the node's property forbids it.
	AutoplaceTarget bool
	// Layers are the layers its agent serves; nil: not known (offline).
	Layers []string
	// Resources are the names of the resources the node holds.
	Resources []string
}

// Cluster is the snapshot the autoplacer decides on.
type Cluster struct {
	Nodes []Node
	Pools []Pool
}

// Strategy names, as Autoplacer/Weights/<name> sets their weights.
const (
	MaxFreeSpace     = "MaxFreeSpace"
	MinReservedSpace = "MinReservedSpace"
	MinRscCount      = "MinRscCount"
	MaxThroughput    = "MaxThroughput"
)

// Weights of the strategies. LINSTOR's defaults: MaxFreeSpace 1, the
// others 0.
type Weights map[string]float64

// DefaultWeights are the guide's defaults.
func DefaultWeights() Weights {
	return Weights{MaxFreeSpace: 1, MinReservedSpace: 0, MinRscCount: 0, MaxThroughput: 0}
}

// Request is what to place: the resource, how many replicas in all, and
// the auto-select filter.
type Request struct {
	Resource string
	// Count is the number of diskful replicas wanted in all, counting
	// those the resource has (Existing). Additional, when above zero,
	// asks for that many more than it has (--auto-place +1), whatever
	// Count says.
	Count, Additional int
	// Existing are the nodes holding a diskful replica already.
	Existing []string
	// Held are nodes holding the resource otherwise (diskless); they get
	// no replica either.
	Held []string
	// SizeKib is the space a replica needs in its pool.
	SizeKib int64

	Filter
	ReplicasOnSame       []string       // Aux/key or Aux/key=value
	ReplicasOnDifferent  []string       // Aux/key
	XReplicasOnDifferent map[string]int // Aux/key → at most this many replicas per value
	DoNotPlaceWith       []string       // resource names
	DoNotPlaceWithRegex  string
	LayerStack           []string // the nodes must serve all of these
	DisklessOnRemaining  bool
	Weights              Weights // nil: DefaultWeights
}

// Decision is where the new replicas go.
type Decision struct {
	Pools []Pool // one per new diskful replica, best first
	// Diskless are the remaining nodes that get a diskless replica
	// (DisklessOnRemaining), with their diskless pool.
	Diskless []Pool
	// Scores are the chosen pools' weighted scores, as Pools.
	Scores []float64
}

// Rejection says why a node got no replica.
type Rejection struct {
	Node    string
	Reasons []string
}

// Error is a placement that cannot be met, with the reasons per node.
type Error struct {
	Wanted, Found int
	Rejections    []Rejection
	Constraint    string // set when the nodes were there but a group constraint failed
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Not enough available nodes: %d replicas wanted, %d found", e.Wanted, e.Found)
	if e.Constraint != "" {
		fmt.Fprintf(&b, " (%s)", e.Constraint)
	}
	for _, r := range e.Rejections {
		fmt.Fprintf(&b, "; %s: %s", r.Node, strings.Join(r.Reasons, ", "))
	}
	return b.String()
}

// candidate is a node with the pool the autoplacer would use on it.
type candidate struct {
	node  *Node
	pool  *Pool
	score float64
}

// Place chooses pools for the new replicas of r. It is a pure function
// of the snapshot: the same cluster and request give the same answer.
func Place(c Cluster, r Request) (Decision, error) {
	need := r.Count - len(r.Existing)
	if r.Additional > 0 {
		need = r.Additional
	}
	if need <= 0 {
		return Decision{}, nil
	}
	var avoid *regexp.Regexp
	if r.DoNotPlaceWithRegex != "" {
		var err error
		if avoid, err = regexp.Compile(r.DoNotPlaceWithRegex); err != nil {
			return Decision{}, fmt.Errorf("do-not-place-with-regex %q: %w", r.DoNotPlaceWithRegex, err)
		}
	}
	nodes := make(map[string]*Node, len(c.Nodes))
	for i := range c.Nodes {
		nodes[strings.ToUpper(c.Nodes[i].Name)] = &c.Nodes[i]
	}
	// key finds a node's key from a pool's node name: the names come
	// from the same rows, so the display name usually matches as it is.
	display := make(map[string]string, len(c.Nodes))
	for k, n := range nodes {
		display[n.Name] = k
	}
	key := func(name string) string {
		if k, ok := display[name]; ok {
			return k
		}
		return strings.ToUpper(name)
	}
	existing := map[string]bool{}
	for _, n := range append(append([]string(nil), r.Existing...), r.Held...) {
		existing[strings.ToUpper(n)] = true
	}

	reasons := map[string][]string{}
	reject := func(node, why string) {
		k := key(node)
		if !slices.Contains(reasons[k], why) {
			reasons[k] = append(reasons[k], why)
		}
	}
	// Node-level rules first: a node that fails one gets no pool.
	usableNode := make(map[string]bool, len(nodes))
	for k, n := range nodes {
		switch {
		case existing[k]:
			reject(n.Name, "already holds the resource")
		case !n.AutoplaceTarget:
			reject(n.Name, "AutoplaceTarget is false")
		case !oneOf(n.Name, r.Nodes):
			reject(n.Name, "not in the node list")
		case holdsAvoided(*n, r.Resource, r.DoNotPlaceWith, avoid):
			reject(n.Name, "holds a resource it must not be placed with")
		case !servesLayers(*n, r.LayerStack):
			reject(n.Name, "does not serve the layers "+strings.Join(r.LayerStack, ","))
		default:
			if why := fixedValueMismatch(*n, r.ReplicasOnSame); why != "" {
				reject(n.Name, why)
				continue
			}
			usableNode[k] = true
		}
	}
	best := make(map[string]candidate, len(nodes))
	scored := make([]candidate, 0, len(c.Pools))
	for i := range c.Pools {
		p := &c.Pools[i]
		k := key(p.Node)
		if !usableNode[k] || Diskless(p.Provider) {
			continue
		}
		free, known := p.Usable()
		switch {
		case !oneOf(p.Name, r.StoragePools):
			reject(p.Node, "pool "+p.Name+" is not in the storage pool list")
		case !oneOf(p.Provider, r.Providers):
			reject(p.Node, "pool "+p.Name+" is "+p.Provider+", not in the provider list")
		case !known:
			reject(p.Node, "pool "+p.Name+" has not reported its capacity")
		case free < r.SizeKib:
			reject(p.Node, fmt.Sprintf("pool %s has %d KiB free, %d KiB needed", p.Name, free, r.SizeKib))
		default:
			scored = append(scored, candidate{node: nodes[k], pool: p})
		}
	}
	score(scored, r.Weights)
	for _, cd := range scored {
		k := key(cd.node.Name)
		if cur, ok := best[k]; !ok || better(cd, cur) {
			best[k] = cd
		}
	}
	for k, n := range nodes {
		if _, ok := best[k]; !ok && usableNode[k] && len(reasons[k]) == 0 {
			reject(n.Name, "has no diskful storage pool")
		}
	}
	cands := make([]candidate, 0, len(best))
	for _, cd := range best {
		cands = append(cands, cd)
	}
	slices.SortFunc(cands, better3way)

	chosen, constraint := group(cands, need, r, nodes)
	if chosen == nil {
		e := &Error{Wanted: need, Found: len(cands), Constraint: constraint}
		if constraint != "" {
			e.Found = maxGroup(cands, need, r, nodes)
		}
		for k, why := range reasons {
			e.Rejections = append(e.Rejections, Rejection{Node: nodes[k].Name, Reasons: why})
		}
		sort.Slice(e.Rejections, func(i, j int) bool { return e.Rejections[i].Node < e.Rejections[j].Node })
		return Decision{}, e
	}
	var d Decision
	taken := map[string]bool{}
	for _, cd := range chosen {
		d.Pools = append(d.Pools, *cd.pool)
		d.Scores = append(d.Scores, cd.score)
		taken[key(cd.node.Name)] = true
	}
	if r.DisklessOnRemaining {
		d.Diskless = disklessOnRemaining(c, nodes, existing, taken)
	}
	return d, nil
}

// better orders candidates: higher score, then node and pool name, so
// that equal scores give the same choice every time.
func better(a, b candidate) bool { return better3way(a, b) < 0 }

func better3way(a, b candidate) int {
	return cmp.Or(cmp.Compare(b.score, a.score), strings.Compare(a.node.Name, b.node.Name), strings.Compare(a.pool.Name, b.pool.Name))
}

func holdsAvoided(n Node, self string, names []string, re *regexp.Regexp) bool {
	for _, held := range n.Resources {
		if strings.EqualFold(held, self) {
			continue
		}
		if oneOfStrict(held, names) || (re != nil && re.MatchString(held)) {
			return true
		}
	}
	return false
}

func oneOfStrict(name string, names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
}

func servesLayers(n Node, layers []string) bool {
	for _, l := range layers {
		if !slices.ContainsFunc(n.Layers, func(s string) bool { return strings.EqualFold(s, l) }) {
			return false
		}
	}
	return true
}

// auxKey turns "zone" or "Aux/zone" into "Aux/zone".
func auxKey(k string) string {
	if strings.HasPrefix(k, "Aux/") {
		return k
	}
	return "Aux/" + k
}

// fixedValueMismatch checks the replicas-on-same entries that name a
// value (key=value): the node must have that value.
func fixedValueMismatch(n Node, same []string) string {
	for _, s := range same {
		k, v, fixed := strings.Cut(s, "=")
		if !fixed {
			continue
		}
		if got, ok := n.Props[auxKey(k)]; !ok || got != v {
			return fmt.Sprintf("%s is %q, not %q (replicas-on-same)", auxKey(k), got, v)
		}
	}
	return ""
}

// score rates each candidate by the weighted strategies. Each strategy's
// values are normalised by their largest magnitude; a minimising
// strategy's values are turned around (1 - v) so that all are maximised.
func score(cands []candidate, w Weights) {
	if w == nil {
		w = DefaultWeights()
	}
	strategies := []struct {
		name     string
		minimise bool
		value    func(*Pool) float64
	}{
		{MaxFreeSpace, false, func(p *Pool) float64 {
			if p.FreeKib == nil {
				return 0
			}
			return float64(*p.FreeKib)
		}},
		{MinReservedSpace, true, func(p *Pool) float64 { return float64(p.ReservedKib) }},
		{MinRscCount, true, func(p *Pool) float64 { return float64(p.ResourceCount) }},
		{MaxThroughput, false, func(p *Pool) float64 { return p.Throughput }},
	}
	for _, s := range strategies {
		weight := w[s.name]
		if weight == 0 {
			continue
		}
		var top float64
		for _, c := range cands {
			top = math.Max(top, math.Abs(s.value(c.pool)))
		}
		for i := range cands {
			v := 0.0
			if top > 0 {
				v = s.value(cands[i].pool) / top
			}
			if s.minimise {
				v = 1 - v
			}
			cands[i].score += weight * v
		}
	}
}

// group picks need candidates, best first, that together satisfy
// replicas-on-same (one value for all, the existing replicas' if any),
// replicas-on-different and x-replicas-on-different. It returns nil and
// the constraint that failed when no such group exists.
func group(cands []candidate, need int, r Request, nodes map[string]*Node) ([]candidate, string) {
	if len(cands) < need {
		return nil, ""
	}
	var sameKeys []string
	for _, s := range r.ReplicasOnSame {
		if k, _, fixed := strings.Cut(s, "="); !fixed {
			sameKeys = append(sameKeys, auxKey(k))
		}
	}
	// Candidates by their values of the replicas-on-same keys; the
	// existing replicas fix the values when there are any.
	buckets := map[string][]candidate{}
	var order []string
	want, fixed := "", false
	for _, e := range r.Existing {
		if n, ok := nodes[strings.ToUpper(e)]; ok && len(sameKeys) > 0 {
			want, fixed = values(*n, sameKeys)
			break
		}
	}
	for _, c := range cands {
		v, has := values(*c.node, sameKeys)
		if !has || fixed && v != want {
			continue
		}
		if _, ok := buckets[v]; !ok {
			order = append(order, v)
		}
		buckets[v] = append(buckets[v], c)
	}
	var bestGroup []candidate
	bestScore := math.Inf(-1)
	for _, v := range order {
		g := pick(buckets[v], need, r, nodes)
		if g == nil {
			continue
		}
		total := 0.0
		for _, c := range g {
			total += c.score
		}
		if total > bestScore {
			bestGroup, bestScore = g, total
		}
	}
	if bestGroup == nil {
		switch {
		case len(sameKeys) > 0:
			return nil, "no " + fmt.Sprint(need) + " nodes share the values of " + strings.Join(sameKeys, ", ") + " (replicas-on-same)"
		default:
			return nil, "replicas-on-different or x-replicas-on-different leaves too few nodes"
		}
	}
	return bestGroup, ""
}

// maxGroup is how many replicas the constraints allow at most, for the
// error message.
func maxGroup(cands []candidate, need int, r Request, nodes map[string]*Node) int {
	for n := need - 1; n > 0; n-- {
		if g, _ := group(cands, n, r, nodes); g != nil {
			return n
		}
	}
	return 0
}

// values joins a node's values of keys; ok is false when it lacks one.
func values(n Node, keys []string) (string, bool) {
	var b strings.Builder
	for _, k := range keys {
		v, ok := n.Props[k]
		if !ok {
			return "", false
		}
		b.WriteString("\x00" + v)
	}
	return b.String(), true
}

// pick takes candidates in order while replicas-on-different (every value
// once, counting the existing replicas) and x-replicas-on-different (at
// most N per value) allow.
func pick(cands []candidate, need int, r Request, nodes map[string]*Node) []candidate {
	limits := map[string]int{}
	for _, k := range r.ReplicasOnDifferent {
		limits[auxKey(k)] = 1
	}
	for k, n := range r.XReplicasOnDifferent {
		limits[auxKey(k)] = n
	}
	used := map[string]map[string]int{}
	count := func(n *Node) {
		for k := range limits {
			if v, ok := n.Props[k]; ok {
				if used[k] == nil {
					used[k] = map[string]int{}
				}
				used[k][v]++
			}
		}
	}
	for _, e := range r.Existing {
		if n, ok := nodes[strings.ToUpper(e)]; ok {
			count(n)
		}
	}
	var out []candidate
	for _, c := range cands {
		ok := true
		for k, limit := range limits {
			v, has := c.node.Props[k]
			if !has || used[k][v] >= limit {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		count(c.node)
		out = append(out, c)
		if len(out) == need {
			return out
		}
	}
	return nil
}

// disklessOnRemaining are the diskless pools of the nodes that neither
// hold the resource nor got a replica, where the autoplacer may place.
func disklessOnRemaining(c Cluster, nodes map[string]*Node, existing, taken map[string]bool) []Pool {
	var out []Pool
	seen := map[string]bool{}
	for _, p := range c.Pools {
		k := strings.ToUpper(p.Node)
		n, ok := nodes[k]
		if !ok || !Diskless(p.Provider) || existing[k] || taken[k] || seen[k] || !n.AutoplaceTarget {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pool) int { return strings.Compare(a.Node, b.Node) })
	return out
}
