package store

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"strata/apicall"
)

// A propRule is one key of LINSTOR's property whitelist: its value type,
// the values it allows, its default and unit, the objects that accept it,
// whether LINSTOR sets it itself, and its description.
type propRule struct {
	key, typ, values, dflt, unit, objects string
	internal                              bool
	info                                  string
}

// propObject is the whitelist's name for the objects of a kind. Groups
// accept what their definitions accept, as in LINSTOR.
var propObject = map[Kind]string{
	KindController:         "controller",
	KindNode:               "node",
	KindStorPoolDefinition: "storagepool-definition",
	KindStoragePool:        "storagepool",
	KindResourceGroup:      "resource-definition",
	KindResourceDefinition: "resource-definition",
	KindResource:           "resource",
	KindVolumeGroup:        "volume-definition",
	KindVolumeDefinition:   "volume-definition",
	KindVolume:             "volume",
	KindSnapshot:           "snapshot-definition",
}

var (
	rulesByKey = func() map[string][]propRule {
		m := map[string][]propRule{}
		for _, r := range slices.Concat(knownProps, unlistedProps, drbdProxyProps) {
			m[r.key] = append(m[r.key], r)
		}
		return m
	}()
	// unlistedProps are keys LINSTOR's controller reads that its
	// generated property list leaves out.
	unlistedProps = []propRule{
		{key: "AutoSnapshot/Prefix", typ: "string", objects: "controller,resource-definition", info: "The prefix of auto-snapshots' names (default autoSnap)"},
		{key: KeyMaxConcurrentCopies, typ: "long", objects: "controller,node", info: "How many volumes of clones a node copies at once, where the pool cannot take snapshots (default 2; negative: no limit)"},
		{key: KeyMaxConcurrentMoves, typ: "long", objects: "controller,node", info: "How many resources an evacuation moves at once from or to a node (default 8; negative: no limit)"},
		{key: KeyShipPortRange, typ: "regex", values: `[0-9]+-[0-9]+`, objects: "controller", info: "Range of the ports a node listens on for snapshots shipped from a LINSTOR remote (default=" + DefaultShipPortRange + ")"},
	}
	drbdOptionKey = regexp.MustCompile(`^DrbdOptions/(Net|Disk|Resource|PeerDevice|Handlers)/[a-z0-9][a-z0-9-]*$`)
	pathKey       = regexp.MustCompile(`^Paths/[A-Za-z0-9_-]+/[A-Za-z0-9.-]+$`)
)

// LINSTOR's database holds property keys of up to 512 bytes and values
// of up to 4096 (PROPS_CONTAINERS); Strata refuses longer ones, the
// same on SQLite and PostgreSQL.
const (
	MaxPropKeyBytes   = 512
	MaxPropValueBytes = 4096
)

// checkPropKey refuses a key that is not a '/'-separated path of
// printable parts within LINSTOR's length: the syntax of every key, set
// or deleted.
func checkPropKey(kind Kind, key string) *Error {
	var cause string
	switch {
	case key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "//"):
		cause = "A property key is a '/'-separated path without empty parts."
	case len(key) > MaxPropKeyBytes:
		cause = fmt.Sprintf("A property key holds at most %d bytes; this one %d.", MaxPropKeyBytes, len(key))
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		cause = "A property key holds no control characters."
	default:
		return nil
	}
	e := refuse(Invalid, kind, fmt.Sprintf("The property key '%s' is invalid.", apicall.Clip(key)), cause, "")
	e.Code = apicall.FailInvldProp
	return e
}

// invalidProp refuses a property's value, quoting key and value clipped.
func invalidProp(kind Kind, key, value, cause, correction string) *Error {
	e := refuse(Invalid, kind, fmt.Sprintf("The property '%s' with value '%s' is invalid.", apicall.Clip(key), apicall.Clip(value)), cause, correction)
	e.Code = apicall.FailInvldProp
	return e
}

