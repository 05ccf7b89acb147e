package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/api"
)

func writeConfig(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "strata.toml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, `
data_dir = "/srv/strata"
[db]
user = "linstor"
password = "linstor"
connection_url = "jdbc:postgresql://localhost/linstor"
[http]
port = 3380
listen_addr = "127.0.0.1"
[logging]
level = "trace"
[temporal]
address = "temporal.example:7233"
operation_wait = "5s"
`)
	cfg, err := loadConfig(p, true)
	require.NoError(t, err)
	require.NoError(t, cfg.validate())
	require.Equal(t, "/srv/strata", cfg.DataDir)
	require.Equal(t, "jdbc:postgresql://localhost/linstor", cfg.DB.ConnectionURL)
	require.Equal(t, "127.0.0.1:3380", cfg.listenAddress())
	require.Equal(t, 5*time.Second, cfg.Temporal.OperationWait.Duration)
	require.Equal(t, 10*time.Second, cfg.Temporal.DialTimeout.Duration, "defaults stay where the file is silent")
	level, err := api.ParseLogLevel(cfg.Logging.Level)
	require.NoError(t, err)
	require.Equal(t, api.LevelTrace, level)
}

func TestDefaultConfigPathMayBeMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.toml")
	cfg, err := loadConfig(missing, false)
	require.NoError(t, err)
	require.Equal(t, defaultConfig(), cfg)
	require.Equal(t, ":3370", cfg.listenAddress())
	require.True(t, cfg.uiEnabled())

	_, err = loadConfig(missing, true)
	require.ErrorContains(t, err, "does not exist")
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"syntax", "[db\nuser = 1", "line 2"},
		{"unknown key", "[http]\nprot = 3370", "unknown key(s) http.prot"},
		{"wrong type", "[http]\nport = \"many\"", "port"},
		{"bad duration", "[temporal]\noperation_wait = \"soon\"", "invalid duration \"soon\""},
		{"bad level", "[logging]\nlevel = \"LOUD\"", "invalid log level \"LOUD\""},
		{"port out of range", "[http]\nport = 70000", "out of range"},
		{"bad temporal address", "[temporal]\naddress = \"nohostport\"", "want host:port"},
		{"empty namespace", "[temporal]\nnamespace = \"\"", "namespace is empty"},
		{"java keystore", "[https]\nkeystore = \"/etc/linstor/keystore.jks\"\nkeystore_password = \"linstor\"", "export them as PEM"},
		{"https without key", "[https]\nenabled = true\ncertificate = \"/etc/strata/cert.pem\"", "needs certificate and private_key"},
		{"ldap the guide's empty uri", "[ldap]\nenabled = true\nuri = \"ldaps://\"\ndn = \"cn=admin\"", "does not contain {user}"},
		{"ldap unknown key", "[ldap]\nenabled = true\nbind_password = \"x\"", "unknown key(s) ldap.bind_password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(writeConfig(t, tt.text), true)
			if err == nil {
				err = cfg.validate()
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "[encrypt]\npassphrase = \"from-file\"\n[logging]\nlevel = \"WARN\""), true)
	require.NoError(t, err)
	env := map[string]string{
		"STRATA_LOG_LEVEL":         "DEBUG",
		"STRATA_DB_CONNECTION_URL": "postgres://db/strata",
		"MASTER_PASSPHRASE":        "from-env",
	}
	cfg.applyEnv(func(k string) string { return env[k] })
	require.Equal(t, "DEBUG", cfg.Logging.Level)
	require.Equal(t, "postgres://db/strata", cfg.DB.ConnectionURL)
	require.Equal(t, "from-file", cfg.Encrypt.Passphrase, "the file wins over MASTER_PASSPHRASE, as in LINSTOR")
	level, _ := api.ParseLogLevel(cfg.Logging.Level)
	require.Equal(t, slog.LevelDebug, level)
}

// The configuration an SOS report carries has no secret in it.
func TestRedactedConfigHoldsNoSecret(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "[db]\nconnection_url = \"postgres://strata:pg-Secret1@db/strata\"\npassword = \"pg-Secret2\"\n[encrypt]\npassphrase = \"master-Secret3\"\n[ldap]\nenabled = true\nuri = \"ldap://ds\"\ndn = \"uid={user}\"\n"), true)
	require.NoError(t, err)
	out := cfg.redacted()
	for _, secret := range []string{"pg-Secret1", "pg-Secret2", "master-Secret3"} {
		require.NotContains(t, out, secret)
	}
	require.Contains(t, out, "uid={user}")
	require.Contains(t, out, `operation_wait = "1m0s"`)
	again, err := loadConfig(writeConfig(t, out), true)
	require.NoError(t, err, "the redacted file reads back:\n%s", out)
	require.Equal(t, cfg.LDAP, again.LDAP)
}
