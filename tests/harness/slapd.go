package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Slapd is a real OpenLDAP server (Debian's slapd) on a loopback port with
// a throwaway database under BaseDN: people in ou=people, groups in
// ou=groups, and the memberof overlay so that a search filter can ask for
// a group as LINSTOR's guide shows.
type Slapd struct {
	*process
	URI                    string
	BaseDN                 string
	AdminDN, AdminPassword string
}

const slapdBinary = "/usr/sbin/slapd"

// StartSlapd starts slapd and stops it when the test ends.
func StartSlapd(t testing.TB) *Slapd {
	t.Helper()
	if _, err := os.Stat(slapdBinary); err != nil {
		t.Fatalf("slapd is not installed (go tool task deps installs it): %v", err)
	}
	dir := t.TempDir()
	s := &Slapd{BaseDN: "dc=strata,dc=test", AdminPassword: Secret("slapd-admin")}
	s.AdminDN = "cn=admin," + s.BaseDN
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
database mdb
maxsize 67108864
suffix "%[2]s"
rootdn "%[3]s"
rootpw "%[4]s"
directory %[1]s/db
overlay memberof
`, dir, s.BaseDN, s.AdminDN, s.AdminPassword)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	s.URI = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	// -d 0 keeps slapd in the foreground, so that it stops with the test.
	s.process = &process{t: t, name: fmt.Sprintf("slapd :%d", port), foreign: true, logPath: filepath.Join(dir, "slapd.log"),
		args: []string{"-d", "0", "-f", conf, "-h", s.URI}}
	s.startBinary(slapdBinary)
	if err := s.waitListening(fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second); err != nil {
		t.Fatalf("slapd did not start: %v\n%s", err, s.Log())
	}
	s.stopAtEnd()
	s.add(t, s.BaseDN, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"strata"}, "o": {"Strata test"}})
	s.add(t, "ou=people,"+s.BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.add(t, "ou=groups,"+s.BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	return s
}

// AddUser adds uid=user,ou=people with a password.
func (s *Slapd) AddUser(t testing.TB, user, password string) string {
	t.Helper()
	dn := fmt.Sprintf("uid=%s,ou=people,%s", ldap.EscapeDN(user), s.BaseDN)
	s.add(t, dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {user}, "cn": {user}, "sn": {user}, "userPassword": {password}})
	return dn
}

// AddGroup adds cn=group,ou=groups with the members' DNs; the overlay
// gives each member a memberOf attribute naming the group.
func (s *Slapd) AddGroup(t testing.TB, group string, memberDNs ...string) string {
	t.Helper()
	dn := fmt.Sprintf("cn=%s,ou=groups,%s", ldap.EscapeDN(group), s.BaseDN)
	s.add(t, dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {group}, "member": memberDNs})
	return dn
}

func (s *Slapd) add(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	conn, err := ldap.DialURL(s.URI)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(s.AdminDN, s.AdminPassword); err != nil {
		t.Fatalf("bind as %s: %v", s.AdminDN, err)
	}
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := conn.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}
