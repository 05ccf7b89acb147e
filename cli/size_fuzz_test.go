package cli

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A size the CLI accepts is a positive number of KiB that holds what was
// asked: never an overflowed or negative one.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"100M", "1.5T", "20", "0.5K", "99999999999999999999P", "1e3G", "-1G", " 7 GiB "} {
		f.Add(s)
	}
	number := regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
	f.Fuzz(func(t *testing.T, s string) {
		kib, err := parseSize(s)
		if err != nil {
			return
		}
		n, _ := strconv.ParseFloat(number.FindString(s), 64)
		unit := sizeUnits[strings.ToUpper(strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(s), "0123456789.")))]
		if kib < 1 || float64(kib) < n*unit/1024-1 || float64(kib) > math.MaxInt64 {
			t.Fatalf("%q read as %d KiB", s, kib)
		}
	})
}
