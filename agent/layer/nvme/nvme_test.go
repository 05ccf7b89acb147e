package nvme

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun/execruntest"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestTargetWritesConfigfs(t *testing.T) {
	root := t.TempDir()
	tg := Target{Configfs: root}
	e := Export{Resource: "db", Namespaces: map[int32]string{0: "/dev/loop4", 1: "/dev/loop5"}, Transport: "tcp", Address: "10.0.0.1", PortID: 1}
	require.NoError(t, tg.Up(e))
	require.NoError(t, tg.Up(e), "up twice is harmless")
	sub := filepath.Join(root, "nvmet", "subsystems", "nqn.2026-01.io.strata:db")
	assert.Equal(t, "1", read(t, filepath.Join(sub, "attr_allow_any_host")))
	assert.Equal(t, "/dev/loop4", read(t, filepath.Join(sub, "namespaces", "1", "device_path")))
	assert.Equal(t, "/dev/loop5", read(t, filepath.Join(sub, "namespaces", "2", "device_path")))
	assert.Equal(t, "1", read(t, filepath.Join(sub, "namespaces", "2", "enable")))
	port := filepath.Join(root, "nvmet", "ports", "1")
	for attr, want := range map[string]string{"addr_trtype": "tcp", "addr_adrfam": "ipv4", "addr_traddr": "10.0.0.1", "addr_trsvcid": "4420"} {
		assert.Equal(t, want, read(t, filepath.Join(port, attr)), attr)
	}
	target, err := os.Readlink(filepath.Join(port, "subsystems", "nqn.2026-01.io.strata:db"))
	require.NoError(t, err)
	assert.Equal(t, sub, target)

	require.NoError(t, tg.Down("db", 1))
	_, err = os.Stat(sub)
	assert.True(t, os.IsNotExist(err))
	require.NoError(t, tg.Down("db", 1), "down twice is harmless")
}

func TestInitiatorConnectsAndFindsTheNamespace(t *testing.T) {
	ctx := context.Background()
	sysfs := t.TempDir()
	run := execruntest.NewFakeRunner().
		On("nvme connect --transport tcp --nqn nqn.2026-01.io.strata:db --traddr 10.0.0.1 --trsvcid 4420", "").
		On("nvme disconnect --nqn nqn.2026-01.io.strata:db", "NQN:nqn.2026-01.io.strata:db disconnected 1 controller(s)\n")
	in := Initiator{Run: run, Sysfs: sysfs}
	_, err := in.Connect(ctx, "db", 1, "tcp", "10.0.0.1", 0)
	require.ErrorContains(t, err, "subsystem nqn.2026-01.io.strata:db is not connected", "the kernel showed no subsystem")

	// What the kernel shows once connected.
	sub := filepath.Join(sysfs, "class", "nvme-subsystem", "nvme-subsys3")
	require.NoError(t, os.MkdirAll(filepath.Join(sub, "nvme3n2"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "subsysnqn"), []byte("nqn.2026-01.io.strata:db\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "nvme3n2", "nsid"), []byte("2\n"), 0o644))
	run.Reset()
	dev, err := in.Connect(ctx, "db", 1, "tcp", "10.0.0.1", 0)
	require.NoError(t, err)
	assert.Equal(t, "/dev/nvme3n2", dev)
	assert.Empty(t, run.Calls(), "a connected subsystem is not connected again")

	require.NoError(t, in.Disconnect(ctx, "db"))
	require.NoError(t, in.Disconnect(ctx, "other"), "not connected: nothing to do")
	assert.Equal(t, []string{"nvme disconnect --nqn nqn.2026-01.io.strata:db"}, run.Calls())
}
