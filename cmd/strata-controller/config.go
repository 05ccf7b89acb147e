package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"strata/api"
	"strata/ldapauth"
	"strata/store"
)

// defaultConfigPath is read when it exists; --config names another file,
// which then must exist.
const defaultConfigPath = "/etc/strata/strata.toml"

// Config is strata.toml. Sections and keys follow linstor.toml where LINSTOR
// has them ([db], [http], [https], [ldap], [logging], [encrypt]); [temporal] and [agents]
// are Strata's own.
type Config struct {
	DataDir  string          `toml:"data_dir"`
	DB       DBConfig        `toml:"db"`
	HTTP     HTTPConfig      `toml:"http"`
	HTTPS    HTTPSConfig     `toml:"https"`
	Logging  LoggingConfig   `toml:"logging"`
	Temporal TemporalConfig  `toml:"temporal"`
	Encrypt  EncryptConfig   `toml:"encrypt"`
	Agents   AgentsConfig    `toml:"agents"`
	LDAP     ldapauth.Config `toml:"ldap"`
}

// AgentsConfig is how the controller reaches agents of nodes created with
// communication type SSL: mutual TLS with the controller's certificate,
// checking the agents' certificates against the CA.
type AgentsConfig struct {
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	TLSCA   string `toml:"tls_ca"`
	// VerifyInterval is how often each online node is sent its whole
	// state again, so that the volumes its agent reports are checked on
	// the node even when nothing changed ("0s": never).
	VerifyInterval duration `toml:"verify_interval"`
	// TimerMinute is how long a minute of DrbdOptions/AutoEvictAfterTime
	// and DrbdOptions/auto-diskful lasts (tests shorten it).
	TimerMinute duration `toml:"timer_minute"`
}

// DBConfig selects the database: the embedded SQLite file in the data
// directory unless connection_url names a PostgreSQL server.
type DBConfig struct {
	User          string `toml:"user"`
	Password      string `toml:"password"`
	ConnectionURL string `toml:"connection_url"`
}

// HTTPConfig is the REST API listener.
type HTTPConfig struct {
	Enabled    *bool  `toml:"enabled"`
	Port       int    `toml:"port"`
	ListenAddr string `toml:"listen_addr"`
}

// HTTPSConfig is the REST API over TLS (LINSTOR's [https], on 3371):
// a PEM certificate and key; with client_ca (LINSTOR's truststore), every
// client must show a certificate that CA signed. While HTTPS is on, the
// plain listener redirects to it, as LINSTOR's does. LINSTOR's Java
// keystore and truststore are not read: their keys are refused with how
// to export them as PEM.
type HTTPSConfig struct {
	Enabled            *bool  `toml:"enabled"`
	Port               int    `toml:"port"`
	ListenAddr         string `toml:"listen_addr"`
	Certificate        string `toml:"certificate"`
	PrivateKey         string `toml:"private_key"`
	ClientCA           string `toml:"client_ca"`
	Keystore           string `toml:"keystore"`
	KeystorePassword   string `toml:"keystore_password"`
	Truststore         string `toml:"truststore"`
	TruststorePassword string `toml:"truststore_password"`
}

// LoggingConfig sets the log level (ERROR, WARN, INFO, DEBUG or TRACE)
// and the format: text, or json for one JSON object per line.
type LoggingConfig struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// TemporalConfig selects Temporal: an embedded server on an SQLite file in
// the data directory unless address names an external cluster.
type TemporalConfig struct {
	Address         string   `toml:"address"`
	Namespace       string   `toml:"namespace"`
	EmbeddedAddress string   `toml:"embedded_address"`
	UI              *bool    `toml:"ui"`
	UIAddress       string   `toml:"ui_address"`
	DialTimeout     duration `toml:"dial_timeout"`
	OperationWait   duration `toml:"operation_wait"`
}

// EncryptConfig holds the master passphrase entered (or created) at start.
type EncryptConfig struct {
	Passphrase string `toml:"passphrase"`
}

type duration struct{ time.Duration }

func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use for example \"30s\" or \"2m\")", b)
	}
	d.Duration = v
	return nil
}

func defaultConfig() Config {
	return Config{
		DataDir: "/var/lib/strata",
		HTTP:    HTTPConfig{Port: 3370},
		HTTPS:   HTTPSConfig{Port: 3371},
		Agents:  AgentsConfig{VerifyInterval: duration{10 * time.Minute}, TimerMinute: duration{time.Minute}},
		Logging: LoggingConfig{Level: "INFO"},
		Temporal: TemporalConfig{
			Namespace:       "default",
			EmbeddedAddress: "127.0.0.1:7233",
			UIAddress:       "127.0.0.1:8233",
			DialTimeout:     duration{10 * time.Second},
			OperationWait:   duration{60 * time.Second},
		},
	}
}

// loadConfig reads the TOML file over the defaults. A missing file is fine
// only when it is the default path that nobody asked for.
func loadConfig(path string, explicit bool) (Config, error) {
	cfg := defaultConfig()
	md, err := toml.DecodeFile(path, &cfg)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return cfg, nil
	case errors.Is(err, fs.ErrNotExist):
		return cfg, fmt.Errorf("config file %s does not exist", path)
	case err != nil:
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return cfg, fmt.Errorf("config file %s: line %d: %s", path, perr.Position.Line, perr.Message)
		}
		return cfg, fmt.Errorf("config file %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config file %s: unknown key(s) %s", path, strings.Join(keys, ", "))
	}
	return cfg, nil
}

