package store

import (
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Number pools and their defaults (controller properties of the guide).
const (
	KeyTcpPortAutoRange     = "TcpPortAutoRange"
	KeyMinorNrAutoRange     = "MinorNrAutoRange"
	KeyPeerSlotsNewResource = "PeerSlotsNewResource"
	defaultTcpPortRange     = "7000-7999"
	defaultMinorRange       = "1000-49999"
	DefaultPeerSlots        = 7
	MaxNodeID               = 31
)

// numberRange reads a "low-high" controller property, or its default.
func numberRange(tx *gorm.DB, key, dflt string) (int32, int32, error) {
	props, err := readProps(tx, CtrlPropsInstance)
	if err != nil {
		return 0, 0, err
	}
	v := props[key]
	if v == "" {
		v = dflt
	}
	lo, hi, ok := strings.Cut(v, "-")
	l, err1 := strconv.Atoi(strings.TrimSpace(lo))
	h, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || l > h {
		return 0, 0, fmt.Errorf("controller property %s=%q is not a range low-high", key, v)
	}
	return int32(l), int32(h), nil
}

// lowestFree returns the lowest number in [lo, hi] that is not used.
func lowestFree(used []int32, lo, hi int32) (int32, bool) {
	taken := make(map[int32]bool, len(used))
	for _, u := range used {
		taken[u] = true
	}
	for n := lo; n <= hi; n++ {
		if !taken[n] {
			return n, true
		}
	}
	return 0, false
}

// numberColumn is a column that numbers of a pool are kept in.
type numberColumn struct {
	model  any
	column string
}

// tcpPorts are where TCP ports are kept: the definitions' DRBD ports and
// the ports of connections through DRBD Proxy share one pool.
var tcpPorts = []numberColumn{{&ResourceDefinitionRow{}, "drbd_port"}, {&ResourceConnectionRow{}, "tcp_port"}}

// allocate picks a free number of the range held in the controller
// property key, one that none of the columns holds.
func allocate(tx *gorm.DB, key, dflt string, kind Kind, what string, code uint64, in ...numberColumn) (int32, error) {
	lo, hi, err := numberRange(tx, key, dflt)
	if err != nil {
		return 0, err
	}
	var used []int32
	for _, c := range in {
		var some []int32
		if err := tx.Model(c.model).Where(c.column+" BETWEEN ? AND ?", lo, hi).Pluck(c.column, &some).Error; err != nil {
			return 0, err
		}
		used = append(used, some...)
	}
	n, ok := lowestFree(used, lo, hi)
	if !ok {
		e := refuse(Exhausted, kind, fmt.Sprintf("No free %s is left in %d-%d.", what, lo, hi),
			fmt.Sprintf("Every %s of the controller property %s is taken.", what, key),
			fmt.Sprintf("Widen %s with controller set-property.", key))
		e.Code = code
		return 0, e
	}
	return n, nil
}
