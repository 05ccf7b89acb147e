package harness

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// errors records what a check reports.
type errors struct {
	testing.TB
	reported []string
}

func (e *errors) Errorf(format string, args ...any) {
	e.reported = append(e.reported, fmt.Sprintf(format, args...))
}

func TestNoSecretFindsEverySecretRegistered(t *testing.T) {
	s := Secret("a-secret-of-this-test")
	e := &errors{TB: t}
	NoSecret(e, "a log", "level=INFO msg=ready")
	require.Empty(t, e.reported)
	NoSecret(e, "a log", "level=INFO key="+s)
	require.Equal(t, []string{`a log holds the secret "a-se…"`}, e.reported, "named without the secret itself")
}
