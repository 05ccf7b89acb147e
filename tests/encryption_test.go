package tests

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// The master passphrase of [encrypt] creates the master key at the first
// start and unlocks it at the next; a wrong one leaves it locked until
// `strata encryption enter-passphrase`; neither the log nor an answer
// holds the passphrase.
func TestMasterPassphraseAcrossRestarts(t *testing.T) {
	secret := harness.Secret("correct-horse-battery-staple")
	c := harness.StartController(t, harness.ControllerOptions{Config: "[encrypt]\npassphrase = \"" + secret + "\"\n"})
	status := func() string {
		var st struct {
			Status string `json:"status"`
		}
		code, err := c.Do(context.Background(), http.MethodGet, "/v1/encryption/passphrase", nil, &st)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		return st.Status
	}
	require.Equal(t, "unlocked", status(), "created from the configuration")
	require.NoError(t, c.Stop())
	c.Start()
	require.Equal(t, "unlocked", status(), "entered from the configuration")

	cfg, err := os.ReadFile(c.ConfigPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(c.ConfigPath, []byte(strings.Replace(string(cfg), secret, "wrong-"+secret[:5], 1)), 0o600))
	require.NoError(t, c.Stop())
	c.Start()
	require.Equal(t, "locked", status(), "a wrong configured passphrase leaves the key locked")
	require.Contains(t, c.Log(), "the configured master passphrase was not accepted")

	env := []string{"LS_CONTROLLERS=" + strings.TrimPrefix(c.URL, "http://")}
	out, errOut, code := cliRun(t, env, "encryption", "enter-passphrase", "--passphrase", "nope")
	require.Equal(t, 10, code, "%s%s", out, errOut)
	require.Contains(t, out, "Could not restore master passphrase as the given old passphrase was incorrect")
	out, errOut, code = cliRun(t, env, "encryption", "enter-passphrase", "--passphrase", secret)
	require.Zero(t, code, "%s%s", out, errOut)
	require.Contains(t, out, "Passphrase accepted")
	out, _, code = cliRun(t, env, "encryption", "status")
	require.Zero(t, code)
	require.Contains(t, out, "unlocked")
	require.NotContains(t, c.Log(), secret[:12], "the controller's log holds no passphrase")
}
