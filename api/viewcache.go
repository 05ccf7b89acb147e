package api

import (
	"sync"
)

// viewCache keeps serialised list answers with the database generation
// they were built at. A repeated list (resource list polled by linstor-csi,
// GUIs, monitoring) then costs one read of the generation instead of a
// rebuild; any write by any controller moves the generation on.
type viewCache struct {
	mu      sync.Mutex
	entries map[string]cachedView
}

type cachedView struct {
	gen  int64
	body []byte
}

// maxCachedViews bounds the memory: distinct filters are few in practice.
const maxCachedViews = 8

func (c *viewCache) get(key string, gen int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.body, ok && e.gen == gen
}

// put stores body built from the database at generation gen, which the
// caller read before reading the data: a write racing with the build
// leaves a newer generation behind and the entry is not used.
func (c *viewCache) put(key string, gen int64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedViews {
		c.entries = map[string]cachedView{}
	}
	c.entries[key] = cachedView{gen, body}
}
