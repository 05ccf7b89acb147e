package luks

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun"
	"strata/agent/execrun/execruntest"
)

// realHeaders runs cryptsetup for real where it works on a plain file
// (luksFormat, isLuks) and asks the script for what needs device-mapper.
type realHeaders struct{ fake *execruntest.FakeRunner }

func (r realHeaders) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if args[0] == "isLuks" {
		return execrun.Exec{}.Run(ctx, name, args...)
	}
	return r.fake.Run(ctx, name, args...)
}

func (r realHeaders) Pipe(ctx context.Context, in io.Reader, out io.Writer, name string, args ...string) error {
	if args[0] == "luksFormat" {
		return execrun.Exec{}.Pipe(ctx, in, out, name, args...)
	}
	return r.fake.Pipe(ctx, in, out, name, args...)
}

func TestUpFormatsOnceOpensAndKeepsTheKeyOffCommandLines(t *testing.T) {
	if _, err := exec.LookPath("cryptsetup"); err != nil {
		t.Fatal("cryptsetup is needed (task deps installs it)")
	}
	t.Parallel()
	ctx := context.Background()
	disk := filepath.Join(t.TempDir(), "lower.img")
	require.NoError(t, os.WriteFile(disk, make([]byte, 32<<20), 0o600))
	key := []byte("k3y-from-the-controller")
	fake := execruntest.NewFakeRunner().
		FailCode("cryptsetup status res_00000_luks", 4, "/dev/mapper/res_00000_luks is inactive.").
		On("cryptsetup open --type luks --key-file - "+disk+" res_00000_luks", "").
		On("cryptsetup status res_00000_luks", "/dev/mapper/res_00000_luks is active.\n")
	l := Layer{Run: realHeaders{fake}}

	dev, err := l.Up(ctx, MappingName("res_00000"), disk, key)
	require.NoError(t, err)
	assert.Equal(t, "/dev/mapper/res_00000_luks", dev)
	isLuks, err := l.isLuks(ctx, disk)
	require.NoError(t, err)
	assert.True(t, isLuks, "the real cryptsetup wrote a LUKS header")
	assert.Equal(t, string(key), string(fake.Stdin("cryptsetup open --type luks --key-file - "+disk+" res_00000_luks")))

	header, err := os.ReadFile(disk)
	require.NoError(t, err)
	_, err = l.Up(ctx, MappingName("res_00000"), disk, key)
	require.NoError(t, err)
	again, err := os.ReadFile(disk)
	require.NoError(t, err)
	assert.Equal(t, header[:4096], again[:4096], "an open, formatted device is not formatted again")
	for _, c := range fake.Calls() {
		assert.NotContains(t, c, string(key))
	}
}

func TestDownAndResize(t *testing.T) {
	ctx := context.Background()
	fake := execruntest.NewFakeRunner().
		On("cryptsetup status r_00000_luks", "active").
		On("cryptsetup close r_00000_luks", "").
		On("cryptsetup resize --key-file - r_00000_luks", "")
	l := Layer{Run: fake}
	require.NoError(t, l.Down(ctx, "r_00000_luks"))
	require.NoError(t, l.Resize(ctx, "r_00000_luks", []byte("k")))
	assert.Equal(t, "k", string(fake.Stdin("cryptsetup resize --key-file - r_00000_luks")))

	fake = execruntest.NewFakeRunner().FailCode("cryptsetup status gone_luks", 4, "")
	require.NoError(t, Layer{Run: fake}.Down(ctx, "gone_luks"), "closing a closed mapping is no error")
	assert.Equal(t, []string{"cryptsetup status gone_luks"}, fake.Calls())

	fake = execruntest.NewFakeRunner().FailCode("cryptsetup status x_luks", 1, "Cannot initialize device-mapper. Is dm_mod kernel module loaded?")
	err := Layer{Run: fake}.Down(ctx, "x_luks")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "dm_mod"), "a machine without device-mapper says so: %v", err)
}
