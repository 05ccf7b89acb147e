// Package masterkey is the master passphrase (user guide 2.8): a random
// 32-byte master key encrypts every secret Strata stores (S3 keys, remote
// passphrases, LUKS volume keys). The key is stored only wrapped: sealed
// with AES-256-GCM under a key that argon2id derives from the passphrase,
// so changing the passphrase re-wraps the key and nothing else. Unwrapped,
// it lives in this process's memory only (a Keyring), until the process
// ends; after a restart it is locked until the passphrase is entered.
package masterkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Wrapped is the master key as it is stored: sealed under the
// passphrase's key, with what derives that key again.
type Wrapped struct {
	KDF       string `json:"kdf"` // argon2id
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
	Nonce     []byte `json:"nonce"`
	Sealed    []byte `json:"sealed"`
}

// argon2id's parameters for new wraps (RFC 9106's second recommended
// option, with 64 MiB): about 0.1 s on the build machines. Old wraps
// keep theirs.
const (
	kdfTime      = 3
	kdfMemoryKiB = 64 << 10
	kdfThreads   = 2
	keyLen       = 32
)

// ErrWrongPassphrase is the unwrap of a key with another passphrase.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// NewKey is a fresh random master key.
func NewKey() ([]byte, error) {
	key := make([]byte, keyLen)
	_, err := rand.Read(key)
	return key, err
}

// Wrap seals key under passphrase.
func Wrap(key []byte, passphrase string) (Wrapped, error) {
	w := Wrapped{KDF: "argon2id", Time: kdfTime, MemoryKiB: kdfMemoryKiB, Threads: kdfThreads, Salt: make([]byte, 16)}
	if _, err := rand.Read(w.Salt); err != nil {
		return Wrapped{}, err
	}
	aead, err := gcm(w.derive(passphrase))
	if err != nil {
		return Wrapped{}, err
	}
	w.Nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(w.Nonce); err != nil {
		return Wrapped{}, err
	}
	w.Sealed = aead.Seal(nil, w.Nonce, key, []byte(w.KDF))
	return w, nil
}

// Unwrap opens the key with passphrase; another passphrase gives
// ErrWrongPassphrase (the cipher's authentication fails).
func (w Wrapped) Unwrap(passphrase string) ([]byte, error) {
	if w.KDF != "argon2id" {
		return nil, fmt.Errorf("master key wrapped with unknown KDF %q", w.KDF)
	}
	aead, err := gcm(w.derive(passphrase))
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, w.Nonce, w.Sealed, []byte(w.KDF))
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return key, nil
}

func (w Wrapped) derive(passphrase string) []byte {
	return argon2.IDKey([]byte(passphrase), w.Salt, w.Time, w.MemoryKiB, w.Threads, keyLen)
}

// Encode and Decode are the stored form of a wrapped key.
func (w Wrapped) Encode() (string, error) {
	b, err := json.Marshal(w)
	return string(b), err
}

// Decode reads a stored wrapped key.
func Decode(s string) (Wrapped, error) {
	var w Wrapped
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Wrapped{}, fmt.Errorf("stored master key: %w", err)
	}
	return w, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts a secret with the master key: base64 of nonce and
// sealed bytes. purpose is bound into the seal (such as
// "remote/NAME/secret_key"), so a sealed value cannot be moved to
// another place and opened there.
func Seal(key, secret []byte, purpose string) (string, error) {
	aead, err := gcm(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, secret, []byte(purpose))), nil
}

// Open decrypts what Seal sealed for purpose.
func Open(key []byte, sealed, purpose string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("sealed secret: %w", err)
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize() {
		return nil, errors.New("sealed secret is too short")
	}
	out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("sealed secret for %s does not open with the master key", purpose)
	}
	return out, nil
}

// Keyring holds the unlocked master key of this process.
type Keyring struct {
	mu  sync.Mutex
	key []byte
}

// Unlock keeps the key.
func (k *Keyring) Unlock(key []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.key = append([]byte(nil), key...)
}

// Key is the unlocked key; ok is false while it is locked.
func (k *Keyring) Key() (key []byte, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]byte(nil), k.key...), k.key != nil
}
