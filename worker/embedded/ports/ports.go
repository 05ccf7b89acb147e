// Package ports chooses ports for servers that bind them a moment later:
// the embedded Temporal server's services, and the test harness's
// processes. It links nothing of the server.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Free is a port free on host now, chosen below the kernel's ephemeral
// range: a port from that range (what listening on port 0 gives) may be
// taken by any outgoing connection before the server binds it.
func Free(host string) (int, error) {
	lo := 32768 // Linux's default start of the ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				lo = n
			}
		}
	}
	var err error
	for range 100 {
		port := lo/2 + rand.IntN(lo-lo/2)
		var l net.Listener
		if l, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port on %s: %w", host, err)
}
