package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// An empty 2 GiB disk (a loop device) shows in physical-storage list,
// create-device-pool makes a real LVM volume group on it and registers
// the storage pool, and the disk is no longer offered.
func TestPhysicalStorageAndDevicePool(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.raw")
	require.NoError(t, os.WriteFile(img, nil, 0o600))
	require.NoError(t, os.Truncate(img, 2<<30))
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	disk := strings.TrimSpace(string(out))
	vg := "ps" + strings.TrimPrefix(filepath.Base(disk), "loop")
	t.Cleanup(func() {
		_ = exec.Command("vgremove", "--force", vg).Run()
		_ = exec.Command("pvremove", "--force", disk).Run()
		_ = exec.Command("losetup", "--detach", disk).Run()
	})

	c := harness.StartController(t, harness.ControllerOptions{})
	agent := harness.StartAgent(t)
	must(t, c, http.MethodPost, "/v1/nodes", map[string]any{"name": "alpha", "type": "satellite",
		"net_interfaces": []map[string]any{{"name": "default", "address": "127.0.0.1", "satellite_port": agent.Port}}}, http.StatusCreated)
	eventually(t, 20*time.Second, "alpha online", func() bool { return nodeStatus(t, c, "alpha").ConnectionStatus == "ONLINE" })

	var groups []struct {
		Size  int64                                `json:"size"`
		Nodes map[string][]struct{ Device string } `json:"nodes"`
	}
	status, err := c.Do(context.Background(), http.MethodGet, "/v1/physical-storage", nil, &groups)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	offered := func() bool {
		var devs []struct{ Device string }
		status, err := c.Do(context.Background(), http.MethodGet, "/v1/physical-storage/alpha", nil, &devs)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		for _, d := range devs {
			if d.Device == disk {
				return true
			}
		}
		return false
	}
	require.True(t, offered(), "the empty disk is offered")
	found := false
	for _, g := range groups {
		for _, d := range g.Nodes["alpha"] {
			found = found || d.Device == disk && g.Size == 2<<30
		}
	}
	require.True(t, found, "the list groups it by size under its node: %+v", groups)
	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	listed, errOut, code := cliRun(t, env, "physical-storage", "list", "--no-utf8")
	require.Zero(t, code, errOut)
	require.Contains(t, listed, "alpha["+disk)

	// Bad requests change nothing.
	for _, bad := range []map[string]any{
		{"provider_kind": "FILE", "device_paths": []string{disk}, "pool_name": vg},
		{"provider_kind": "LVM", "device_paths": []string{}, "pool_name": vg},
		{"provider_kind": "LVM", "device_paths": []string{"/dev/not-a-disk"}, "pool_name": vg},
	} {
		var rc json.RawMessage
		status, err := c.Do(context.Background(), http.MethodPost, "/v1/physical-storage/alpha", bad, &rc)
		require.NoError(t, err)
		require.GreaterOrEqual(t, status, 400, "%v: %s", bad, rc)
	}
	require.True(t, offered(), "the disk is still untouched")
	_, _, code = cliRun(t, env, "physical-storage", "create-device-pool", "--pool-name", vg, "EXT4", "alpha", disk)
	require.Equal(t, 2, code, "an unknown kind is a usage error")

	created, errOut, code := cliRun(t, env, "physical-storage", "create-device-pool", "--pool-name", vg, "--storage-pool", "lvmpool", "LVM", "alpha", disk)
	require.Zero(t, code, "%s%s", created, errOut)
	vgs, err := exec.Command("vgs", "--noheadings", "-o", "vg_name,pv_count", vg).CombinedOutput()
	require.NoError(t, err, "%s", vgs)
	require.Regexp(t, vg+`\s+1`, string(vgs), "a real volume group on the disk")
	var pool struct {
		Provider string            `json:"provider_kind"`
		Props    map[string]string `json:"props"`
	}
	status, err = c.Do(context.Background(), http.MethodGet, "/v1/nodes/alpha/storage-pools/lvmpool", nil, &pool)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "LVM", pool.Provider)
	require.Equal(t, vg, pool.Props["StorDriver/LvmVg"])
	require.False(t, offered(), "a disk holding a pool is no longer offered")
}
