package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"strata/restapi"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestTables(t *testing.T) {
	headers := []string{"Node", "NodeType", "Addresses", "State"}
	rows := func() [][]string {
		return [][]string{
			{"charlie", "SATELLITE", "10.0.0.3:3366 (PLAIN)", "OFFLINE"},
			{"alpha", "COMBINED", "10.0.0.1:3367 (SSL)", "Online"},
			{"bravo", "SATELLITE", "10.0.0.2:3366 (PLAIN)", "Online"},
		}
	}
	tests := []struct {
		name string
		out  output
	}{
		{"nodes-utf8.golden", output{utf8: true}},
		{"nodes-ascii.golden", output{}},
		{"nodes-groupby-state.golden", output{utf8: true, groupBy: []string{"state", "Node"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.out.w = &buf
			require.NoError(t, tt.out.table(headers, rows()))
			golden(t, tt.name, buf.Bytes())
		})
	}
	err := (&output{w: &bytes.Buffer{}, groupBy: []string{"Size"}}).table(headers, rows())
	require.ErrorContains(t, err, `Unknown column "Size"`)
}

func TestReplies(t *testing.T) {
	var buf bytes.Buffer
	o := output{w: &buf}
	err := o.replies([]byte(`[
		{"ret_code": 20709377, "message": "New node 'alpha' registered.", "details": "Node UUID is: 1234"},
		{"ret_code": -9223372036834065430, "message": "No active connection to satellite 'alpha'"},
		{"ret_code": -4611686018406678028, "message": "Node 'alpha' already exists.", "cause": "A node of that name is registered.", "correction": "Choose another name.", "error_report_ids": ["6A1B2C3D-00000-000000"]}
	]`))
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, exitAPIError, ee.code, "an ERROR entry fails the command")
	golden(t, "replies.golden", buf.Bytes())

	buf.Reset()
	require.NoError(t, o.replies([]byte(`[{"ret_code": 4611686018427397904, "message": "No resources were spawned."}]`)), "INFO alone succeeds")
	require.Contains(t, buf.String(), "INFO:\nDescription:\n    No resources were spawned.")
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		kib  int64
		fail bool
	}{
		{"500G", 500 << 20, false},
		{"100M", 100 << 10, false},
		{"20", 20 << 20, false}, // no unit: GiB
		{"1.5TiB", 3 << 29, false},
		{"10GB", 9765625, false},
		{"4096K", 4096, false},
		{"1kB", 1, false}, // rounded up
		{"100B", 1, false},
		{"1 GiB", 1 << 20, false},
		{"ten", 0, true},
		{"10X", 0, true},
		{"0", 0, true},
		{"-5G", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			kib, err := parseSize(tt.in)
			if tt.fail {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.kib, kib)
		})
	}
	require.Equal(t, "100 GiB", formatKiB(100<<20))
	require.Equal(t, "1.5 TiB", formatKiB(3<<29))
	require.Equal(t, "512 KiB", formatKiB(512))
}

func TestExpandMultiValue(t *testing.T) {
	cmd := &cobra.Command{Use: "list"}
	cmd.Flags().StringSliceP("nodes", "n", nil, "")
	cmd.Flags().StringArray("props", nil, "")
	cmd.Flags().StringP("storage-pool", "s", "", "")
	tests := []struct{ in, want []string }{
		{[]string{"-n", "alpha", "bravo"}, []string{"-n", "alpha", "--nodes", "bravo"}},
		{[]string{"--nodes", "a", "b", "--props", "Aux/x=1", "Aux/y=2"}, []string{"--nodes", "a", "--nodes", "b", "--props", "Aux/x=1", "--props", "Aux/y=2"}},
		{[]string{"-s", "pool", "alpha", "res"}, []string{"-s", "pool", "alpha", "res"}}, // a single-value flag
		{[]string{"--nodes=a", "b"}, []string{"--nodes=a", "b"}},
		{[]string{"-n", "a", "--", "b"}, []string{"-n", "a", "--", "b"}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, expandMultiValue(cmd, tt.in), "%v", tt.in)
	}
}

func TestControllerAddresses(t *testing.T) {
	tests := []struct {
		conn connection
		want []string
	}{
		{connection{controllers: "alice"}, []string{"http://alice:3370"}},
		{connection{controllers: "alice, bob:4000"}, []string{"http://alice:3370", "http://bob:4000"}},
		{connection{controllers: "linstor+ssl://alice"}, []string{"https://alice:3371"}},
		{connection{controllers: "linstor://alice"}, []string{"http://alice:3370"}},
		{connection{controllers: "alice", caFile: "ca.pem"}, []string{"https://alice:3371"}},
		{connection{controllers: "https://alice:9000"}, []string{"https://alice:9000"}},
	}
	for _, tt := range tests {
		got, err := tt.conn.baseURLs()
		require.NoError(t, err)
		require.Equal(t, tt.want, got, tt.conn.controllers)
	}
	_, err := (&connection{controllers: " , "}).baseURLs()
	require.Error(t, err)

	dir := t.TempDir()
	conf := filepath.Join(dir, "linstor-client.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[other]\ncontrollers = no\n[global]\ncontrollers = ctrl-1,ctrl-2\n"), 0o644))
	require.Equal(t, "ctrl-1,ctrl-2", controllersFromConfig(conf))
}

// The Conns and State columns of resource list, from what agents report.
func TestResourceListColumns(t *testing.T) {
	for _, tt := range []struct{ name, json, conns, state string }{
		{"DRBD connected", `{"layer_object": {"drbd": {"connections": {"bravo": {"connected": true, "message": "Connected"}}}},
			"volumes": [{"state": {"disk_state": "UpToDate"}, "layer_data_list": [{"type": "DRBD"}, {"type": "STORAGE"}]}]}`, "Ok", "UpToDate"},
		{"DRBD not connected", `{"layer_object": {"drbd": {"connections": {"charlie": {"message": "StandAlone"}, "bravo": {"message": "Connecting"}}}},
			"volumes": [{"state": {"disk_state": "Outdated"}}]}`, "Connecting(bravo),StandAlone(charlie)", "Outdated"},
		{"storage only", `{"volumes": [{"state": {"disk_state": "UpToDate"}, "layer_data_list": [{"type": "STORAGE"}]}]}`, "Ok", "UpToDate"},
		{"DRBD not reported yet", `{"volumes": [{"layer_data_list": [{"type": "DRBD"}, {"type": "STORAGE"}]}]}`, "Unknown", "Unknown"},
		{"nothing reported", `{"volumes": [{}]}`, "Unknown", "Unknown"},
		{"tie-breaker", `{"flags": ["DRBD_DISKLESS", "TIE_BREAKER"], "volumes": [{}]}`, "Unknown", "TieBreaker"},
		{"being deleted", `{"flags": ["DELETE"], "volumes": [{}]}`, "Unknown", "DELETING"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r restapi.ResourceWithVolumes
			require.NoError(t, json.Unmarshal([]byte(tt.json), &r))
			require.Equal(t, tt.conns, resourceConns(r))
			require.Equal(t, tt.state, resourceState(r))
		})
	}
}
