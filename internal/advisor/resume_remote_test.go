//go:build integration

package advisor_test

import (
	"context"
	"strconv"
	"testing"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestResumeBeyondStoredAcrossInstances: a reader that saw the generating
// instance's deltas before they were flushed reconnects to another
// instance with that Last-Event-ID, beyond what is stored. It waits for
// the text to reach it and then gets exactly what follows, not the stored
// text again. The model holds after its first token, so the offset is
// beyond the store whatever was flushed.
func TestResumeBeyondStoredAcrossInstances(t *testing.T) {
	t.Parallel()
	const n = 30
	want := modelstub.NumberedText(n)
	dsn := pgtest.Migrated(t)
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: n})
	stub.SetMode(modelstub.HoldMidStream)
	a := newFixtureOn(t, dsn, nil, stub, func(c *advisor.Config) { c.Instance = "a" })
	b := newFixtureOn(t, dsn, nil, stub, func(c *advisor.Config) { c.Instance = "b" })
	id := a.create()
	chat := a.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	if head := follow(t, chat, func(r reading) bool { return r.text != "" }); head.text != modelstub.NumberedText(1) {
		t.Fatalf("before the hold: %q", head.text)
	}
	off := len(modelstub.NumberedText(3)) // "1 2 3": A holds "1"
	onB := b.resume(context.Background(), id, strconv.Itoa(off))
	if ev, ok := onB.next(); !ok || ev.name != "reply" {
		t.Fatalf("B's first event: %+v (open: %v), want reply", ev, ok)
	}
	stub.Release()
	if got := follow(t, onB, nil); got.end.name != "done" || got.text != want[off:] {
		t.Fatalf("B's reader from byte %d: %s with %q, want done with %q", off, got.end.name, got.text, want[off:])
	}
}
