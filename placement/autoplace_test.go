package placement

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// node is an autoplace target serving DRBD and STORAGE with Aux props.
func node(name string, aux ...string) Node {
	n := Node{Name: name, AutoplaceTarget: true, Layers: []string{"DRBD", "STORAGE"}, Props: map[string]string{}}
	for i := 0; i+1 < len(aux); i += 2 {
		n.Props["Aux/"+aux[i]] = aux[i+1]
	}
	return n
}

// thick is an LVM pool with free KiB of 10,000.
func thick(node string, free int64) Pool { return pool(node, "pool", "LVM", free, 10000) }

func nodesOf(d Decision) []string {
	var out []string
	for _, p := range d.Pools {
		out = append(out, p.Node)
	}
	return out
}

func TestPlaceRules(t *testing.T) {
	four := Cluster{
		Nodes: []Node{node("a"), node("b"), node("c"), node("d")},
		Pools: []Pool{thick("a", 400), thick("b", 300), thick("c", 200), thick("d", 100),
			pool("a", "DfltDisklessStorPool", "DISKLESS", 0, 0), pool("d", "DfltDisklessStorPool", "DISKLESS", 0, 0)},
	}
	tests := []struct {
		name    string
		cluster Cluster
		req     Request
		want    []string
	}{
		{"MaxFreeSpace takes the pools with most free space", four, Request{Count: 3}, []string{"a", "b", "c"}},
		{"existing replicas count towards the place count", four, Request{Count: 3, Existing: []string{"a"}}, []string{"b", "c"}},
		{"+1 adds one whatever the count", four, Request{Count: 2, Additional: 1, Existing: []string{"a", "b"}}, []string{"c"}},
		{"pools without the space are left out", four, Request{Count: 2, SizeKib: 250}, []string{"a", "b"}},
		{"node list", four, Request{Count: 2, Filter: Filter{Nodes: []string{"C", "d"}}}, []string{"c", "d"}},
		{"storage pool list", Cluster{Nodes: four.Nodes, Pools: append(four.Pools[:0:0], thick("a", 400), pool("b", "fast", "LVM", 10, 100), pool("c", "fast", "LVM", 5, 100))},
			Request{Count: 2, Filter: Filter{StoragePools: []string{"fast"}}}, []string{"b", "c"}},
		{"provider list", Cluster{Nodes: four.Nodes, Pools: []Pool{thick("a", 400), pool("b", "z", "ZFS", 10, 100), pool("c", "z", "ZFS_THIN", 5, 100)}},
			Request{Count: 2, Filter: Filter{Providers: []string{"ZFS", "ZFS_THIN"}}}, []string{"b", "c"}},
		{"AutoplaceTarget=false", Cluster{Nodes: []Node{{Name: "a", Layers: []string{"DRBD"}}, node("b"), node("c")}, Pools: four.Pools[:3]},
			Request{Count: 2}, []string{"b", "c"}},
		{"one pool per node, the best", Cluster{Nodes: four.Nodes[:2], Pools: []Pool{thick("a", 100), pool("a", "big", "LVM", 900, 1000), thick("b", 50)}},
			Request{Count: 2}, []string{"a", "b"}},
		{"do not place with", Cluster{Nodes: []Node{withResources(node("a"), "db1"), node("b"), node("c")}, Pools: four.Pools[:3]},
			Request{Resource: "db2", Count: 2, DoNotPlaceWith: []string{"DB1"}}, []string{"b", "c"}},
		{"do not place with regex", Cluster{Nodes: []Node{withResources(node("a"), "web-1"), withResources(node("b"), "db-1"), node("c")}, Pools: four.Pools[:3]},
			Request{Resource: "db-2", Count: 2, DoNotPlaceWithRegex: "^web-"}, []string{"b", "c"}},
		{"layer list: only nodes serving the layers", Cluster{Nodes: []Node{{Name: "a", AutoplaceTarget: true, Layers: []string{"STORAGE"}}, node("b"), node("c")}, Pools: four.Pools[:3]},
			Request{Count: 2, LayerStack: []string{"DRBD", "STORAGE"}}, []string{"b", "c"}},
		{"replicas on different zones", Cluster{Nodes: []Node{node("a", "zone", "1"), node("b", "zone", "1"), node("c", "zone", "2"), node("d", "zone", "3")}, Pools: four.Pools[:4]},
			Request{Count: 3, ReplicasOnDifferent: []string{"zone"}}, []string{"a", "c", "d"}},
		{"x replicas on different: at most 2 per rack", Cluster{Nodes: []Node{node("a", "rack", "1"), node("b", "rack", "1"), node("c", "rack", "1"), node("d", "rack", "2")}, Pools: four.Pools[:4]},
			Request{Count: 3, XReplicasOnDifferent: map[string]int{"Aux/rack": 2}}, []string{"a", "b", "d"}},
		{"replicas on same: the group with the best pools", Cluster{Nodes: []Node{node("a", "site", "x"), node("b", "site", "y"), node("c", "site", "y"), node("d", "site", "x")},
			Pools: []Pool{thick("a", 400), thick("b", 300), thick("c", 200), thick("d", 150)}},
			Request{Count: 2, ReplicasOnSame: []string{"site"}}, []string{"a", "d"}}, // x: 1 + 0.375 beats y: 0.75 + 0.5
		{"replicas on same: the existing replicas fix the value", Cluster{Nodes: []Node{node("a", "site", "x"), node("b", "site", "y"), node("c", "site", "y"), node("d", "site", "x")}, Pools: four.Pools[:4]},
			Request{Count: 2, Existing: []string{"b"}, ReplicasOnSame: []string{"site"}}, []string{"c"}},
		{"replicas on same: nodes without the property are left out", Cluster{Nodes: []Node{node("a"), node("b", "site", "y"), node("c", "site", "y")}, Pools: four.Pools[:3]},
			Request{Count: 2, ReplicasOnSame: []string{"Aux/site"}}, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Place(tt.cluster, tt.req)
			require.NoError(t, err)
			assert.Equal(t, tt.want, nodesOf(d))
		})
	}
}

