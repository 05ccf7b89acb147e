package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultTrustFile is where an agent keeps the fingerprint of the token
// its controllers proved themselves with first.
const DefaultTrustFile = "/var/lib/strata-agent/controller-token"

// Trust is how an agent knows its cluster's controllers: every request
// but /health carries the cluster's token (Authorization: Bearer), which
// is Token when the operator gave it, else the one the first controller
// sent, trusted on first use and kept (as its SHA-256) in File. Anybody
// else is refused, so a stranger can neither push a node state nor run
// a job.
type Trust struct {
	Token string
	File  string

	mu    sync.Mutex
	known string // SHA-256 hex of the trusted token; "" until known
}

func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// admit says whether the request comes from the cluster's controller,
// trusting the first token it sees when none is known yet.
func (t *Trust) admit(r *http.Request) (bool, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.known == "" {
		if t.Token != "" {
			t.known = fingerprint(t.Token)
		} else if b, err := os.ReadFile(t.File); err == nil {
			t.known = strings.TrimSpace(string(b))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	got := fingerprint(token)
	if t.known == "" { // first use: this controller's cluster it is
		if err := os.MkdirAll(filepath.Dir(t.File), 0o700); err != nil {
			return false, err
		}
		if err := replaceFile(t.File, []byte(got+"\n"), 0o600); err != nil {
			return false, err
		}
		t.known = got
		return true, nil
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(t.known)) == 1, nil
}

// trusted lets only the cluster's controllers through (health checks
// excepted).
func (a *Agent) trusted(next http.Handler) http.Handler {
	if a.Trust == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			next.ServeHTTP(w, r)
			return
		}
		ok, err := a.Trust.admit(r)
		if err != nil {
			a.Log.Error("cannot read or keep the controller's token", "error", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "the agent cannot check who is asking"})
			return
		}
		if !ok {
			a.Log.Warn("request refused: not from this node's controller", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "this agent obeys only its cluster's controllers"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
