// Package ldapauth signs REST API users in against an LDAP directory, as
// LINSTOR's [ldap] section does: a simple bind as the DN the template makes
// of the user name, then, when a search filter is set, a search that must
// find the user.
package ldapauth

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Config is linstor.toml's [ldap] section.
type Config struct {
	Enabled bool `toml:"enabled"`
	// AllowPublicAccess lets requests without credentials read.
	AllowPublicAccess bool   `toml:"allow_public_access"`
	URI               string `toml:"uri"`
	// DN is the bind DN, {user} standing for the user name.
	DN           string `toml:"dn"`
	SearchBase   string `toml:"search_base"`
	SearchFilter string `toml:"search_filter"`
}

// Validate checks what an enabled section needs.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if !strings.HasPrefix(c.URI, "ldap://") && !strings.HasPrefix(c.URI, "ldaps://") {
		return fmt.Errorf("[ldap] uri %q: want ldap://host[:port] or ldaps://host[:port]", c.URI)
	}
	if !strings.Contains(c.DN, "{user}") {
		return fmt.Errorf("[ldap] dn %q does not contain {user}", c.DN)
	}
	if c.SearchFilter != "" {
		if _, err := ldap.CompileFilter(strings.ReplaceAll(c.SearchFilter, "{user}", "x")); err != nil {
			return fmt.Errorf("[ldap] search_filter %q: %w", c.SearchFilter, err)
		}
	}
	return nil
}

var (
	// ErrInvalidCredentials: the bind failed (unknown user, wrong or no password).
	ErrInvalidCredentials = errors.New("invalid sign in credentials")
	// ErrNoMatch: the user bound, but the search filter does not find them.
	ErrNoMatch = errors.New("LDAP search filter didn't find a match")
)

// timeout bounds every exchange with the directory: a request waits no
// longer than this for an answer.
const timeout = 5 * time.Second

// remembered is how long a successful sign-in is not asked again: clients
// such as linstor-csi send several requests a second with the same
// credentials. A changed password or a removed user takes effect after it.
const remembered = time.Minute

// Directory signs users in. It remembers successful sign-ins by a salted
// hash of name and password, never the password itself.
type Directory struct {
	cfg  Config
	salt [32]byte

	mu     sync.Mutex
	signed map[[32]byte]time.Time
}

// New returns a directory for cfg.
func New(cfg Config) *Directory {
	d := &Directory{cfg: cfg, signed: map[[32]byte]time.Time{}}
	_, _ = rand.Read(d.salt[:])
	return d
}

// SignIn checks user and password. Errors other than ErrInvalidCredentials
// and ErrNoMatch mean the directory could not be asked.
func (d *Directory) SignIn(user, password string) error {
	if user == "" || password == "" {
		// An LDAP bind without a password is an anonymous bind, which
		// succeeds: it must not count as a sign-in.
		return ErrInvalidCredentials
	}
	key := d.key(user, password)
	if d.known(key) {
		return nil
	}
	conn, err := ldap.DialURL(d.cfg.URI, ldap.DialWithDialer(&net.Dialer{Timeout: timeout}))
	if err != nil {
		return fmt.Errorf("LDAP server %s cannot be reached: %w", d.cfg.URI, err)
	}
	defer conn.Close()
	conn.SetTimeout(timeout)
	if err := conn.Bind(strings.ReplaceAll(d.cfg.DN, "{user}", ldap.EscapeDN(user)), password); err != nil {
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNoSuchObject,
			ldap.LDAPResultInappropriateAuthentication, ldap.LDAPResultUnwillingToPerform) {
			return ErrInvalidCredentials
		}
		return fmt.Errorf("LDAP bind at %s: %w", d.cfg.URI, err)
	}
	if d.cfg.SearchFilter != "" {
		filter := strings.ReplaceAll(d.cfg.SearchFilter, "{user}", ldap.EscapeFilter(user))
		res, err := conn.Search(ldap.NewSearchRequest(d.cfg.SearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, int(timeout/time.Second), false,
			filter, []string{"dn"}, nil))
		switch {
		case ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject) || (err == nil && len(res.Entries) == 0):
			return ErrNoMatch
		case ldap.IsErrorAnyOf(err, ldap.LDAPResultSizeLimitExceeded):
			// more than one entry matched: the user is among them
		case err != nil:
			return fmt.Errorf("LDAP search at %s: %w", d.cfg.URI, err)
		}
	}
	d.remember(key)
	return nil
}

func (d *Directory) key(user, password string) [32]byte {
	h := sha256.New()
	h.Write(d.salt[:])
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (d *Directory) known(key [32]byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.signed[key]
	return ok && time.Since(at) < remembered
}

// remember records a sign-in; the record is emptied now and then so that
// many users (or guesses that happened to succeed) cannot grow it.
func (d *Directory) remember(key [32]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.signed) >= 4096 {
		clear(d.signed)
	}
	d.signed[key] = time.Now()
}

// Config returns the configuration the directory signs in with.
func (d *Directory) Config() Config { return d.cfg }
