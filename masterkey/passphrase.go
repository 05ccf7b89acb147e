package masterkey

import (
	"context"
	"errors"
	"fmt"

	"strata/apicall"
)

// Storage keeps the wrapped master key (the store does).
type Storage interface {
	// MasterKey is the stored wrapped key; ok is false while none is set.
	MasterKey(ctx context.Context) (wrapped string, ok bool, err error)
	// SetMasterKey stores the wrapped key: a first one when old is "",
	// else in place of old (compare and swap, so that two changes do not
	// both win).
	SetMasterKey(ctx context.Context, old, wrapped string) (bool, error)
}

// Status is LINSTOR's passphrase status.
type Status string

const (
	Unset    Status = "unset"
	Locked   Status = "locked"
	Unlocked Status = "unlocked"
)

var (
	errExists = &apicall.Refused{Code: apicall.FailExistsCryptPassphrase, Message: "Could not create new crypt passphrase as it already exists",
		Correction: "Use the crypt-modify-passphrase command instead of crypt-create-passphrase"}
	errNoneToModify = &apicall.Refused{Code: apicall.FailMissingProps, Message: "Could not modify crypt passphrase as it does not exist",
		Correction: "Use the crypt-create-passphrase command instead of crypt-modify-passphrase"}
	errNoneToEnter = &apicall.Refused{Code: apicall.FailMissingProps, Message: "encrypted namespace is empty, you need to set a passphrase first",
		Correction: "Create one with encryption create-passphrase."}
	errWrong = &apicall.Refused{Code: apicall.FailMissingProps, Message: "Could not restore master passphrase as the given old passphrase was incorrect",
		Cause: "Wrong passphrase", Correction: "Enter the correct passphrase"}
	errEmpty = &apicall.Refused{Code: apicall.FailInvldCryptPassphrase, Message: "The passphrase must not be empty.", Correction: "Give a passphrase."}
)

// Passphrase runs the passphrase requests against a store and this
// process's keyring.
type Passphrase struct {
	Store Storage
	Ring  *Keyring
}

// Status tells whether a passphrase is set and, here, entered.
func (p Passphrase) Status(ctx context.Context) (Status, error) {
	_, ok, err := p.Store.MasterKey(ctx)
	switch {
	case err != nil:
		return "", err
	case !ok:
		return Unset, nil
	}
	if _, unlocked := p.Ring.Key(); unlocked {
		return Unlocked, nil
	}
	return Locked, nil
}

// Create makes the master key and stores it wrapped under passphrase;
// the key is then unlocked.
func (p Passphrase) Create(ctx context.Context, passphrase string) error {
	if passphrase == "" {
		return errEmpty
	}
	key, err := NewKey()
	if err != nil {
		return err
	}
	enc, err := wrapEncoded(key, passphrase)
	if err != nil {
		return err
	}
	ok, err := p.Store.SetMasterKey(ctx, "", enc)
	if err != nil {
		return err
	}
	if !ok {
		return errExists
	}
	p.Ring.Unlock(key)
	return nil
}

// Enter unlocks the stored master key with passphrase.
func (p Passphrase) Enter(ctx context.Context, passphrase string) error {
	_, key, err := p.unwrap(ctx, passphrase, errNoneToEnter)
	if err != nil {
		return err
	}
	p.Ring.Unlock(key)
	return nil
}

// Modify re-wraps the master key under a new passphrase; the old one
// must open it. Secrets sealed with the key stay as they are.
func (p Passphrase) Modify(ctx context.Context, old, passphrase string) error {
	if passphrase == "" {
		return errEmpty
	}
	stored, key, err := p.unwrap(ctx, old, errNoneToModify)
	if err != nil {
		return err
	}
	enc, err := wrapEncoded(key, passphrase)
	if err != nil {
		return err
	}
	ok, err := p.Store.SetMasterKey(ctx, stored, enc)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the master passphrase was changed by another request meanwhile")
	}
	p.Ring.Unlock(key)
	return nil
}

// wrapEncoded is key wrapped under passphrase, in its stored form.
func wrapEncoded(key []byte, passphrase string) (string, error) {
	w, err := Wrap(key, passphrase)
	if err != nil {
		return "", err
	}
	return w.Encode()
}

func (p Passphrase) unwrap(ctx context.Context, passphrase string, none error) (string, []byte, error) {
	stored, ok, err := p.Store.MasterKey(ctx)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, none
	}
	w, err := Decode(stored)
	if err != nil {
		return "", nil, err
	}
	key, err := w.Unwrap(passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return "", nil, errWrong
	}
	return stored, key, err
}

// Auto applies the configured passphrase at start, as LINSTOR does with
// [encrypt] passphrase and MASTER_PASSPHRASE: none stored yet → create
// it; stored → enter it; a wrong one leaves the key locked. It says what
// it did, in words without the passphrase.
func (p Passphrase) Auto(ctx context.Context, passphrase string) (string, error) {
	if passphrase == "" {
		return "", nil
	}
	st, err := p.Status(ctx)
	if err != nil {
		return "", err
	}
	if st == Unset {
		if err := p.Create(ctx, passphrase); err != nil {
			return "", err
		}
		return "master passphrase created from the configuration", nil
	}
	if err := p.Enter(ctx, passphrase); err != nil {
		return "", err
	}
	return "master passphrase entered from the configuration", nil
}
