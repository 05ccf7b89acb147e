package harness

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// secrets are every secret a test of the suite gave Strata (S3 keys,
// passphrases): no answer and no log of Strata may hold one.
var secrets struct {
	sync.Mutex
	list []string
}

// Secret registers s as a secret of the suite and returns it.
func Secret(s string) string {
	secrets.Lock()
	defer secrets.Unlock()
	secrets.list = append(secrets.list, s)
	return s
}

// NoSecret fails the test if text (what where names) holds a secret.
func NoSecret(t testing.TB, where, text string) {
	t.Helper()
	secrets.Lock()
	defer secrets.Unlock()
	for _, s := range secrets.list {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret %q", where, s[:min(len(s), 4)]+"…")
		}
	}
}

// checkingAnswers is a transport that checks every answer for secrets.
type checkingAnswers struct{ t testing.TB }

func (c checkingAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	NoSecret(c.t, "the answer to "+req.Method+" "+req.URL.Path, string(body))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// HTTPClient is a client for the controller's API (golinstor's too)
// that checks every answer for secrets.
func (c *Controller) HTTPClient() *http.Client {
	return &http.Client{Transport: checkingAnswers{c.t}}
}
