// Package logring keeps the last lines a process logged, so that an SOS
// report can include them (Strata's processes log to stderr, which the
// journal keeps where a report cannot reach).
package logring

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
)

// Ring is an io.Writer that keeps the most recent whole lines written to
// it, up to a byte limit.
type Ring struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// New returns a ring keeping up to max bytes.
func New(max int) *Ring { return &Ring{max: max} }

// Write keeps p, dropping the oldest lines beyond the limit.
func (r *Ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	if over := len(r.buf) - r.max; over > 0 {
		cut := over
		if i := bytes.IndexByte(r.buf[over:], '\n'); i >= 0 {
			cut = over + i + 1
		}
		r.buf = append(r.buf[:0], r.buf[min(cut, len(r.buf)):]...)
	}
	return len(p), nil
}

// Bytes returns a copy of what the ring holds.
func (r *Ring) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf)
}

// NewLogger logs to w and keeps the lines in r as well, as text or, with
// json, one JSON object per line (for log collectors).
func NewLogger(w io.Writer, r *Ring, level slog.Leveler, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	handler := func(w io.Writer) slog.Handler {
		if json {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	return slog.New(slog.NewMultiHandler(handler(w), handler(r)))
}
