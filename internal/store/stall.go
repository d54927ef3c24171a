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
//
// It also times the read for the observer (WithObserver): the time the
// store spent, the consumer's pauses left out, since a slow client reading
// a long thread is not a slow database.
type stallWatch struct {
	d     time.Duration
	timer *time.Timer
	ctx   context.Context

	op      string
	observe func(string, time.Duration) // nil: no observer
	now     func() time.Time            // time.Now; a test's clock
	busy    time.Duration               // store time before the last pause
	resumed time.Time                   // when the store's time last (re)started; zero while paused
}

func (s *Store) stallWatch(ctx context.Context, op string) (context.Context, *stallWatch) {
	w := &stallWatch{d: s.cfg.timeout, op: op, observe: s.cfg.observe, now: time.Now}
	if w.observe != nil {
		w.resumed = w.now()
	}
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
	if w.observe != nil && w.resumed.IsZero() { // each row resumes too, unpaused
		w.resumed = w.now()
	}
}

// pause stops the countdown while the consumer works.
func (w *stallWatch) pause() {
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.observe != nil && !w.resumed.IsZero() {
		w.busy += w.now().Sub(w.resumed)
		w.resumed = time.Time{}
	}
}

// stop ends the watch and reports the store's time to the observer.
func (w *stallWatch) stop() {
	w.pause()
	if w.observe != nil {
		w.observe(w.op, w.busy)
	}
}

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