// applyEnv lets the environment override the file. MASTER_PASSPHRASE is the
// variable the LINSTOR guide names; the file wins over it, as in LINSTOR.
func (c *Config) applyEnv(getenv func(string) string) {
	set := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set(&c.DataDir, "STRATA_DATA_DIR")
	set(&c.Logging.Level, "STRATA_LOG_LEVEL")
	set(&c.Logging.Format, "STRATA_LOG_FORMAT")
	set(&c.DB.ConnectionURL, "STRATA_DB_CONNECTION_URL")
	set(&c.DB.User, "STRATA_DB_USER")
	set(&c.DB.Password, "STRATA_DB_PASSWORD")
	set(&c.Temporal.Address, "STRATA_TEMPORAL_ADDRESS")
	set(&c.Temporal.Namespace, "STRATA_TEMPORAL_NAMESPACE")
	if c.Encrypt.Passphrase == "" {
		set(&c.Encrypt.Passphrase, "MASTER_PASSPHRASE")
	}
}

// listenAddress is where the REST API listens.
func (c *Config) listenAddress() string {
	return net.JoinHostPort(c.HTTP.ListenAddr, strconv.Itoa(c.HTTP.Port))
}

func (c *Config) uiEnabled() bool { return c.Temporal.UI == nil || *c.Temporal.UI }

func (c *Config) httpEnabled() bool { return c.HTTP.Enabled == nil || *c.HTTP.Enabled }

// httpsEnabled: on when asked, or when a certificate is configured.
func (c *Config) httpsEnabled() bool {
	if c.HTTPS.Enabled != nil {
		return *c.HTTPS.Enabled
	}
	return c.HTTPS.Certificate != ""
}

// httpsAddress is where the REST API listens over TLS.
func (c *Config) httpsAddress() string {
	return net.JoinHostPort(c.HTTPS.ListenAddr, strconv.Itoa(c.HTTPS.Port))
}

// redacted is the configuration as TOML with its secrets (database
// password, master passphrase, keystore passwords) blanked: what an SOS
// report carries of it.
func (c Config) redacted() string {
	blank := func(s *string) {
		if *s != "" {
			*s = store.Redacted
		}
	}
	blank(&c.DB.Password)
	blank(&c.Encrypt.Passphrase)
	blank(&c.HTTPS.KeystorePassword)
	blank(&c.HTTPS.TruststorePassword)
	if u, err := url.Parse(c.DB.ConnectionURL); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), store.Redacted)
			c.DB.ConnectionURL = u.String()
		}
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return "(the configuration could not be written: " + err.Error() + ")\n"
	}
	return b.String()
}

// validate checks what the file's syntax cannot.
func (c *Config) validate() error {
	if _, err := api.ParseLogLevel(c.Logging.Level); err != nil {
		return err
	}
	if f := c.Logging.Format; f != "" && f != "text" && f != "json" {
		return fmt.Errorf("[logging] format %q: use text or json", f)
	}
	if c.DataDir == "" {
		return errors.New("data directory is empty")
	}
	if c.HTTP.Port < 0 || c.HTTP.Port > 65535 {
		return fmt.Errorf("[http] port %d is out of range 0-65535", c.HTTP.Port)
	}
	if c.HTTPS.Keystore != "" || c.HTTPS.Truststore != "" {
		return errors.New("[https] keystore and truststore are Java keystores, which Strata does not read: export them as PEM " +
			"(keytool -importkeystore -deststoretype PKCS12, then openssl pkcs12 -nodes) and set certificate, private_key and client_ca")
	}
	if c.httpsEnabled() && (c.HTTPS.Certificate == "" || c.HTTPS.PrivateKey == "") {
		return errors.New("[https] needs certificate and private_key (PEM files)")
	}
	if c.HTTPS.Port < 0 || c.HTTPS.Port > 65535 {
		return fmt.Errorf("[https] port %d is out of range 0-65535", c.HTTPS.Port)
	}
	if err := c.LDAP.Validate(); err != nil {
		return err
	}
	if c.Temporal.Namespace == "" {
		return errors.New("[temporal] namespace is empty")
	}
	if c.Temporal.Address == "" {
		if _, _, err := net.SplitHostPort(c.Temporal.EmbeddedAddress); err != nil {
			return fmt.Errorf("[temporal] embedded_address %q: %w", c.Temporal.EmbeddedAddress, err)
		}
		if c.uiEnabled() {
			if _, _, err := net.SplitHostPort(c.Temporal.UIAddress); err != nil {
				return fmt.Errorf("[temporal] ui_address %q: %w", c.Temporal.UIAddress, err)
			}
		}
	} else if _, _, err := net.SplitHostPort(c.Temporal.Address); err != nil {
		return fmt.Errorf("[temporal] address %q: want host:port", c.Temporal.Address)
	}
	if c.Agents.VerifyInterval.Duration < 0 {
		return errors.New("[agents] verify_interval must not be negative")
	}
	if c.Agents.TimerMinute.Duration <= 0 {
		return errors.New("[agents] timer_minute must be positive")
	}
	if c.Temporal.DialTimeout.Duration <= 0 || c.Temporal.OperationWait.Duration <= 0 {
		return errors.New("[temporal] dial_timeout and operation_wait must be positive")
	}
	return nil
}

// dataPath is a file or directory inside the data directory.
func (c *Config) dataPath(name string) string { return filepath.Join(c.DataDir, name) }

// storeConfig is the database the configuration names.
func (c *Config) storeConfig() store.Config {
	return store.Config{ConnectionURL: c.DB.ConnectionURL, User: c.DB.User, Password: c.DB.Password, SQLitePath: c.dataPath("strata.db")}
}
