package tests

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// cliRun runs the strata client with env added and returns its output and
// exit code.
func cliRun(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t, "strata"), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	harness.NoSecret(t, "the output of strata "+strings.Join(args, " "), stdout.String()+stderr.String())
	return stdout.String(), stderr.String(), code
}

// The command examples of user guide chapters 1 and 2 that the controller
// supports so far, typed as the guide has them with strata for linstor,
// against a real controller.
func TestGuideCommands(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	host := strings.TrimPrefix(c.URL, "http://")
	env := []string{"LS_CONTROLLERS=" + host}
	ok := func(line string, want ...string) string {
		t.Helper()
		out, errOut, code := cliRun(t, env, strings.Fields(line)...)
		require.Zero(t, code, "strata %s\n%s%s", line, out, errOut)
		for _, w := range want {
			require.Contains(t, out, w, "strata %s", line)
		}
		return out
	}
	fails := func(line string, code int, want string) {
		t.Helper()
		out, errOut, got := cliRun(t, env, strings.Fields(line)...)
		require.Equal(t, code, got, "strata %s\n%s%s", line, out, errOut)
		require.Contains(t, out+errOut, want, "strata %s", line)
	}

	// 1.9 Using the client: controller discovery and abbreviations.
	out, _, code := cliRun(t, nil, "--controllers="+host, "node", "list")
	require.Zero(t, code, out)
	require.Contains(t, out, "┊ Node ┊ NodeType ┊ Addresses ┊ State ┊")
	ok("n l", "NodeType")

	// 1.10, 1.11 Nodes and storage pools. The guide's `node create bravo`
	// resolves the name; these hosts exist only in the test, so their
	// addresses are given.
	for i, n := range []string{"alpha", "bravo", "charlie", "node-0", "node-1", "node-2"} {
		ok("node create "+n+" 10.0.0."+string(rune('1'+i)), "New node '"+n+"' registered.")
	}
	ok("node list", "10.0.0.1:3366 (PLAIN)", "OFFLINE")
	ok("storage-pool create lvm alpha pool_ssd vg_ssd", "SUCCESS")
	ok("storage-pool create lvm bravo pool_ssd vg_ssd", "SUCCESS")
	ok("storage-pool-definition list", "pool_ssd", "DfltDisklessStorPool")
	ok("storage-pool list", "pool_ssd", "vg_ssd", "LVM")
	ok("sp l", "pool_ssd")
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		ok("storage-pool create lvm "+n+" pool_hdd vg_hdd", "SUCCESS")
	}

	// 1.12 Resource groups.
	ok("resource-group create my_ssd_group --storage-pool pool_ssd --place-count 2", "New resource group 'my_ssd_group' created.")
	ok("volume-group create my_ssd_group", "SUCCESS")
	ok("resource-group create my_verify_group --storage-pool pool_ssd --place-count 2", "SUCCESS")
	ok("resource-group drbd-options --verify-alg crc32c my_verify_group", "modified")
	ok("volume-group create my_verify_group", "SUCCESS")
	ok("resource-group list", "PlaceCount: 2", "StoragePool(s): pool_ssd")
	ok("resource-definition create res11 --resource-group my_verify_group", "SUCCESS")
	ok("resource-definition drbd-options --al-extents 6007 res11", "SUCCESS")
	ok("resource-definition drbd-options --verify-alg sha256 res11", "SUCCESS")
	ok("resource-definition list-properties res11", "DrbdOptions/Disk/al-extents", "6007", "DrbdOptions/Net/verify-alg", "sha256")
	ok("resource-group list-properties my_verify_group", "crc32c")

	// 1.14 Resources: definitions, volumes, manual placement.
	ok("resource-definition create backups", "New resource definition 'backups' created.")
	ok("volume-definition create backups 500G", "SUCCESS")
	ok("volume-definition set-size backups 0 100G", "modified")
	ok("volume-definition list", "backups", "100 GiB", "1000")
	// 2.4 Volumes of one resource in different storage pools.
	ok("volume-definition create backups 100G", "SUCCESS")
	ok("volume-definition set-property backups 0 StorPoolName pool_hdd", "SUCCESS")
	ok("volume-definition set-property backups 1 StorPoolName pool_ssd", "SUCCESS")
	ok("resource create alpha backups", "New resource 'backups' on node 'alpha' registered.")
	ok("resource create bravo backups", "SUCCESS")
	fails("resource create charlie backups", 10, "Storage pool 'pool_ssd' not found on node 'charlie'")
	ok("resource list", "backups", "alpha", "bravo", "7001") // res11 has 7000
	out = ok("resource list-volumes", "pool_hdd", "pool_ssd", "DfltDisklessStorPool")
	require.Equal(t, 6, strings.Count(out, "backups"), "two volumes on two nodes, and on the tie-breaker auto-quorum adds on a third (guide 2.15.3)")

	// 2.13.3 DRBD Proxy on the connection between alpha and bravo.
	ok("drbd-proxy enable alpha bravo backups", "DRBD Proxy enabled")
	ok("drbd-proxy options backups --memlimit 100000000", "SUCCESS")
	ok("drbd-proxy compression zlib backups --level 9", "SUCCESS")
	ok("resource-definition list-properties backups", "DrbdProxy/CompressionType", "zlib", "DrbdOptions/ProxyCompression/level", "DrbdOptions/Proxy/memlimit")
	fails("drbd-proxy compression zlib backups --level 10", 10, "The property 'DrbdOptions/ProxyCompression/level' with value '10' is invalid.")
	ok("drbd-proxy disable alpha bravo backups", "DRBD Proxy disabled")

	// 1.14.2 The autoplacer's settings (placement itself comes later).
	ok("controller set-property Autoplacer/Weights/MaxFreeSpace 1", "SUCCESS")
	for _, n := range []string{"node-0", "node-2"} {
		ok("node set-property --aux "+n+" testProperty 1", "SUCCESS")
	}
	ok("node set-property --aux node-1 testProperty 0", "SUCCESS")
	ok("resource-group create testRscGrp --place-count 2 --replicas-on-same testProperty=1", "SUCCESS")
	ok("volume-group create testRscGrp", "SUCCESS")
	ok("node list-properties node-1", "Aux/testProperty", "0")
	ok("resource-group list", "ReplicasOnSame: testProperty=1")

	// Attach as linstor-csi does it: a diskless replica where DRBD has a
	// diskful peer; again changes nothing.
	ok("resource make-available node-0 backups", "New resource 'backups' on node 'node-0' registered.")
	ok("resource make-available node-0 backups", "Resource already deployed as requested")

	// 1.15 Deleting.
	ok("resource delete bravo backups", "deleted")
	ok("resource-definition create rd_in_group --resource-group my_ssd_group", "SUCCESS")
	fails("resource-group delete my_ssd_group", 10, "Cannot delete resource group 'my_ssd_group' because it has existing resource definitions.")
	ok("resource-definition modify rd_in_group --resource-group my_verify_group", "modified")
	ok("resource-group delete my_ssd_group", "deleted")
	ok("resource-definition list", "rd_in_group", "my_verify_group")
	ok("resource-definition delete backups", "deleted")

	ok("space-reporting query", "Total capacity:")
	ok("controller set-log-level debug", "Log level of the controller set to DEBUG.")

	// Key-value stores (linstor-csi's and the plug-ins' own state).
	ok("key-value-store modify csi owner linstor-csi", "Successfully updated properties")
	ok("kv list", "csi")
	ok("kv show csi", "owner", "linstor-csi")
	ok("kv m csi owner", "SUCCESS")
	fails("kv show csi", 10, "Could not find key value store instance 'csi'.")

	var rscs []map[string]any
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/resources", nil, &rscs)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, rscs, "what the client deleted is gone")
}

