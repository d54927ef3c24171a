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
	ctx, cancel = s.opCtx(bg, "test")
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Error("opCtx added no deadline by default")
	}
}

// TestStallWatchTimesTheStore: a streaming read's observed time is the
// store's, the consumer's pauses left out; a row's resume while the store
// is already busy does not restart its clock.
func TestStallWatchTimesTheStore(t *testing.T) {
	clock := time.Unix(0, 0)
	var got []time.Duration
	w := &stallWatch{op: "read conversation", now: func() time.Time { return clock },
		observe: func(op string, d time.Duration) {
			if op != "read conversation" {
				t.Errorf("op = %q", op)
			}
			got = append(got, d)
		}}
	w.resumed = clock
	clock = clock.Add(3 * time.Millisecond) // the server sends the first row
	w.resume()                              // a row: the store is still busy
	clock = clock.Add(2 * time.Millisecond)
	w.pause() // the consumer takes the row...
	clock = clock.Add(time.Minute)
	w.resume() // ...for a minute
	clock = clock.Add(4 * time.Millisecond)
	w.stop()
	if want := []time.Duration{9 * time.Millisecond}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("observed %v, want %v", got, want)
	}
}
