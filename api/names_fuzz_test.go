package api

import (
	"errors"
	"testing"
	"unicode/utf8"

	"strata/apicall"
)

// Names come from every request: a name LINSTOR's rules accept is short
// and plain ASCII (so it is safe in paths, device names and SQL), and a
// refusal quotes it short and readable.
func FuzzNameRules(f *testing.F) {
	for _, s := range []string{"rsc1", "_x", "-bad", "a", "ALL", "node-1.example.com", "../../etc/passwd", "n\x00de", "ünïcode", "a.b..c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, r := range []nameRule{rscNameRule, rgNameRule, spNameRule, netIfNameRule} {
			checkVerdict(t, r.what, name, r.check(name, 0, 0), r.max)
		}
		checkVerdict(t, "node", name, checkNodeName(name, 0, 0), 255)
	})
}

func checkVerdict(t *testing.T, what, name string, err error, maxLen int) {
	t.Helper()
	if err == nil {
		if len(name) > maxLen {
			t.Fatalf("%s name of %d bytes accepted", what, len(name))
		}
		for _, c := range []byte(name) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				t.Fatalf("%s name %q accepted with %q", what, name, c)
			}
		}
		return
	}
	var rcs apicall.RcList
	if !errors.As(err, &rcs) || len(rcs) != 1 {
		t.Fatalf("%s name %q refused without an ApiCallRc: %v", what, name, err)
	}
	if m := rcs[0].Message; len(m) > 200 || !utf8.ValidString(m) {
		t.Fatalf("%s refusal quotes too much or invalid UTF-8: %q", what, m)
	}
}