func withResources(n Node, names ...string) Node {
	n.Resources = names
	return n
}

// The guide's example: testProperty=1 on node-0 and node-2, 0 on node-1;
// a place count of 2 with --replicas-on-same testProperty=1 avoids
// node-1; once node-1 has testProperty=1, --auto-place +1 puts the third
// replica there.
func TestPlaceGuideReplicasOnSameExample(t *testing.T) {
	c := Cluster{
		Nodes: []Node{node("node-0", "testProperty", "1"), node("node-1", "testProperty", "0"), node("node-2", "testProperty", "1")},
		Pools: []Pool{thick("node-0", 100), thick("node-1", 900), thick("node-2", 100)},
	}
	req := Request{Resource: "testResource", Count: 2, ReplicasOnSame: []string{"testProperty=1"}}
	d, err := Place(c, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"node-0", "node-2"}, nodesOf(d), "node-1 has the most space but testProperty 0")

	c.Nodes[1].Props["Aux/testProperty"] = "1"
	req.Existing, req.Additional = []string{"node-0", "node-2"}, 1
	d, err = Place(c, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"node-1"}, nodesOf(d))

	req.Additional = 1
	req.Existing = []string{"node-0", "node-1", "node-2"}
	_, err = Place(c, req)
	var perr *Error
	require.ErrorAs(t, err, &perr)
	assert.Contains(t, err.Error(), "node-1: already holds the resource")
}

func TestPlaceWeights(t *testing.T) {
	pools := []Pool{
		with(thick("a", 900), func(p *Pool) { p.ResourceCount, p.ReservedKib, p.Throughput = 9, 9000, 100 }),
		with(thick("b", 500), func(p *Pool) { p.ResourceCount, p.ReservedKib, p.Throughput = 1, 100, 50 }),
		with(thick("c", 100), func(p *Pool) { p.ResourceCount, p.ReservedKib, p.Throughput = 5, 200, 900 }),
	}
	c := Cluster{Nodes: []Node{node("a"), node("b"), node("c")}, Pools: pools}
	tests := []struct {
		weights Weights
		want    string
	}{
		{nil, "a"}, // the default: MaxFreeSpace 1, the others 0
		{Weights{MinRscCount: 1}, "b"},
		{Weights{MinReservedSpace: 1}, "b"},
		{Weights{MaxThroughput: 1}, "c"},
		// a: 10·1 + 1·(1-9/9) = 10 beats b: 10·5/9 + 1·(1-1/9) = 6.4
		{Weights{MaxFreeSpace: 10, MinRscCount: 1}, "a"},
		// a: 1 + 10·0 = 1 loses to b: 5/9 + 10·8/9 = 9.4
		{Weights{MaxFreeSpace: 1, MinRscCount: 10}, "b"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.weights), func(t *testing.T) {
			d, err := Place(c, Request{Count: 1, Weights: tt.weights})
			require.NoError(t, err)
			assert.Equal(t, []string{tt.want}, nodesOf(d))
		})
	}
	d, err := Place(c, Request{Count: 3, Weights: Weights{MaxFreeSpace: 1, MinRscCount: 1}})
	require.NoError(t, err)
	// a: 1 + (1-9/9) = 1; b: 5/9 + (1-1/9) = 1.44; c: 1/9 + (1-5/9) = 0.56
	assert.Equal(t, []string{"b", "a", "c"}, nodesOf(d))
	assert.InDelta(t, 1.444, d.Scores[0], 0.001)
}

