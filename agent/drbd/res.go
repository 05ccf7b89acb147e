// Package drbd renders DRBD 9 resource files (.res) from a resource's
// nodes, volumes and DrbdOptions properties, and checks them with the
// machine's drbdadm before the agent uses them.
package drbd

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"strata/agent/execrun"
)

// Resource is what a node's .res file describes.
type Resource struct {
	Name   string
	Local  string // the node the file is for
	Port   int32  // the definition's DRBD port
	Secret string // the definition's shared secret
	Nodes  []Node
	// Volumes of the resource; Disk is this node's backing device (empty:
	// diskless here).
	Volumes []Volume
	// Options are the effective DrbdOptions/<section>/<option> properties.
	Options map[string]string
	// PeerOptions are DrbdOptions/Net/* and DrbdOptions/PeerDevice/* of a
	// connection, by the peer's name.
	PeerOptions map[string]map[string]string
	// Paths are a connection's network paths, by the peer's name; none:
	// one path between the nodes' addresses.
	Paths map[string][]Path
	// Proxy are the connections through DRBD Proxy on both nodes, with
	// their port, by the peer's name: DRBD talks to its local proxy, the
	// proxies to each other.
	Proxy map[string]int32
	// ProxyCompression is the proxy's compression plug-in (zlib, lzma,
	// lz4, zstd), its options DrbdOptions/ProxyCompression/* of Options.
	ProxyCompression string
}

// Path is one network path of a connection: this node's address and the
// peer's (for example over a second NIC).
type Path struct {
	Local, Peer string
}

// Node is a node holding the resource.
type Node struct {
	Name     string
	NodeID   int32
	Address  string // of its PrefNic interface, or its default one
	Diskless bool
}

// Volume is a volume of the resource.
type Volume struct {
	Nr    int32
	Minor int32
	Disk  string
}

// sections are where each DrbdOptions section goes in a .res file.
var sections = []struct{ prop, block string }{
	{"Resource", "options"},
	{"Net", "net"},
	{"Disk", "disk"},
	{"PeerDevice", "disk"},
	{"Handlers", "handlers"},
}

// Render writes the .res file of r.
func Render(r Resource) (string, error) {
	var b strings.Builder
	w := func(depth int, format string, args ...any) {
		b.WriteString(strings.Repeat("    ", depth) + fmt.Sprintf(format, args...) + "\n")
	}
	local, ok := r.node(r.Local)
	if !ok {
		return "", fmt.Errorf("resource %s: node %s does not hold it", r.Name, r.Local)
	}
	w(0, "# Written by strata-agent for node %s; changes are overwritten.", r.Local)
	w(0, "resource %q", r.Name)
	w(0, "{")
	blocks := map[string][]string{}
	for _, s := range sections {
		blocks[s.block] = append(blocks[s.block], options(r.Options, s.prop)...)
	}
	if r.Secret != "" {
		blocks["net"] = append([]string{"cram-hmac-alg sha1;", fmt.Sprintf("shared-secret %q;", r.Secret)}, blocks["net"]...)
	}
	for _, block := range []string{"options", "net", "disk", "handlers"} {
		writeBlock(w, 1, block, blocks[block])
	}
	nodes := append([]Node(nil), r.Nodes...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].NodeID < nodes[j].NodeID })
	for _, n := range nodes {
		w(1, "on %q", n.Name)
		w(1, "{")
		for _, v := range r.Volumes {
			w(2, "volume %d", v.Nr)
			w(2, "{")
			disk := "none"
			switch {
			case n.Name == r.Local && v.Disk != "":
				disk = v.Disk
			case n.Name != r.Local && !n.Diskless:
				// A peer's disk is its own business; drbdadm needs a name.
				disk = "/dev/drbd/this/is/not/used"
			}
			w(3, "disk %s;", disk)
			if disk != "none" {
				w(3, "meta-disk internal;")
			}
			w(3, "device minor %d;", v.Minor)
			w(2, "}")
		}
		w(2, "node-id %d;", n.NodeID)
		w(1, "}")
	}
	for _, n := range nodes {
		if n.Name == r.Local {
			continue
		}
		w(1, "connection")
		w(1, "{")
		peer := r.PeerOptions[n.Name]
		writeBlock(w, 2, "net", options(peer, "Net"))
		writeBlock(w, 2, "disk", options(peer, "PeerDevice"))
		paths := r.Paths[n.Name]
		if len(paths) == 0 {
			paths = []Path{{Local: local.Address, Peer: n.Address}}
		}
		for _, p := range paths {
			depth := 2
			if len(r.Paths[n.Name]) > 0 {
				w(2, "path")
				w(2, "{")
				depth = 3
			}
			port, proxied := r.Proxy[n.Name]
			if !proxied {
				port = r.Port
			}
			for _, end := range []struct{ name, addr string }{{local.Name, p.Local}, {n.Name, p.Peer}} {
				addr, err := address(end.addr, port)
				if err != nil {
					return "", fmt.Errorf("resource %s, node %s: %w", r.Name, end.name, err)
				}
				if !proxied {
					w(depth, "host %q address %s;", end.name, addr)
					continue
				}
				// DRBD connects to the proxy on its own node, which
				// reaches the peer's proxy at the node's address.
				w(depth, "host %q address 127.0.0.1:%d via proxy on %q", end.name, port, end.name)
				w(depth, "{")
				w(depth+1, "inside 127.0.0.2:%d;", port)
				w(depth+1, "outside %s;", addr)
				w(depth, "}")
			}
			if depth == 3 {
				w(2, "}")
			}
		}
		w(1, "}")
	}
	writeProxy(w, r)
	w(0, "}")
	return b.String(), nil
}

