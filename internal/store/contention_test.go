//go:build integration

package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// Contention tests; make test runs them under -race. Each ends by checking
// the invariants: gapless seq, exact counts, no orphan messages.

// assertNoOrphans checks that every message belongs to a conversation.
func assertNoOrphans(t *testing.T, s *store.Store) {
	t.Helper()
	if n := count(t, s.DB(), `SELECT count(*) FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id WHERE c.id IS NULL`); n != 0 {
		t.Errorf("%d orphan messages", n)
	}
}

// TestContention32WritersOneConversation: 32 goroutines, each with its own
// connection, append to one conversation at once; nothing is lost, each
// writer's messages keep their order, seq is gapless and the count exact.
func TestContention32WritersOneConversation(t *testing.T) {
	t.Parallel()
	const writers, each = 32, 10
	ctx := context.Background()
	s := newStore(t, store.WithPool(writers, 0, 0, 0))
	id := mustCreate(t, s, "m")
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				if _, err := s.AddMessage(ctx, id, "user", fmt.Sprintf("w%d-%d", w, i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AddMessage: %v", err)
	}
	c := mustGet(t, s, id)
	if len(c.Messages) != writers*each {
		t.Fatalf("got %d messages, want %d", len(c.Messages), writers*each)
	}
	checkWriterOrder(t, c)
	assertSeqAndCount(t, s.DB(), id, writers*each)
	assertNoOrphans(t, s)
}

// TestContentionAppendsRaceDelete: appenders keep appending to
// conversations that are deleted under them. Every append either succeeds
// (and its message goes with the conversation) or is ErrNotFound; every
// append begun after DeleteConversation returned is ErrNotFound; nothing
// of a deleted conversation remains, and no message is orphaned.
func TestContentionAppendsRaceDelete(t *testing.T) {
	t.Parallel()
	const convs, appenders, each = 6, 4, 30
	ctx := context.Background()
	s := newStore(t, store.WithPool(convs*appenders+convs, 0, 0, 0))
	keep := mustCreate(t, s, "kept") // an unrelated thread must be untouched
	mustAdd(t, s, keep, "user", "survivor")
	var wg sync.WaitGroup
	var ok, notFound, lateOK atomic.Int64
	var ids []string
	for c := range convs {
		id := mustCreate(t, s, fmt.Sprint("doomed-", c))
		ids = append(ids, id)
		var deleted atomic.Bool
		first := make(chan struct{})
		var once sync.Once
		for a := range appenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					late := deleted.Load()
					_, err := s.AddMessage(ctx, id, "user", fmt.Sprintf("c%d-a%d-%d", c, a, i))
					switch {
					case err == nil:
						ok.Add(1)
						once.Do(func() { close(first) })
						if late {
							lateOK.Add(1)
						}
					case errors.Is(err, store.ErrNotFound):
						notFound.Add(1)
					default:
						t.Errorf("AddMessage: %v, want nil or ErrNotFound", err)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-first // delete while the appenders are busy, not before they start
			if err := s.DeleteConversation(ctx, id); err != nil {
				t.Errorf("DeleteConversation: %v", err)
			}
			deleted.Store(true)
		}()
	}
	wg.Wait()
	t.Logf("%d appends succeeded before their delete, %d were ErrNotFound", ok.Load(), notFound.Load())
	if n := lateOK.Load(); n != 0 {
		t.Errorf("%d appends begun after DeleteConversation returned succeeded", n)
	}
	if notFound.Load() == 0 {
		t.Error("no append lost the race: the test proved nothing")
	}
	for _, id := range ids {
		if n := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, id); n != 0 {
			t.Errorf("conversation %s: %d messages outlived it", id, n)
		}
		if _, err := s.GetConversation(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetConversation(deleted) = %v", err)
		}
	}
	assertNoOrphans(t, s)
	assertSeqAndCount(t, s.DB(), keep, 1)
}

// TestContentionListWhileAppending: listing and reading run while writers
// append. A reader never sees a conversation's count go down, never sees a
// thread out of per-writer order or with a duplicate, and a listing's count
// never exceeds the messages a later read finds; the final counts are exact.
func TestContentionListWhileAppending(t *testing.T) {
	t.Parallel()
	const convs, writers, each, readers = 4, 8, 25, 4
	ctx := context.Background()
	s := newStore(t, store.WithPool(writers+readers, 0, 0, 0))
	var ids []string
	for range convs {
		ids = append(ids, mustCreate(t, s, "m"))
	}
	var writing sync.WaitGroup
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			for i := range each {
				if _, err := s.AddMessage(ctx, ids[w%convs], "user", fmt.Sprintf("w%d-%d", w, i)); err != nil {
					t.Errorf("AddMessage: %v", err)
				}
			}
		}()
	}
	done := wgDone(&writing)
	var reading sync.WaitGroup
	var reads atomic.Int64
	for r := range readers {
		reading.Add(1)
		go func() {
			defer reading.Done()
			seen := map[string]int{}
			for {
				list, err := s.ListConversations(ctx)
				if err != nil {
					t.Errorf("ListConversations: %v", err)
					return
				}
				if len(list) != convs {
					t.Errorf("listed %d conversations, want %d", len(list), convs)
				}
				for _, c := range list {
					if c.MessageCount < seen[c.ID] {
						t.Errorf("conversation %s: count went from %d to %d", c.ID, seen[c.ID], c.MessageCount)
					}
					seen[c.ID] = c.MessageCount
				}
				id := ids[r%convs]
				c, err := s.GetConversation(ctx, id)
				if err != nil {
					t.Errorf("GetConversation: %v", err)
					return
				}
				if len(c.Messages) < seen[id] {
					t.Errorf("listing counted %d messages, a later read found %d", seen[id], len(c.Messages))
				}
				checkWriterOrder(t, c)
				reads.Add(1)
				select {
				case <-done:
					return
				default:
				}
			}
		}()
	}
	reading.Wait()
	t.Logf("%d list+read rounds during the appends", reads.Load())
	total := 0
	for _, c := range must(s.ListConversations(ctx)) {
		total += c.MessageCount
	}
	if total != writers*each {
		t.Errorf("listed counts sum to %d, want %d", total, writers*each)
	}
	for _, id := range ids {
		assertSeqAndCount(t, s.DB(), id, writers/convs*each)
	}
	assertNoOrphans(t, s)
}

// checkWriterOrder: in a thread, each writer's messages appear once each,
// in the order it appended them, with none skipped.
func checkWriterOrder(t *testing.T, c *store.Conversation) {
	t.Helper()
	next := map[int]int{}
	for _, m := range c.Messages {
		var w, i int
		if _, err := fmt.Sscanf(strings.Replace(m.Content, "-", " ", 1), "w%d %d", &w, &i); err != nil {
			t.Errorf("content %q: %v", m.Content, err)
			return
		}
		if i != next[w] {
			t.Errorf("writer %d: message %d read where %d was due", w, i, next[w])
			return
		}
		next[w]++
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
