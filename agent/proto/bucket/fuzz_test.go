package bucket

import (
	"bytes"
	"strings"
	"testing"
)

// A delta comes from a bucket anyone with its keys can write: whatever
// bytes it holds, decoding never panics, and what decodes stays within
// a chunk, applies without panicking and encodes back to itself.
func FuzzDecodeDelta(f *testing.F) {
	parent := strings.Repeat("a", 64)
	f.Add(Delta{Parent: parent, Ranges: []Range{{Offset: 0, Data: []byte("data")}, {Offset: 4096, Zero: 8192}}}.Encode())
	f.Add(Delta{Parent: parent}.Encode())
	f.Add([]byte("SDL1"))
	f.Add([]byte{})
	chunk := make([]byte, ChunkSize)
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := DecodeDelta(p)
		if err != nil {
			return
		}
		for _, r := range d.Ranges {
			end := r.Offset + int64(len(r.Data)) + r.Zero
			if r.Offset < 0 || r.Zero < 0 || end < r.Offset || end > ChunkSize {
				t.Fatalf("decoded range %d+%d (zero %d) is outside a chunk", r.Offset, len(r.Data), r.Zero)
			}
		}
		if err := d.Apply(chunk); err != nil {
			t.Fatalf("a decoded delta does not apply: %v", err)
		}
		again, err := DecodeDelta(d.Encode())
		if err != nil || again.Parent != d.Parent || len(again.Ranges) != len(d.Ranges) {
			t.Fatalf("re-encoded delta reads back differently: %v", err)
		}
		for i := range d.Ranges {
			if again.Ranges[i].Offset != d.Ranges[i].Offset || again.Ranges[i].Zero != d.Ranges[i].Zero || !bytes.Equal(again.Ranges[i].Data, d.Ranges[i].Data) {
				t.Fatalf("range %d reads back differently", i)
			}
		}
	})
}

// Keys in a bucket are anyone's: a key that parses names a backup whose
// parts are as LINSTOR's patterns allow, and the key Strata would write
// for it parses to the same.
func FuzzParseKeys(f *testing.F) {
	for _, k := range []string{"rsc_back_20240101_120000.meta", "rsc_back_20240101_120000^snap.meta", "rsc_00000_back_20240101_120000^snap",
		"rsc.meta_00000_back_20240101_120000", "rsc_back_20240101_120000suffix^s", "x", ""} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if n, ok := ParseMetaKey(key); ok {
			if len(n.Resource) < 2 || len(n.Resource) > 48 || !strings.HasPrefix(n.BackupID, "back_") {
				t.Fatalf("meta key %q parsed to %+v", key, n)
			}
		}
		if n, nr, ok := ParseDataKey(key); ok {
			if nr < 0 || nr > 99999 || len(n.Resource) < 2 {
				t.Fatalf("data key %q parsed to %+v volume %d", key, n, nr)
			}
		}
		if n, ok := ParseID(key); ok && !strings.HasPrefix(n.BackupID, "back_") {
			t.Fatalf("id %q parsed to %+v", key, n)
		}
	})
}
