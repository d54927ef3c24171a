package store

import (
	"context"
	"time"
)

// DefaultTimeout bounds each store operation whose context has no deadline
// of its own, so that a hung server or a lost connection yields an error
// (wrapping context.DeadlineExceeded) instead of a goroutine stuck forever.
// It is generous: a healthy operation takes milliseconds.
const DefaultTimeout = 10 * time.Second

// WithTimeout sets the per-operation timeout applied when the caller's
// context has no deadline (NewStore's ping included). A caller's own
// deadline always wins, longer or shorter. d <= 0 disables the default, so
// an operation without a deadline may then wait as long as the server does.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// opCtx is the context for one store operation: ctx itself if it carries a
// deadline, else ctx bounded by the store's timeout. Call the returned
// cancel when the operation is done.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return withTimeout(ctx, s.cfg.timeout)
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
