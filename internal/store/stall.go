package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// stallWatch bounds a long streaming read by how long the server goes
// without sending anything, rather than by its total time: a walk over the
// whole history may rightly take minutes, but waiting d for the next row
// means the server is hung. Like opCtx it applies only when the caller's
// context has no deadline and the store's timeout is on.
type stallWatch struct {
	d     time.Duration
	timer *time.Timer
	ctx   context.Context
}

func (s *Store) stallWatch(ctx context.Context) (context.Context, *stallWatch) {
	w := &stallWatch{d: s.cfg.timeout}
	if _, ok := ctx.Deadline(); ok || w.d <= 0 {
		w.ctx = ctx
		return ctx, w
	}
	ctx, cancel := context.WithCancelCause(ctx)
	w.ctx = ctx
	w.timer = time.AfterFunc(w.d, func() { cancel(errStalled) })
	return ctx, w
}

// errStalled is the cancellation cause when the server sent nothing for d.
var errStalled = errors.New("the server sent nothing")

// resume restarts the countdown: progress was made, or the consumer is done.
func (w *stallWatch) resume() {
	if w.timer != nil {
		w.timer.Reset(w.d)
	}
}

// pause stops the countdown while the consumer works.
func (w *stallWatch) pause() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *stallWatch) stop() { w.pause() }

// explain turns a cancellation by the watch into an error that wraps
// ErrUnavailable and context.DeadlineExceeded, like every other store
// timeout.
// op names the operation, as dbError's does.
func (w *stallWatch) explain(op string, err error) error {
	if err != nil && errors.Is(context.Cause(w.ctx), errStalled) {
		return fmt.Errorf("store: %s: %w: %w for %s: %w", op, ErrUnavailable, errStalled, w.d, context.DeadlineExceeded)
	}
	return err
}