func TestPlaceDisklessOnRemaining(t *testing.T) {
	diskless := func(n string) Pool { return pool(n, "DfltDisklessStorPool", "DISKLESS", 0, 0) }
	c := Cluster{Nodes: []Node{node("a"), node("b"), node("c"), node("d"), {Name: "e", Props: map[string]string{}}},
		Pools: []Pool{thick("a", 400), thick("b", 300), diskless("a"), diskless("b"), diskless("c"), diskless("d"), diskless("e")}}
	d, err := Place(c, Request{Count: 2, Existing: nil, DisklessOnRemaining: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, nodesOf(d))
	var rest []string
	for _, p := range d.Diskless {
		rest = append(rest, p.Node)
	}
	assert.Equal(t, []string{"c", "d"}, rest, "e is not an autoplace target")
}

// When it cannot place, the error says why each node was left out.
func TestPlaceExplainsRejections(t *testing.T) {
	c := Cluster{
		Nodes: []Node{node("a"), {Name: "b", Props: map[string]string{}}, node("c"), node("d"), {Name: "e", AutoplaceTarget: true, Layers: []string{"STORAGE"}}},
		Pools: []Pool{thick("a", 500), thick("b", 500), thick("c", 10), {Node: "d", Name: "pool", Provider: "LVM", AutoplaceTarget: true}, thick("e", 500)},
	}
	_, err := Place(c, Request{Count: 3, SizeKib: 100, LayerStack: []string{"DRBD"}})
	var perr *Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, 3, perr.Wanted)
	assert.Equal(t, 1, perr.Found)
	assert.Equal(t, []Rejection{
		{Node: "b", Reasons: []string{"AutoplaceTarget is false"}},
		{Node: "c", Reasons: []string{"pool pool has 10 KiB free, 100 KiB needed"}},
		{Node: "d", Reasons: []string{"pool pool has not reported its capacity"}},
		{Node: "e", Reasons: []string{"does not serve the layers DRBD"}},
	}, perr.Rejections)
	assert.Equal(t, "Not enough available nodes: 3 replicas wanted, 1 found; b: AutoplaceTarget is false; c: pool pool has 10 KiB free, 100 KiB needed; "+
		"d: pool pool has not reported its capacity; e: does not serve the layers DRBD", err.Error())

	zones := Cluster{Nodes: []Node{node("a", "zone", "1"), node("b", "zone", "1"), node("c", "zone", "2")}, Pools: []Pool{thick("a", 1), thick("b", 1), thick("c", 1)}}
	_, err = Place(zones, Request{Count: 3, ReplicasOnDifferent: []string{"zone"}})
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, 2, perr.Found, "two zones allow two replicas")
	assert.Contains(t, err.Error(), "replicas-on-different")

	_, err = Place(zones, Request{Count: 1, DoNotPlaceWithRegex: "("})
	assert.ErrorContains(t, err, "do-not-place-with-regex")
}

func TestPlaceIsDeterministic(t *testing.T) {
	c := Cluster{Nodes: []Node{node("c"), node("a"), node("b")}, Pools: []Pool{thick("c", 5), thick("b", 5), thick("a", 5)}}
	for range 20 {
		d, err := Place(c, Request{Count: 2})
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, nodesOf(d), "equal scores: by node name")
	}
}
