package tests

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// LINSTOR's external files as golinstor drives them (LINSTOR Gateway
// deploys its drbd-reactor plug-ins this way): registered once, attached
// to a resource definition, written by the agents of the nodes holding
// its resources into the directories they allow, rewritten when the
// content changes (into an alternative the operator renamed it to),
// deleted when detached — even while the agent was down — and refused on
// a node that does not allow the directory.
func TestExternalFilesAreDeployedToTheNodes(t *testing.T) {
	ctx := context.Background()
	dirs := map[string]string{"alpha": t.TempDir(), "bravo": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	allowed := t.TempDir() // alpha's agent may write here, bravo's not
	c := harness.StartController(t, harness.ControllerOptions{})
	agents := map[string]*harness.Agent{
		"alpha": harness.StartAgent(t, "--allow-ext-files", allowed),
		"bravo": harness.StartAgent(t, "--allow-ext-files", t.TempDir()),
	}
	for _, n := range []string{"alpha", "bravo"} {
		must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": n, "type": "satellite",
			"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": agents[n].Port}}}, http.StatusCreated)
		eventually(t, 20*time.Second, n+" online", func() bool { return nodeStatus(t, c, n).ConnectionStatus == "ONLINE" })
		must(t, c, http.MethodPost, "/v1/nodes/"+n+"/storage-pools", map[string]any{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN",
			"props": map[string]string{"StorDriver/StorPoolName": dirs[n]}}, http.StatusCreated)
	}
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)), lapi.HTTPClient(c.HTTPClient()))
	require.NoError(t, err)
	for rd, node := range map[string]string{"web": "alpha", "db": "bravo"} {
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "layer_data": []map[string]string{{"type": "STORAGE"}}}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 4096}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", []map[string]any{{"resource": map[string]any{"node_name": node, "props": map[string]string{"StorPoolName": "pool1"}}}}, http.StatusCreated)
	}

	path := filepath.Join(allowed, "web.toml")
	require.NoError(t, cli.Controller.ModifyExternalFile(ctx, path, lapi.ExternalFile{Path: path, Content: []byte("[[promoter]]\n")}))
	files, err := cli.Controller.GetExternalFiles(ctx)
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.Equal(t, path, files[0].Path)
	require.Empty(t, files[0].Content, "the list leaves contents out unless asked")
	f, err := cli.Controller.GetExternalFile(ctx, path)
	require.NoError(t, err)
	require.Equal(t, "[[promoter]]\n", string(f.Content))
	_, err = os.Stat(path)
	require.True(t, os.IsNotExist(err), "registered only: no node writes it yet")

	check, err := cli.Controller.CheckExternalFile(ctx, path, "alpha")
	require.NoError(t, err)
	require.True(t, check.Allowed)
	check, err = cli.Controller.CheckExternalFile(ctx, path, "bravo")
	require.NoError(t, err)
	require.False(t, check.Allowed)

	// Attached: alpha's agent writes it.
	require.NoError(t, cli.ResourceDefinitions.AttachExternalFile(ctx, "web", path))
	requireFile(t, path, "[[promoter]]\n")
	rd, err := cli.ResourceDefinitions.Get(ctx, "web")
	require.NoError(t, err)
	require.Equal(t, "True", rd.Props["Files"+path])
	var status struct {
		ActualPath   string `json:"actual_path"`
		ContentMatch bool   `json:"content_match"`
	}
	code, err := c.Do(ctx, http.MethodGet, "/v1/files/"+url.QueryEscape(path)+"/status/alpha", nil, &status)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, path, status.ActualPath)
	require.True(t, status.ContentMatch)

	// New content reaches the node; an operator's rename to an
	// alternative suffix is followed, not undone.
	require.NoError(t, cli.Controller.ModifyExternalFile(ctx, path, lapi.ExternalFile{Path: path, Content: []byte("[[promoter]]\nid = 2\n")}))
	requireFile(t, path, "[[promoter]]\nid = 2\n")
	require.NoError(t, os.Rename(path, path+".disabled"))
	must(t, c, http.MethodPut, "/v1/files/"+url.QueryEscape(path), map[string]any{"content": "aWQgPSAzCg==", "alt_suffixes": []string{".disabled"}}, http.StatusOK)
	requireFile(t, path+".disabled", "id = 3\n")
	_, err = os.Stat(path)
	require.True(t, os.IsNotExist(err), "the original is not made again beside its alternative")
	require.NoError(t, os.Rename(path+".disabled", path))

	// A node that does not allow the directory refuses it, and says why.
	var rcs []struct {
		RetCode int64  `json:"ret_code"`
		Message string `json:"message"`
		Cause   string `json:"cause"`
	}
	code, err = c.Do(ctx, http.MethodPost, "/v1/resource-definitions/db/files/"+url.QueryEscape(path), nil, &rcs)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, code, "%+v", rcs)
	require.Contains(t, rcs[len(rcs)-1].Cause+rcs[len(rcs)-1].Message, "does not have a whitelisted parent", "%+v", rcs)
	require.NoError(t, cli.ResourceDefinitions.DetachExternalFile(ctx, "db", path))

	// Detached while alpha's agent is down: deleted when it is back.
	require.NoError(t, agents["alpha"].Stop())
	eventually(t, 20*time.Second, "alpha offline", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "OFFLINE" })
	require.NoError(t, cli.ResourceDefinitions.DetachExternalFile(ctx, "web", path))
	requireFile(t, path, "id = 3\n")
	agents["alpha"].Start()
	eventually(t, 30*time.Second, "the detached file deleted by the restarted agent", func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	})

	// strata's file commands, as LINSTOR's: the content comes on stdin.
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	modify := exec.Command(harness.Binary(t, "strata"), "file", "modify", path)
	modify.Env, modify.Stdin = append(os.Environ(), env...), strings.NewReader("id = 4\n")
	out, err := modify.CombinedOutput()
	require.NoError(t, err, "%s", out)
	stdout, _, code := cliRun(t, env, "file", "show", path)
	require.Zero(t, code)
	require.Equal(t, "id = 4\n", stdout)
	stdout, _, code = cliRun(t, env, "file", "list")
	require.Zero(t, code)
	require.Contains(t, stdout, path)
	_, _, code = cliRun(t, env, "file", "deploy", path, "web")
	require.Zero(t, code)
	requireFile(t, path, "id = 4\n")

	// Deleting the file detaches it everywhere and deletes it on the nodes.
	require.NoError(t, cli.Controller.DeleteExternalFile(ctx, path))
	_, err = os.Stat(path)
	require.True(t, os.IsNotExist(err))
	rd, err = cli.ResourceDefinitions.Get(ctx, "web")
	require.NoError(t, err)
	require.NotContains(t, rd.Props, "Files"+path)
	files, err = cli.Controller.GetExternalFiles(ctx)
	require.NoError(t, err)
	require.Empty(t, files)
}

func requireFile(t *testing.T, path, content string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, content, string(b))
}
