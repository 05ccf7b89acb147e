package storage

import "testing"

// lvs and vgs print sizes; whatever they print, a size read is never
// negative and never a NaN turned integer.
func FuzzParseKib(f *testing.F) {
	for _, s := range []string{"1024.00", "  4096 ", "NaN", "-5", "1e400", "Inf", "9.3e18"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kib, err := ParseKib(s)
		if err == nil && kib < 0 {
			t.Fatalf("%q read as %d KiB", s, kib)
		}
	})
}
