package store

import (
	"context"
	"testing"
	"time"
)

// TestWithTimeout: a context without a deadline gets the store's timeout;
// one with a deadline keeps its own, whether shorter or longer; d <= 0
// adds none.
func TestWithTimeout(t *testing.T) {
	bg := context.Background()
	ctx, cancel := withTimeout(bg, time.Hour)
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Hour || time.Until(dl) < 59*time.Minute {
		t.Errorf("no caller deadline: got %v, %v; want about an hour from now", dl, ok)
	}
	for _, own := range []time.Duration{time.Millisecond, 24 * time.Hour} {
		parent, pcancel := context.WithTimeout(bg, own)
		want, _ := parent.Deadline()
		ctx, cancel := withTimeout(parent, time.Hour)
		if got, _ := ctx.Deadline(); !got.Equal(want) {
			t.Errorf("caller deadline %v: got %v, want it kept", own, got)
		}
		cancel()
		pcancel()
	}
	ctx, cancel = withTimeout(bg, 0)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("timeout 0 added a deadline")
	}
	s := &Store{cfg: config{timeout: DefaultTimeout}}
	ctx, cancel = s.opCtx(bg)
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Error("opCtx added no deadline by default")
	}
}
