package ldapauth_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/ldapauth"
	"strata/tests/harness"
)

// Sign-in against a real slapd: the bind decides who someone is, the
// search filter (a group, by memberOf, as the guide's example) whether
// they may in.
func TestSignInAgainstSlapd(t *testing.T) {
	ds := harness.StartSlapd(t)
	alice := ds.AddUser(t, "alice", "alice-pw")
	ds.AddUser(t, "bob", "bob-pw")
	ds.AddUser(t, "eve*)(uid=*", "eve-pw")
	group := ds.AddGroup(t, "storage-admins", alice)

	dir := ldapauth.New(ldapauth.Config{Enabled: true, URI: ds.URI, DN: "uid={user},ou=people," + ds.BaseDN,
		SearchBase: ds.BaseDN, SearchFilter: "(&(uid={user})(memberOf=" + group + "))"})
	require.NoError(t, dir.SignIn("alice", "alice-pw"))
	require.NoError(t, dir.SignIn("alice", "alice-pw"), "remembered")
	require.ErrorIs(t, dir.SignIn("alice", "wrong"), ldapauth.ErrInvalidCredentials)
	require.ErrorIs(t, dir.SignIn("alice", ""), ldapauth.ErrInvalidCredentials, "an empty password is an anonymous bind, not a sign-in")
	require.ErrorIs(t, dir.SignIn("nobody", "x"), ldapauth.ErrInvalidCredentials)
	require.ErrorIs(t, dir.SignIn("bob", "bob-pw"), ldapauth.ErrNoMatch, "bob is not in the group")
	// A name with filter syntax in it is a name: it does not widen the search.
	require.ErrorIs(t, dir.SignIn("eve*)(uid=*", "eve-pw"), ldapauth.ErrNoMatch)

	open := ldapauth.New(ldapauth.Config{Enabled: true, URI: ds.URI, DN: "uid={user},ou=people," + ds.BaseDN})
	require.NoError(t, open.SignIn("bob", "bob-pw"), "no search filter: a bind is enough")

	ds.Stop()
	err := ldapauth.New(ldapauth.Config{Enabled: true, URI: ds.URI, DN: "uid={user},ou=people," + ds.BaseDN}).SignIn("bob", "bob-pw")
	require.Error(t, err)
	require.False(t, errors.Is(err, ldapauth.ErrInvalidCredentials), "an unreachable directory is not a wrong password: %v", err)
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, ldapauth.Config{}.Validate(), "disabled needs nothing")
	require.NoError(t, ldapauth.Config{Enabled: true, URI: "ldaps://ds", DN: "uid={user},dc=x"}.Validate())
	require.ErrorContains(t, ldapauth.Config{Enabled: true, URI: "ldaps://", DN: "cn=x"}.Validate(), "{user}")
	require.ErrorContains(t, ldapauth.Config{Enabled: true, URI: "http://ds", DN: "uid={user}"}.Validate(), "uri")
	require.ErrorContains(t, ldapauth.Config{Enabled: true, URI: "ldap://ds", DN: "uid={user}", SearchFilter: "(&(uid={user})"}.Validate(), "search_filter")
}
