package drbd

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Event is one line of `drbdsetup events2`: what happened (exists,
// create, change, destroy), to which object (resource, connection,
// device, peer-device, path) and its key:value fields.
type Event struct {
	What   string
	Object string
	Fields map[string]string
}

// ParseEvent reads one events2 line. The line "exists -" ends the
// initial state dump and has no object.
func ParseEvent(line string) (Event, error) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return Event{}, fmt.Errorf("empty events2 line")
	}
	ev := Event{What: words[0], Fields: map[string]string{}}
	if len(words) == 1 || words[1] == "-" {
		return ev, nil
	}
	ev.Object = words[1]
	for _, w := range words[2:] {
		k, v, ok := strings.Cut(w, ":")
		if !ok {
			return Event{}, fmt.Errorf("events2 field %q in %q has no value", w, line)
		}
		ev.Fields[k] = v
	}
	if ev.Fields["name"] == "" && ev.Object != "helper" {
		return Event{}, fmt.Errorf("events2 line %q names no resource", line)
	}
	return ev, nil
}

// State is DRBD's view of the node's resources, built from events.
type State map[string]*ResourceState

// ResourceState is one resource.
type ResourceState struct {
	Role string
	// Suspended is why I/O is suspended ("user" for suspend-io, "no"
	// when it runs).
	Suspended string
	// PromotionScore and MayPromote are DRBD's (9.1+) view of whether
	// this node could become Primary, and how well.
	PromotionScore int32
	MayPromote     bool
	Devices        map[int32]*DeviceState
	Connections    map[string]*ConnectionState // by peer name
}

// DeviceState is a local volume.
type DeviceState struct {
	Minor  int32
	Disk   string // UpToDate, Inconsistent, Diskless, ...
	Client bool   // intentionally diskless
	Quorum bool
}

// ConnectionState is a peer and its volumes as this node sees them.
type ConnectionState struct {
	NodeID     int32
	Connection string // Connected, Connecting, StandAlone, ...
	Role       string
	PeerDisks  map[int32]string // peer's disk state per volume
	Sync       map[int32]string // replication state per volume
	Done       map[int32]float64
}

// Read applies every event from r until r ends.
func (s State) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		ev, err := ParseEvent(sc.Text())
		if err != nil {
			return err
		}
		s.Apply(ev)
	}
	return sc.Err()
}

// Apply folds one event into the state.
func (s State) Apply(ev Event) {
	f := ev.Fields
	name := f["name"]
	if ev.Object == "" || ev.Object == "helper" || ev.Object == "path" {
		return
	}
	if ev.What == "destroy" && ev.Object == "resource" {
		delete(s, name)
		return
	}
	r := s[name]
	if r == nil {
		r = &ResourceState{Devices: map[int32]*DeviceState{}, Connections: map[string]*ConnectionState{}}
		s[name] = r
	}
	vol := int32(number(f["volume"]))
	switch ev.Object {
	case "resource":
		set(&r.Role, f, "role")
		set(&r.Suspended, f, "suspended")
		if v, ok := f["promotion_score"]; ok {
			r.PromotionScore = int32(number(v))
		}
		if v, ok := f["may_promote"]; ok {
			r.MayPromote = v == "yes"
		}
	case "device":
		if ev.What == "destroy" {
			delete(r.Devices, vol)
			return
		}
		d := r.Devices[vol]
		if d == nil {
			d = &DeviceState{}
			r.Devices[vol] = d
		}
		if m, ok := f["minor"]; ok {
			d.Minor = int32(number(m))
		}
		set(&d.Disk, f, "disk")
		if c, ok := f["client"]; ok {
			d.Client = c == "yes"
		}
		if q, ok := f["quorum"]; ok {
			d.Quorum = q == "yes"
		}
	case "connection", "peer-device":
		peer := f["conn-name"]
		if ev.What == "destroy" && ev.Object == "connection" {
			delete(r.Connections, peer)
			return
		}
		c := r.Connections[peer]
		if c == nil {
			c = &ConnectionState{PeerDisks: map[int32]string{}, Sync: map[int32]string{}, Done: map[int32]float64{}}
			r.Connections[peer] = c
		}
		c.NodeID = int32(number(f["peer-node-id"]))
		if ev.Object == "connection" {
			set(&c.Connection, f, "connection")
			set(&c.Role, f, "role")
			return
		}
		if v, ok := f["peer-disk"]; ok {
			c.PeerDisks[vol] = v
		}
		if v, ok := f["replication"]; ok {
			c.Sync[vol] = v
		}
		if v, ok := f["done"]; ok {
			c.Done[vol], _ = strconv.ParseFloat(v, 64)
		}
	}
}

func set(dst *string, f map[string]string, key string) {
	if v, ok := f[key]; ok {
		*dst = v
	}
}

func number(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
