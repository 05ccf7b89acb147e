package tests

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// An SOS report, as LINSTOR's sos-report download makes it: the
// controller's part and each node's, in one tarball; a node whose agent is
// gone gets a note; no secret is inside.
func TestSOSReport(t *testing.T) {
	dirs := map[string]string{"alpha": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	passphrase := harness.Secret("sos-master-Passphrase")
	c := harness.StartController(t, harness.ControllerOptions{Config: fmt.Sprintf("[encrypt]\npassphrase = %q\n", passphrase)})
	ag := harness.StartAgent(t)
	alphaWithPool(t, c, ag, dirs["alpha"])
	must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": "ghost", "type": "satellite", // no agent answers for it
		"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": harness.FreePort(t)}}}, http.StatusCreated)
	drbdSecret := harness.Secret("sos-drbd-Shared")
	must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "data",
		"props": map[string]string{"StorPoolName": "pool1", "DrbdOptions/Net/shared-secret": drbdSecret}}}, http.StatusCreated)
	must(t, c, http.MethodPost, "/v1/resource-definitions/data/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 4096}}, http.StatusCreated)
	token, err := exec.Command(harness.Binary(t, "strata-controller"), "agent-token", "--config", c.ConfigPath).Output()
	require.NoError(t, err)

	out, errOut, code := cliRun(t, nil, "--controllers", strings.TrimPrefix(c.URL, "http://"), "sos-report", "create")
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "SOS Report created on controller: "+filepath.Join(c.DataDir, "sos-reports", "sos_"))

	dir := t.TempDir()
	out, errOut, code = cliRun(t, nil, "--controllers", strings.TrimPrefix(c.URL, "http://"), "sos-report", "download", "--path", dir)
	require.Zero(t, code, "%s%s", out, errOut)
	saved, err := filepath.Glob(filepath.Join(dir, "sos_*.tar.gz"))
	require.NoError(t, err)
	require.Len(t, saved, 1, out)

	files := readTarball(t, saved[0])
	has := func(suffix string) string {
		t.Helper()
		for name, text := range files {
			if strings.HasSuffix(name, suffix) {
				return text
			}
		}
		t.Fatalf("the report has no %s; it has %v", suffix, keys(files))
		return ""
	}
	require.Contains(t, has("/controller/version.txt"), "strata-controller")
	require.Contains(t, has("/controller/strata.toml"), `passphrase = "<redacted>"`)
	db := has("/controller/database.jsonl")
	require.Contains(t, db, `"resource_dsp_name":"data"`)
	require.Contains(t, db, `"prop_key":"DrbdOptions/Net/shared-secret","prop_value":"<redacted>"`)
	require.Contains(t, has("/controller/controller.log"), "strata controller ready")
	require.Contains(t, has("/controller/workflows/index.txt"), "NodeSync")
	require.Contains(t, has("/nodes/alpha/uname.txt"), "$ uname -a")
	require.Contains(t, has("/nodes/alpha/lsblk.txt"), "$ lsblk")
	require.Contains(t, has("/nodes/alpha/agent.log"), "strata agent ready")
	require.Contains(t, has("/nodes/ghost/unreachable.txt"), "could not be asked")
	for name, text := range files {
		harness.NoSecret(t, name, text)
		require.NotContains(t, text, strings.TrimSpace(string(token)), "%s holds the agent token", name)
	}
}

func readTarball(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[h.Name] = string(b)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
