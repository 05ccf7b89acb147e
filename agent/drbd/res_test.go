package drbd

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/agent/execrun"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// resource is a three-node resource, one of them diskless, as rendered
// for the machine the test runs on (drbdadm reads the file as that host).
func resource(t *testing.T) Resource {
	host, err := os.Hostname()
	require.NoError(t, err)
	return Resource{
		Name: "backups", Local: host, Port: 7000, Secret: "Xq9-secret",
		Nodes: []Node{
			{Name: host, NodeID: 0, Address: "10.0.0.1"},
			{Name: "bravo", NodeID: 1, Address: "10.0.0.2"},
			{Name: "charlie", NodeID: 2, Address: "fd00::3", Diskless: true},
		},
		Volumes: []Volume{{Nr: 0, Minor: 1000, Disk: "/dev/loop7"}, {Nr: 1, Minor: 1001, Disk: "/dev/loop8"}},
		Options: map[string]string{
			"DrbdOptions/Resource/quorum":       "majority",
			"DrbdOptions/Resource/on-no-quorum": "io-error",
			"DrbdOptions/Net/protocol":          "C",
			"DrbdOptions/Net/verify-alg":        "crc32c",
			"DrbdOptions/Disk/al-extents":       "6007",
			"DrbdOptions/PeerDevice/c-max-rate": "4096000",
			"DrbdOptions/Handlers/split-brain":  "/usr/lib/drbd/notify-split-brain.sh root",
			"Aux/ignored":                       "x",
		},
		PeerOptions: map[string]map[string]string{"bravo": {"DrbdOptions/Net/max-buffers": "8192", "DrbdOptions/PeerDevice/resync-rate": "100M"}},
	}
}

func TestRenderedFileIsValidDRBD(t *testing.T) {
	r := resource(t)
	res, err := Render(r)
	require.NoError(t, err)
	requireGolden(t, r, "backups.res")

	require.NoError(t, Check(context.Background(), execrun.Exec{}, "backups", res), "drbdadm accepts:\n%s", res)
}

func TestDrbdadmRefusesBadOptions(t *testing.T) {
	tests := []struct{ key, value, complaint string }{
		{"DrbdOptions/Net/protocol", "Z", "protocol"},
		{"DrbdOptions/Net/no-such-option", "1", "no-such-option"},
		{"DrbdOptions/Disk/al-extents", "lots", "al-extents"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r := resource(t)
			r.Options[tt.key] = tt.value
			res, err := Render(r)
			require.NoError(t, err)
			err = Check(context.Background(), execrun.Exec{}, "backups", res)
			require.Error(t, err)
			require.Contains(t, err.Error(), "drbdadm --config-file")
			require.Contains(t, err.Error(), tt.complaint)
		})
	}
}

func TestRenderRefusesWhatCannotBeWritten(t *testing.T) {
	r := resource(t)
	r.Local = "delta"
	_, err := Render(r)
	require.ErrorContains(t, err, "node delta does not hold it")
	r = resource(t)
	r.Nodes[1].Address = "nowhere"
	_, err = Render(r)
	require.ErrorContains(t, err, `invalid address "nowhere"`)
}

// Two network paths to a peer render as path sections that drbdadm
// accepts and turns into one new-path each.
func TestRenderedPathsAreValidDRBD(t *testing.T) {
	r := resource(t)
	r.Paths = map[string][]Path{"bravo": {{Local: "10.0.0.1", Peer: "10.0.0.2"}, {Local: "192.168.1.1", Peer: "192.168.1.2"}}}
	res, err := Render(r)
	require.NoError(t, err)
	require.Contains(t, res, "        path\n        {\n            host")
	require.NoError(t, Check(context.Background(), execrun.Exec{}, "backups", res), "drbdadm accepts:\n%s", res)
	adm := Adm{Dir: t.TempDir(), Run: dryRun{}}
	_, err = adm.Write(context.Background(), "backups", res)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, Adm{Dir: adm.Dir, Run: recorder{dryRun{}, &out}}.Adjust(context.Background(), "backups"))
	require.Contains(t, out.String(), "drbdsetup new-path backups 1 ipv4:10.0.0.1:7000 ipv4:10.0.0.2:7000")
	require.Contains(t, out.String(), "drbdsetup new-path backups 1 ipv4:192.168.1.1:7000 ipv4:192.168.1.2:7000")
}

// A connection through DRBD Proxy, as LINSTOR's satellites render it
// (drbd-proxy enable, options, compression), checked by drbdadm: DRBD
// talks to the proxy on its own node, the proxies to each other.
func TestRenderedProxyIsValidDRBD(t *testing.T) {
	r := resource(t)
	r.Proxy = map[string]int32{"charlie": 7701}
	r.ProxyCompression = "zlib"
	r.Options["DrbdOptions/Proxy/memlimit"] = "100000000"
	r.Options["DrbdOptions/ProxyCompression/level"] = "9"
	res, err := Render(r)
	require.NoError(t, err)
	require.NoError(t, Check(context.Background(), execrun.Exec{}, "backups", res), "drbdadm accepts:\n%s", res)

	requireGolden(t, r, "backups-proxy.res")
}

// requireGolden compares r, rendered for a host named "node0" (the host
// name is the only thing that differs from machine to machine), with the
// golden file (rewritten with -update).
func requireGolden(t *testing.T, r Resource, file string) {
	t.Helper()
	r.Nodes = append([]Node(nil), r.Nodes...)
	r.Local, r.Nodes[0].Name = "node0", "node0"
	golden, err := Render(r)
	require.NoError(t, err)
	path := filepath.Join("testdata", file)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(golden), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), golden)
}
