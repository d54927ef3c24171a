//go:build integration

package store_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOrderWithTiedTimestamps: messages come back in append order even when
// every created_at is equal, as happens for appends inside one transaction
// (now() is the transaction's start time).
func TestOrderWithTiedTimestamps(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	var want []string
	for i := range 20 {
		want = append(want, mustAdd(t, s, id, "user", fmt.Sprint(i)))
	}
	// Make every timestamp equal, one row at a time from the last appended
	// to the first, so the rows' physical order is the reverse of append
	// order too: only seq can give the right answer.
	for seq := len(want); seq >= 1; seq-- {
		if _, err := s.DB().Exec(`UPDATE messages SET created_at = '2026-01-01T00:00:00Z' WHERE conversation_id = $1 AND seq = $2`, id, seq); err != nil {
			t.Fatal(err)
		}
	}
	c := mustGet(t, s, id)
	if len(c.Messages) != len(want) {
		t.Fatalf("got %d messages, want %d", len(c.Messages), len(want))
	}
	for i, m := range c.Messages {
		if m.ID != want[i] || m.Content != fmt.Sprint(i) {
			t.Fatalf("message %d = %s %q, want %s %q", i, m.ID, m.Content, want[i], fmt.Sprint(i))
		}
		if !m.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("message %d CreatedAt = %v", i, m.CreatedAt)
		}
	}
}

// TestOrderIgnoresClockSteps: order is append order even when created_at
// runs backwards (a clock stepped back between appends), so it is seq, not
// the timestamp, that orders a thread.
func TestOrderIgnoresClockSteps(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	var want []string
	for i := range 10 {
		want = append(want, mustAdd(t, s, id, "user", fmt.Sprint(i)))
	}
	if _, err := s.DB().Exec(`UPDATE messages SET created_at = '2026-01-01T00:00:00Z'::timestamptz - seq * interval '1 second' WHERE conversation_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	c := mustGet(t, s, id)
	for i, m := range c.Messages {
		if m.ID != want[i] {
			t.Fatalf("message %d is %s (%q), want %s", i, m.ID, m.Content, want[i])
		}
	}
	if len(c.Messages) != len(want) {
		t.Fatalf("got %d messages, want %d", len(c.Messages), len(want))
	}
}

// TestOrderInsideOneTransaction runs the store's append statement several
// times in one transaction, where now() ties by definition.
func TestOrderInsideOneTransaction(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	tx, err := s.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := tx.Exec(`WITH c AS (UPDATE conversations SET message_count = message_count + 1 WHERE id = $1 RETURNING message_count)
			INSERT INTO messages (conversation_id, seq, role, content) SELECT $1, c.message_count, 'user', $2 FROM c`, id, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := mustGet(t, s, id)
	if len(c.Messages) != 10 {
		t.Fatalf("got %d messages, want 10", len(c.Messages))
	}
	for i, m := range c.Messages {
		if m.Content != strconv.Itoa(i) {
			t.Fatalf("message %d has content %q, want %q", i, m.Content, strconv.Itoa(i))
		}
		if !m.CreatedAt.Equal(c.Messages[0].CreatedAt) {
			t.Fatalf("timestamps differ inside one transaction: %v vs %v", m.CreatedAt, c.Messages[0].CreatedAt)
		}
	}
}

// TestConcurrentAppendsToOneConversation: writers racing on one thread each
// keep their own order, no message is lost, seq is gapless and the count is
// exact.
func TestConcurrentAppendsToOneConversation(t *testing.T) {
	t.Parallel()
	const writers, each = 8, 25
	ctx := context.Background()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.AddMessage(ctx, id, "user", fmt.Sprintf("w%d-%d", w, i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AddMessage: %v", err)
	}
	c := mustGet(t, s, id)
	if len(c.Messages) != writers*each {
		t.Fatalf("got %d messages, want %d", len(c.Messages), writers*each)
	}
	next := make([]int, writers)
	for _, m := range c.Messages {
		var w, i int
		if _, err := fmt.Sscanf(strings.Replace(m.Content, "-", " ", 1), "w%d %d", &w, &i); err != nil {
			t.Fatalf("content %q: %v", m.Content, err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: message %d came where %d was due", w, i, next[w])
		}
		next[w]++
	}
	assertSeqAndCount(t, s.DB(), id, writers*each)
}
