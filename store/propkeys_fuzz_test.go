package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever key and value a request carries, the check ends with a
// verdict: what it accepts fits both databases and holds no control
// characters, and what it refuses is quoted short and readable.
func FuzzCheckProp(f *testing.F) {
	f.Add(uint8(KindController), "DrbdOptions/Net/protocol", "C")
	f.Add(uint8(KindResourceDefinition), "Aux/app", "web\tserver")
	f.Add(uint8(KindNodeConnection), "Paths/p1/n1", "default")
	f.Add(uint8(KindKeyValueStore), strings.Repeat("k", 600), "v")
	f.Add(uint8(KindVolumeDefinition), "Aux/x", "a\x00b")
	f.Add(uint8(KindStoragePool), "StorDriver/FileDir", "/var/lib/strata/pool")
	f.Fuzz(func(t *testing.T, kind uint8, key, value string) {
		k := Kind(kind % uint8(KindKeyValueStore+1))
		err := CheckProp(k, key, value)
		if err == nil {
			if len(key) > MaxPropKeyBytes || len(value) > MaxPropValueBytes {
				t.Fatalf("accepted a key of %d or a value of %d bytes", len(key), len(value))
			}
			if strings.ContainsFunc(key+value, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }) {
				t.Fatalf("accepted control characters in %q=%q", key, value)
			}
			return
		}
		if len(err.Message) > 300 || !utf8.ValidString(err.Message) {
			t.Fatalf("refusal quotes too much or invalid UTF-8: %q", err.Message)
		}
	})
}
