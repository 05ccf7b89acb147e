// Package dmcache is the WRITECACHE and CACHE layers: device-mapper
// targets that put a fast device in front of the volume below, set up
// with dmsetup.
package dmcache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"strata/agent/execrun"
)

// Layer runs dmsetup and blockdev.
type Layer struct {
	Run execrun.Runner
}

// Writecache is a WRITECACHE volume: Origin's writes go to Cache first.
type Writecache struct {
	Name, Origin, Cache string
	// BlockSize is the cache block size in bytes (Writecache/BlockSize,
	// 4096 by default); PMem says the cache is persistent memory.
	BlockSize int
	PMem      bool
}

// Cache is a CACHE volume (dm-cache): Cache holds hot blocks of Origin,
// Meta holds its metadata.
type Cache struct {
	Name, Origin, Cache, Meta string
	BlockSizeKib              int    // Cache/Cachesize granularity, 64 KiB by default
	Mode                      string // writethrough (default), writeback or passthrough
	Policy                    string // smq (default)
}

// Device is a mapping's device.
func Device(name string) string { return "/dev/mapper/" + name }

// UpWritecache creates the writecache mapping unless it exists.
func (l Layer) UpWritecache(ctx context.Context, w Writecache) (string, error) {
	kind := "s"
	if w.PMem {
		kind = "p"
	}
	bs := w.BlockSize
	if bs == 0 {
		bs = 4096
	}
	return l.up(ctx, w.Name, w.Origin, func(sectors int64) string {
		return fmt.Sprintf("0 %d writecache %s %s %s %d 0", sectors, kind, w.Origin, w.Cache, bs)
	})
}

// UpCache creates the dm-cache mapping unless it exists.
func (l Layer) UpCache(ctx context.Context, c Cache) (string, error) {
	bs, mode, policy := c.BlockSizeKib, c.Mode, c.Policy
	if bs == 0 {
		bs = 64
	}
	if mode == "" {
		mode = "writethrough"
	}
	if policy == "" {
		policy = "smq"
	}
	return l.up(ctx, c.Name, c.Origin, func(sectors int64) string {
		return fmt.Sprintf("0 %d cache %s %s %s %d 1 %s %s 0", sectors, c.Meta, c.Cache, c.Origin, bs*2, mode, policy)
	})
}

func (l Layer) up(ctx context.Context, name, origin string, table func(sectors int64) string) (string, error) {
	if ok, err := l.exists(ctx, name); err != nil || ok {
		return Device(name), err
	}
	out, err := l.Run.Run(ctx, "blockdev", "--getsz", origin)
	if err != nil {
		return "", err
	}
	sectors, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return "", fmt.Errorf("blockdev --getsz %s printed %q", origin, out)
	}
	if _, err := l.Run.Run(ctx, "dmsetup", "create", name, "--table", table(sectors)); err != nil {
		return "", err
	}
	return Device(name), nil
}

// Down removes the mapping, flushing a write cache first; a missing
// mapping is no error.
func (l Layer) Down(ctx context.Context, name string) error {
	if ok, err := l.exists(ctx, name); err != nil || !ok {
		return err
	}
	_, err := l.Run.Run(ctx, "dmsetup", "remove", name)
	return err
}

// exists asks dmsetup; "Device does not exist" is a no.
func (l Layer) exists(ctx context.Context, name string) (bool, error) {
	_, err := l.Run.Run(ctx, "dmsetup", "status", name)
	var ee *execrun.Error
	if errors.As(err, &ee) && strings.Contains(ee.Stderr, "Device does not exist") {
		return false, nil
	}
	return err == nil, err
}
