package cli

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// propsObject describes an object whose properties the client sets and
// lists: its positional arguments and where it lives in the REST API.
type propsObject struct {
	args   []string                // positional arguments naming it, e.g. NODE POOL
	path   func(a []string) string // its REST path: GET reads it, modifyMethod changes it
	method string                  // PUT, or POST for the controller
	// props reads the properties out of the GET answer; nil: {"props": …}.
	props func(raw []byte) (map[string]string, error)
}

func objectProps(raw []byte) (map[string]string, error) {
	var o struct {
		Props map[string]string `json:"props"`
	}
	err := json.Unmarshal(raw, &o)
	return o.Props, err
}

// firstProps reads the properties of the first object of a list answer
// (connections are answered as lists).
func firstProps(raw []byte) (map[string]string, error) {
	var l []struct {
		Props map[string]string `json:"props"`
	}
	if err := json.Unmarshal(raw, &l); err != nil || len(l) == 0 {
		return nil, err
	}
	return l[0].Props, nil
}

func (p propsObject) use(verb string, rest ...string) string {
	return strings.Join(append(append([]string{verb}, p.args...), rest...), " ")
}

// propsCommands are set-property and list-properties of an object.
func (a *app) propsCommands(p propsObject) []*cobra.Command {
	var aux bool
	set := verb(p.use("set-property", "KEY", "[VALUE]"), "set a property (without VALUE: delete it)", aliasSetProp,
		cobra.RangeArgs(len(p.args)+1, len(p.args)+2), func(cmd *cobra.Command, args []string) error {
			key := args[len(p.args)]
			if aux {
				key = "Aux/" + key
			}
			change := map[string]any{"delete_props": []string{key}}
			if len(args) == len(p.args)+2 {
				change = map[string]any{"override_props": map[string]string{key: args[len(p.args)+1]}}
			}
			return a.write(cmd.Context(), p.method, p.path(args[:len(p.args)]), change)
		})
	set.Flags().BoolVar(&aux, "aux", false, "the key is in the user's Aux/ namespace")
	list := verb(p.use("list-properties"), "list the properties", aliasListProps, cobra.ExactArgs(len(p.args)),
		func(cmd *cobra.Command, args []string) error {
			raw, err := a.get(cmd.Context(), p.path(args), nil, nil)
			if err != nil {
				return err
			}
			read := p.props
			if read == nil {
				read = objectProps
			}
			props, err := read(raw)
			if err != nil {
				return err
			}
			return a.propsTable(raw, props)
		})
	return []*cobra.Command{set, list}
}

func (a *app) propsTable(raw []byte, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rows := make([][]string, len(keys))
	for i, k := range keys {
		rows[i] = []string{k, props[k]}
	}
	return a.list(raw, []string{"Key", "Value"}, rows)
}

// drbdOptions are the drbdsetup options the client offers as flags, by
// the section of DrbdOptions/<section>/ they belong to.
var drbdOptions = map[string][]string{
	"Net": {"protocol", "verify-alg", "csums-alg", "data-integrity-alg", "cram-hmac-alg", "shared-secret", "max-buffers", "max-epoch-size",
		"sndbuf-size", "rcvbuf-size", "timeout", "connect-int", "ping-int", "ping-timeout", "ko-count", "allow-two-primaries",
		"after-sb-0pri", "after-sb-1pri", "after-sb-2pri", "rr-conflict", "fencing", "congestion-fill", "congestion-extents", "on-congestion"},
	"Disk": {"al-extents", "al-updates", "on-io-error", "disk-barrier", "disk-flushes", "disk-drain", "md-flushes", "disk-timeout",
		"read-balancing", "discard-zeroes-if-aligned", "rs-discard-granularity", "resync-after"},
	"PeerDevice": {"resync-rate", "c-plan-ahead", "c-delay-target", "c-fill-target", "c-max-rate", "c-min-rate", "bitmap"},
	"Resource": {"quorum", "quorum-minimum-redundancy", "on-no-quorum", "on-no-data-accessible", "on-suspended-primary-outdated",
		"auto-promote", "cpu-mask", "peer-ack-window", "peer-ack-delay", "twopc-timeout"},
	// Proxy: DRBD Proxy's own options (drbd-proxy options).
	"Proxy": {"memlimit", "ping-timeout", "rcvbuf-size", "read-loops", "sndbuf-size"},
	"Handlers": {"before-resync-target", "after-resync-target", "before-resync-source", "fence-peer", "unfence-peer", "split-brain",
		"local-io-error", "quorum-lost", "pri-on-incon-degr", "pri-lost-after-sb", "initial-split-brain"},
}

// drbdOptionsCommand sets and unsets DRBD options of the given sections
// as DrbdOptions/<section>/<option> properties: --OPTION VALUE sets,
// --unset-OPTION deletes.
func (a *app) drbdOptionsCommand(use, short string, p propsObject, sections ...string) *cobra.Command {
	type opt struct{ key, name string }
	var opts []opt
	values, unset := map[string]*string{}, map[string]*bool{}
	cmd := verb(p.use(use), short, []string{"opt"}, cobra.ExactArgs(len(p.args)), nil)
	for _, sec := range sections {
		for _, name := range drbdOptions[sec] {
			if cmd.Flags().Lookup(name) != nil {
				continue
			}
			opts = append(opts, opt{"DrbdOptions/" + sec + "/" + name, name})
			values[name] = cmd.Flags().String(name, "", "DRBD "+strings.ToLower(sec)+" option "+name)
			unset[name] = cmd.Flags().Bool("unset-"+name, false, "remove the "+name+" option")
		}
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		override, del := map[string]string{}, []string{}
		for _, o := range opts {
			if cmd.Flags().Changed(o.name) {
				override[o.key] = *values[o.name]
			}
			if *unset[o.name] {
				del = append(del, o.key)
			}
		}
		if len(override)+len(del) == 0 {
			return &exitError{exitUsage, "No option given: name at least one, such as --" + opts[0].name + " VALUE or --unset-" + opts[0].name}
		}
		return a.write(cmd.Context(), p.method, p.path(args), map[string]any{"override_props": override, "delete_props": del})
	}
	return cmd
}