// Bad input: a short usage line or a one-line error, a non-zero exit,
// never a stack trace.
func TestCLIBadInput(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nodez", "list"}, 2, `unknown command "nodez"`},
		{[]string{"node", "list", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"node", "create"}, 2, "Usage: strata node create NODE [IP]"},
		{[]string{"volume-definition", "create", "res", "lots"}, 2, "invalid size"},
		{[]string{"--controllers", "127.0.0.1:1", "node", "list"}, 20, "Unable to connect"},
		{[]string{"node", "create", "bad_name", "10.0.0.1"}, 10, "Invalid node name 'bad_name'."},
		{[]string{"node", "list-properties", "nope"}, 10, "Node 'nope' not found."},
		{[]string{"resource-group", "drbd-options", "DfltRscGrp"}, 2, "No option given"},
		{[]string{"resource-group", "list", "--groupby", "Size"}, 2, `Unknown column "Size"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := cliRun(t, env, tt.args...)
			require.Equal(t, tt.code, code, "%s%s", out, errOut)
			require.Contains(t, out+errOut, tt.want)
			require.NotContains(t, out+errOut, "goroutine", "no stack trace")
			require.LessOrEqual(t, strings.Count(strings.TrimSpace(errOut), "\n"), 6, "short: %s", errOut)
		})
	}

	// --curl prints the call instead of making it; -m prints JSON.
	out, _, code := cliRun(t, env, "--curl", "node", "create", "n1", "10.0.0.1")
	require.Zero(t, code)
	require.Contains(t, out, "curl -X POST")
	require.Contains(t, out, `"name":"n1"`)
	var nodes []map[string]any
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/nodes", nil, &nodes)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, nodes, "--curl changes nothing")
	out, _, code = cliRun(t, env, "-m", "resource-group", "list")
	require.Zero(t, code)
	require.Contains(t, out, `"name": "DfltRscGrp"`)
	out, _, code = cliRun(t, env, "--no-utf8", "resource-group", "list")
	require.Zero(t, code)
	require.Contains(t, out, "| ResourceGroup |")
	out, _, _ = cliRun(t, env, "__complete", "resource-group", "list-properties", "Df")
	require.Contains(t, out, "DfltRscGrp", "completion offers the controller's names")
}

// A long operation started from the client is followed to its end with
// a progress display naming the workflow; the answer is the operation's.
func TestCLIFollowsLongOperation(t *testing.T) {
	c := harness.StartController(t, harness.ControllerOptions{})
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	out, errOut, code := cliRun(t, env, "controller", "backup-db", "first")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "SUCCESS:\nDescription:\n    Database backup 'first' created.")
	require.Contains(t, errOut, "100% done (workflow controller-backup-db:first)", "the progress lines on a non-terminal")
	_, err := os.Stat(filepath.Join(c.DataDir, "backups", "first"))
	require.NoError(t, err, "the backup file is written")

	out, errOut, code = cliRun(t, env, "controller", "backup-db", "first")
	require.Equal(t, 10, code, "%s%s", out, errOut)
	require.Contains(t, out, "Database backup 'first' already exists.")

	var op map[string]any
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/operations/controller-backup-db:first", nil, &op)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, op["finished"])
	require.EqualValues(t, 100, op["percent"])
	status, err = c.Do(context.Background(), http.MethodGet, "/v1/operations/no-such-workflow", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, status)
}
