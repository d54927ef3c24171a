//go:build integration

package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/store"
)

func exportAll(t *testing.T, s *store.Store) []*store.Conversation {
	t.Helper()
	var out []*store.Conversation
	if err := s.ExportConversations(context.Background(), func(c *store.Conversation) error {
		out = append(out, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExportImportRoundTrip: every conversation, the empty one included,
// leaves with its messages in order and comes back into another database
// identical — ids, times, roles, contents — with seq and message_count
// right, so the store reads and appends to it normally. A second import
// changes nothing.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newStore(t), newStore(t)
	a := mustCreate(t, src, "model-a")
	mustAdd(t, src, a, "system", "be brief")
	mustAdd(t, src, a, "user", "it's 'quoted' -- and ; tricky\x01")
	mustAdd(t, src, a, "assistant", "ok")
	empty := mustCreate(t, src, "")
	b := mustCreate(t, src, "model-b")
	mustAdd(t, src, b, "user", "ünïcode ✓")

	exported := exportAll(t, src)
	if len(exported) != 3 {
		t.Fatalf("exported %d conversations, want 3", len(exported))
	}
	for i := 1; i < len(exported); i++ {
		if exported[i].StartedAt.Before(exported[i-1].StartedAt) {
			t.Errorf("export not oldest first")
		}
	}
	if n, err := src.CountConversations(ctx); err != nil || n != 3 {
		t.Errorf("CountConversations = %d, %v", n, err)
	}
	for _, c := range exported {
		added, err := dst.ImportConversation(ctx, *c)
		if err != nil || !added {
			t.Fatalf("ImportConversation(%s) = %v, %v", c.ID, added, err)
		}
	}
	for _, id := range []string{a, empty, b} {
		want, _ := src.GetConversation(ctx, id)
		got, err := dst.GetConversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("imported %s = %+v, want %+v", id, got, want)
		}
	}
	list, _ := dst.ListConversations(ctx)
	counts := map[string]int{}
	for _, c := range list {
		counts[c.ID] = c.MessageCount
	}
	if counts[a] != 3 || counts[empty] != 0 || counts[b] != 1 {
		t.Errorf("message counts after import = %v", counts)
	}
	// seq continues: the next append lands after the imported thread.
	mustAdd(t, dst, a, "user", "next")
	got, _ := dst.GetConversation(ctx, a)
	if len(got.Messages) != 4 || got.Messages[3].Content != "next" {
		t.Errorf("append after import: %+v", got.Messages)
	}
	for _, c := range exported {
		added, err := dst.ImportConversation(ctx, *c)
		if err != nil || added {
			t.Errorf("second import of %s = %v, %v; want skipped", c.ID, added, err)
		}
	}
	if again := exportAll(t, dst); len(again) != 3 || len(again[0].Messages)+len(again[1].Messages)+len(again[2].Messages) != 5 {
		t.Errorf("second import changed the data: %d conversations", len(again))
	}
}

// TestExportWalksBatches: more conversations than one export batch, some
// sharing a started_at, are each visited exactly once, in keyset order.
func TestExportWalksBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	// One transaction, so all share now(): the keyset must break ties by id.
	const n = 450
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO conversations (model) SELECT 'm' FROM generate_series(1, $1)`, n); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var prev *store.Conversation
	for _, c := range exportAll(t, s) {
		if seen[c.ID] {
			t.Fatalf("conversation %s visited twice", c.ID)
		}
		seen[c.ID] = true
		if prev != nil && prev.StartedAt.Equal(c.StartedAt) && prev.ID > c.ID {
			t.Fatalf("ties not in id order: %s after %s", c.ID, prev.ID)
		}
		prev = c
	}
	if len(seen) != n {
		t.Errorf("visited %d of %d", len(seen), n)
	}
}

func TestExportStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	mustCreate(t, s, "a")
	mustCreate(t, s, "b")
	stop := errors.New("stop")
	calls := 0
	err := s.ExportConversations(context.Background(), func(*store.Conversation) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ExportConversations = %v after %d calls, want stop after 1", err, calls)
	}
}

// TestImportRejects: an invalid record is refused with its sentinel and
// stores nothing, not even the conversation row.
func TestImportRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, store.WithMaxContentBytes(16))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	valid := func() store.Conversation {
		id := uuid.NewString()
		return store.Conversation{ID: id, Model: "m", StartedAt: at, Messages: []store.Message{
			{ID: uuid.NewString(), ConversationID: id, Role: "user", Content: "hi", CreatedAt: at},
			{ID: uuid.NewString(), Role: "assistant", Content: "hello", CreatedAt: at},
		}}
	}
	existing := mustCreate(t, s, "x")
	taken := mustAdd(t, s, existing, "user", "mine")
	cases := []struct {
		name string
		edit func(*store.Conversation)
		want error
	}{
		{"bad conversation id", func(c *store.Conversation) { c.ID = "nope" }, store.ErrInvalidRecord},
		{"no started_at", func(c *store.Conversation) { c.StartedAt = time.Time{} }, store.ErrInvalidRecord},
		{"bad model", func(c *store.Conversation) { c.Model = "a\x00b" }, store.ErrInvalidModel},
		{"bad role", func(c *store.Conversation) { c.Messages[1].Role = "root" }, store.ErrInvalidRole},
		{"bad content", func(c *store.Conversation) { c.Messages[1].Content = "\xff" }, store.ErrInvalidContent},
		{"content too large", func(c *store.Conversation) { c.Messages[1].Content = strings.Repeat("x", 17) }, store.ErrContentTooLarge},
		{"bad message id", func(c *store.Conversation) { c.Messages[1].ID = "1" }, store.ErrInvalidRecord},
		{"duplicate message id", func(c *store.Conversation) { c.Messages[1].ID = c.Messages[0].ID }, store.ErrInvalidRecord},
		{"foreign conversation id", func(c *store.Conversation) { c.Messages[1].ConversationID = existing }, store.ErrInvalidRecord},
		{"no created_at", func(c *store.Conversation) { c.Messages[1].CreatedAt = time.Time{} }, store.ErrInvalidRecord},
		{"message id taken", func(c *store.Conversation) { c.Messages[1].ID = taken }, store.ErrIDConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tc.edit(&c)
			added, err := s.ImportConversation(ctx, c)
			if !errors.Is(err, tc.want) || added {
				t.Fatalf("ImportConversation = %v, %v; want %v", added, err, tc.want)
			}
			if tc.want != store.ErrIDConflict && !errors.Is(s.CheckImport(c), tc.want) {
				t.Errorf("CheckImport disagrees with ImportConversation")
			}
			if _, err := s.GetConversation(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("rejected conversation was stored: %v", err)
			}
		})
	}
}