// writeProxy writes the proxy section: DRBD Proxy's options and its
// compression plug-in, when the resource has either.
func writeProxy(w func(int, string, ...any), r Resource) {
	lines := options(r.Options, "Proxy")
	plugin := r.ProxyCompression != "" && r.ProxyCompression != "none"
	if len(lines) == 0 && !plugin {
		return
	}
	w(1, "proxy")
	w(1, "{")
	for _, l := range lines {
		w(2, "%s", l)
	}
	if plugin {
		terms := []string{r.ProxyCompression}
		prefix := "DrbdOptions/ProxyCompression/"
		var keys []string
		for k := range r.Options {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			terms = append(terms, strings.TrimPrefix(k, prefix), quote(r.Options[k]))
		}
		writeBlock(w, 2, "plugin", []string{strings.Join(terms, " ") + ";"})
	}
	w(1, "}")
}

func (r Resource) node(name string) (Node, bool) {
	for _, n := range r.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// options are the "name value;" lines of one DrbdOptions section, sorted.
func options(props map[string]string, section string) []string {
	prefix := "DrbdOptions/" + section + "/"
	var out []string
	for k, v := range props {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, fmt.Sprintf("%s %s;", name, quote(v)))
		}
	}
	sort.Strings(out)
	return out
}

// quote leaves plain words as they are and quotes anything else.
func quote(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return v
	}
	return fmt.Sprintf("%q", v)
}

func writeBlock(w func(int, string, ...any), depth int, name string, lines []string) {
	if len(lines) == 0 {
		return
	}
	w(depth, "%s", name)
	w(depth, "{")
	for _, l := range lines {
		w(depth+1, "%s", l)
	}
	w(depth, "}")
}

// address is DRBD's form of an address and port.
func address(ip string, port int32) (string, error) {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return "", fmt.Errorf("invalid address %q", ip)
	case parsed.To4() != nil:
		return fmt.Sprintf("ipv4 %s:%d", ip, port), nil
	}
	return fmt.Sprintf("ipv6 [%s]:%d", ip, port), nil
}

// Check has drbdadm parse a rendered resource file on its own, as it
// will be read when the resource is brought up; drbdadm's complaint comes
// back with the command line.
func Check(ctx context.Context, run execrun.Runner, name, res string) error {
	dir, err := os.MkdirTemp("", "strata-drbd-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	resFile := filepath.Join(dir, name+".res")
	conf := filepath.Join(dir, "drbd.conf")
	if err := os.WriteFile(resFile, []byte(res), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("include %q;\n", resFile)), 0o600); err != nil {
		return err
	}
	if _, err := run.Run(ctx, "drbdadm", "--config-file", conf, "sh-nop"); err != nil {
		return fmt.Errorf("resource file of %s: %w", name, err)
	}
	return nil
}
