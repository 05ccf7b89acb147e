package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// Every request is logged, so that an operator can see what a plug-in
// did: at DEBUG, and at INFO when it failed, with the workflows it
// started or joined. Bodies are never logged (they may carry secrets).

type requestNoteKey struct{}

// requestNote collects what the request log tells of a request besides
// its method and path: the workflows it starts and the user signed in.
type requestNote struct {
	mu   sync.Mutex
	ids  []string
	user string
}

// noteWorkflow records that the request of ctx started or joined id.
func noteWorkflow(ctx context.Context, id string) {
	if n, ok := ctx.Value(requestNoteKey{}).(*requestNote); ok {
		n.mu.Lock()
		n.ids = append(n.ids, id)
		n.mu.Unlock()
	}
}

// noteUser records who the request of ctx signed in as.
func noteUser(ctx context.Context, user string) {
	if n, ok := ctx.Value(requestNoteKey{}).(*requestNote); ok {
		n.mu.Lock()
		n.user = user
		n.mu.Unlock()
	}
}

func requestLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			note := &requestNote{}
			rec := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestNoteKey{}, note)))
			status := cmp.Or(rec.Status(), http.StatusOK)
			level := slog.LevelDebug
			if status >= 400 {
				level = slog.LevelInfo
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr)}
			note.mu.Lock()
			if len(note.ids) > 0 {
				attrs = append(attrs, slog.Any("workflows", note.ids))
			}
			if note.user != "" {
				attrs = append(attrs, slog.String("user", note.user))
			}
			note.mu.Unlock()
			log.LogAttrs(r.Context(), level, "REST request", attrs...)
		})
	}
}
