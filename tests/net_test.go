package tests

import (
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// listen occupies a loopback port until the returned func is called.
func listen(t *testing.T, port int) func() {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	return func() { l.Close() }
}
