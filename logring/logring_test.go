package logring

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRingKeepsTheLastWholeLines(t *testing.T) {
	r := New(100)
	for i := range 50 {
		fmt.Fprintf(r, "line %02d\n", i)
	}
	got := string(r.Bytes())
	require.LessOrEqual(t, len(got), 100)
	require.True(t, strings.HasPrefix(got, "line "), "starts at a whole line: %q", got)
	require.True(t, strings.HasSuffix(got, "line 49\n"))
}
