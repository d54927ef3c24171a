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

	"git.georgsen.dk/hwlab/internal/store"
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
		if _, err := tx.Exec(`WITH c AS (UPDATE conversations SET message_count = message_count + 1, active_seq = message_count + 1
				WHERE id = $1 RETURNING message_count)
			INSERT INTO messages (conversation_id, seq, parent_seq, role, content)
			SELECT $1, c.message_count, nullif(c.message_count - 1, 0), 'user', $2 FROM c`, id, strconv.Itoa(i)); err != nil {
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

// TestCreatedAtFollowsSeq: within a conversation created_at never goes
// backwards as seq grows, although appends race for the conversation's row
// lock (a statement's now() is when it began, not when it got the lock, so
// it did before) and although an imported message may be dated ahead of
// the clock.
func TestCreatedAtFollowsSeq(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	sorted := func(t *testing.T, id string) {
		t.Helper()
		c := mustGet(t, s, id)
		for i := 1; i < len(c.Messages); i++ {
			if prev, m := c.Messages[i-1], c.Messages[i]; m.CreatedAt.Before(prev.CreatedAt) {
				t.Errorf("message %d at %v, before message %d at %v", i+1, m.CreatedAt, i, prev.CreatedAt)
			}
		}
	}
	t.Run("racing appends", func(t *testing.T) {
		t.Parallel()
		const writers, each = 16, 25
		id := mustCreate(t, s, "m")
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for range each {
					if _, err := s.AddMessage(ctx, id, "user", "x"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		sorted(t, id)
	})
	t.Run("after a message dated ahead", func(t *testing.T) {
		t.Parallel()
		ahead := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		id := "3f0c2b9e-6a1d-4c8e-9f4b-1d2e3c4b5a69"
		if _, err := s.ImportConversation(ctx, store.Conversation{ID: id, StartedAt: ahead, Messages: []store.Message{
			{ID: "7d1e0f3a-2b4c-4d5e-8f6a-0b1c2d3e4f5a", Role: "user", Content: "from the future", CreatedAt: ahead},
		}}); err != nil {
			t.Fatal(err)
		}
		m, err := s.AppendMessage(ctx, id, "assistant", "now")
		if err != nil {
			t.Fatal(err)
		}
		if m.CreatedAt.Before(ahead) {
			t.Errorf("appended at %v, before the imported %v", m.CreatedAt, ahead)
		}
		sorted(t, id)
	})
}