// CheckProp validates one key and value for an object of kind, as
// LINSTOR's property whitelist does. The Aux/ namespace is free for users
// on every object; DRBD options (DrbdOptions/<section>/<option>) are passed
// to drbdsetup, which knows their values.
func CheckProp(kind Kind, key, value string) *Error {
	bad := func(cause string) *Error {
		return invalidProp(kind, key, value, cause, "See the properties info of the object (…/properties/info) for the allowed keys and values.")
	}
	if err := checkPropKey(kind, key); err != nil {
		return err
	}
	switch {
	case len(value) > MaxPropValueBytes:
		return bad(fmt.Sprintf("A property value holds at most %d bytes; this one %d.", MaxPropValueBytes, len(value)))
	case strings.ContainsFunc(value, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }):
		return bad("A property value holds no control characters.")
	case strings.HasPrefix(key, "Aux/") || kind == KindKeyValueStore: // the user's own keys
		return nil
	case drbdOptionKey.MatchString(key):
		if kind == KindStorPoolDefinition {
			return bad("DRBD options cannot be set on a storage pool definition.")
		}
		if value == "" {
			return bad("A DRBD option needs a value.")
		}
		return nil
	case kind == KindNodeConnection || kind == KindResourceConnection:
		if pathKey.MatchString(key) {
			return nil
		}
		return bad(fmt.Sprintf("The key '%s' is not whitelisted for connections: use DrbdOptions/Net/…, DrbdOptions/PeerDevice/…, Paths/<path>/<node> or Aux/….", key))
	}
	rules := rulesByKey[key]
	if len(rules) == 0 {
		return bad(fmt.Sprintf("The key '%s' is not whitelisted.", key))
	}
	obj := propObject[kind]
	for _, r := range rules {
		if !strings.Contains(","+r.objects+",", ","+obj+",") {
			continue
		}
		if why := r.check(value); why != "" {
			return bad(why)
		}
		return nil
	}
	return bad(fmt.Sprintf("The key '%s' cannot be set on a %s (only on: %s).", key, obj, rules[0].objects))
}

var regexCache = map[string]*regexp.Regexp{}

func init() {
	for _, r := range knownProps {
		if r.typ == "regex" {
			regexCache[r.values] = regexp.MustCompile(`^(?:` + r.values + `)$`)
		}
	}
}

// check returns why value does not fit the rule, or "".
func (r propRule) check(value string) string {
	switch r.typ {
	case "boolean_true_false":
		if !strings.EqualFold(value, "true") && !strings.EqualFold(value, "false") {
			return "The value must be 'true' or 'false'."
		}
	case "long":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return "The value must be a whole number."
		}
	case "range", "range-float":
		lo, hi, _ := strings.Cut(r.values, "..")
		min, _ := strconv.ParseFloat(lo, 64)
		max, _ := strconv.ParseFloat(hi, 64)
		var v float64
		var err error
		if r.typ == "range" {
			var n int64
			n, err = strconv.ParseInt(value, 10, 64)
			v = float64(n)
		} else {
			v, err = strconv.ParseFloat(value, 64)
		}
		if err != nil || math.IsNaN(v) || v < min || v > max {
			return fmt.Sprintf("The value must be a number from %s to %s.", lo, hi)
		}
	case "symbol":
		for _, s := range strings.Split(r.values, " / ") {
			if value == s {
				return ""
			}
		}
		return fmt.Sprintf("The value must be one of: %s.", strings.ReplaceAll(r.values, " / ", ", "))
	case "regex":
		if !regexCache[r.values].MatchString(value) {
			return fmt.Sprintf("The value must match %s.", r.values)
		}
	}
	return ""
}

// PropInfo describes a settable property as LINSTOR's properties/info
// endpoints do.
type PropInfo struct {
	Info     string `json:"info,omitempty"`
	PropType string `json:"prop_type,omitempty"`
	Value    string `json:"value,omitempty"`
	Dflt     string `json:"dflt,omitempty"`
	Unit     string `json:"unit,omitempty"`
}

// PropertiesInfo lists the whitelisted keys that users may set on objects
// of kind (LINSTOR's own internal keys left out). The free namespaces Aux/
// and DrbdOptions/<section>/ are not listed, as in LINSTOR.
func PropertiesInfo(kind Kind) map[string]PropInfo {
	obj := propObject[kind]
	out := map[string]PropInfo{}
	for _, r := range knownProps {
		if r.internal || !strings.Contains(","+r.objects+",", ","+obj+",") {
			continue
		}
		out[r.key] = r.propInfo()
	}
	return out
}

// propInfo is the rule as LINSTOR's properties info shows it.
func (r propRule) propInfo() PropInfo {
	value := r.values
	switch r.typ {
	case "range", "range-float":
		lo, hi, _ := strings.Cut(r.values, "..")
		value = "(" + lo + " - " + hi + ")"
	case "symbol":
		value = strings.ReplaceAll(r.values, " / ", "|")
	}
	return PropInfo{Info: r.info, PropType: r.typ, Value: value, Dflt: r.dflt, Unit: r.unit}
}

// PropertiesInfoEntities names, upper-case as LINSTOR's info/all answer
// does, the kinds of objects that take properties.
var PropertiesInfoEntities = map[string]Kind{
	"CONTROLLER":             KindController,
	"NODE":                   KindNode,
	"STORAGEPOOL_DEFINITION": KindStorPoolDefinition,
	"STORAGEPOOL":            KindStoragePool,
	"RESOURCE_GROUP":         KindResourceGroup,
	"VOLUME_GROUP":           KindVolumeGroup,
	"RESOURCE_DEFINITION":    KindResourceDefinition,
	"VOLUME_DEFINITION":      KindVolumeDefinition,
	"RESOURCE":               KindResource,
	"VOLUME":                 KindVolume,
	"NODE_CONNECTION":        KindNodeConnection,
	"RESOURCE_CONNECTION":    KindResourceConnection,
}
