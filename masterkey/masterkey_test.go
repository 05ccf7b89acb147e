package masterkey

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/store"
)

func TestWrapSealAndTheirFailures(t *testing.T) {
	key, err := NewKey()
	require.NoError(t, err)
	w, err := Wrap(key, "pw1")
	require.NoError(t, err)
	enc, err := w.Encode()
	require.NoError(t, err)
	require.NotContains(t, enc, "pw1")
	back, err := Decode(enc)
	require.NoError(t, err)
	got, err := back.Unwrap("pw1")
	require.NoError(t, err)
	require.Equal(t, key, got)
	_, err = back.Unwrap("pw2")
	require.ErrorIs(t, err, ErrWrongPassphrase)

	sealed, err := Seal(key, []byte("s3-secret"), "remote/r1/secret_key")
	require.NoError(t, err)
	require.NotContains(t, sealed, "s3-secret")
	plain, err := Open(key, sealed, "remote/r1/secret_key")
	require.NoError(t, err)
	require.Equal(t, "s3-secret", string(plain))
	_, err = Open(key, sealed, "remote/r2/secret_key")
	require.Error(t, err, "a sealed value opens only for its purpose")
	other, _ := NewKey()
	_, err = Open(other, sealed, "remote/r1/secret_key")
	require.Error(t, err, "and only with its key")
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	_, err = Open(key, string(tampered), "remote/r1/secret_key")
	require.Error(t, err, "a changed byte is found")
}

func code(t *testing.T, err error) uint64 {
	t.Helper()
	var r apicall.Refusal
	require.ErrorAs(t, err, &r)
	return r.RetCode()
}

// The passphrase requests, on a real database: LINSTOR's statuses and
// refusals; a restart (a new keyring) is locked until the passphrase is
// entered; a new passphrase re-wraps the same key.
func TestPassphraseLifecycle(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer st.Close()
	p := Passphrase{Store: st, Ring: &Keyring{}}
	status := func(p Passphrase) Status {
		s, err := p.Status(ctx)
		require.NoError(t, err)
		return s
	}
	require.Equal(t, Unset, status(p))
	require.Equal(t, apicall.FailMissingProps, code(t, p.Enter(ctx, "pw1")))
	require.EqualError(t, p.Enter(ctx, "pw1"), "encrypted namespace is empty, you need to set a passphrase first")
	require.EqualError(t, p.Modify(ctx, "pw1", "pw2"), "Could not modify crypt passphrase as it does not exist")
	require.Equal(t, apicall.FailInvldCryptPassphrase, code(t, p.Create(ctx, "")))

	require.NoError(t, p.Create(ctx, "pw1"))
	require.Equal(t, Unlocked, status(p))
	key, _ := p.Ring.Key()
	require.Equal(t, apicall.FailExistsCryptPassphrase, code(t, p.Create(ctx, "pw9")))

	restarted := Passphrase{Store: st, Ring: &Keyring{}}
	require.Equal(t, Locked, status(restarted))
	err = restarted.Enter(ctx, "wrong")
	require.Equal(t, apicall.FailMissingProps, code(t, err))
	require.EqualError(t, err, "Could not restore master passphrase as the given old passphrase was incorrect")
	require.Equal(t, Locked, status(restarted))
	require.NoError(t, restarted.Enter(ctx, "pw1"))
	again, _ := restarted.Ring.Key()
	require.Equal(t, key, again, "the same master key")

	require.Error(t, restarted.Modify(ctx, "wrong", "pw2"))
	require.NoError(t, restarted.Modify(ctx, "pw1", "pw2"))
	third := Passphrase{Store: st, Ring: &Keyring{}}
	require.Error(t, third.Enter(ctx, "pw1"))
	require.NoError(t, third.Enter(ctx, "pw2"))
	k3, _ := third.Ring.Key()
	require.Equal(t, key, k3, "a new passphrase re-wraps the same key, so sealed secrets stay readable")

	stored, _, err := st.MasterKey(ctx)
	require.NoError(t, err)
	require.False(t, strings.Contains(stored, "pw2") || strings.Contains(stored, "pw1"), "the stored key names no passphrase")

	// At start: the configured passphrase enters the key, or creates one.
	said, err := Passphrase{Store: st, Ring: &Keyring{}}.Auto(ctx, "pw2")
	require.NoError(t, err)
	require.Equal(t, "master passphrase entered from the configuration", said)
	_, err = Passphrase{Store: st, Ring: &Keyring{}}.Auto(ctx, "pw1")
	require.Error(t, err, "a wrong configured passphrase leaves it locked")
}
