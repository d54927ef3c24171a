//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestHungServerYieldsErrors: with the server frozen (SIGSTOP on the
// postmaster and every backend) and no deadline on the caller's context,
// every store method returns an error wrapping context.DeadlineExceeded
// from the store's own timeout instead of hanging; so does NewStore's ping.
// Thawed, the same Store serves again. (No timing is asserted beyond
// "returns": a hang would trip the go test timeout.)
func TestHungServerYieldsErrors(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	cluster, s := newClusterStore(t, store.WithTimeout(timeout))
	ctx := context.Background()
	id := mustCreate(t, s, "m")
	mustAdd(t, s, id, "user", "before the freeze")

	if err := pgfault.Freeze(cluster); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pgfault.Thaw(cluster); err != nil {
			t.Error(err)
		}
	})
	calls := map[string]func() error{
		"CreateConversation": func() error { _, err := s.CreateConversation(ctx, "m"); return err },
		"AddMessage":         func() error { _, err := s.AddMessage(ctx, id, "user", "x"); return err },
		"GetConversation":    func() error { _, err := s.GetConversation(ctx, id); return err },
		"ListConversations":  func() error { _, err := s.ListConversations(ctx); return err },
		"ListConversationsPage": func() error {
			_, err := s.ListConversationsPage(ctx, "", 5)
			return err
		},
		"DeleteConversation": func() error { return s.DeleteConversation(ctx, id) },
		"SetTitle":           func() error { return s.SetTitle(ctx, id, "t") },
		"CountConversations": func() error { _, err := s.CountConversations(ctx); return err },
		"ExportConversations": func() error {
			return s.ExportConversations(ctx, func(*store.Conversation) error { return nil })
		},
		"GetRecentThread": func() error { _, _, err := s.GetRecentThread(ctx, id, 100); return err },
		"ReadConversation": func() error {
			return s.ReadConversation(ctx, id, func(store.ConversationSummary) error { return nil }, func(store.Message) error { return nil })
		},
		"ImportConversation": func() error {
			_, err := s.ImportConversation(ctx, store.Conversation{
				ID: "0b8c3f6e-3f4e-4a52-9b0e-2d4f8e1a7c11", StartedAt: time.Now(),
			})
			return err
		},
		"NewStore": func() error {
			s2, err := store.NewStore(ctx, cluster.URL("postgres"), store.WithTimeout(timeout))
			if err == nil {
				s2.Close()
			}
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a hung server = %v, want an error wrapping context.DeadlineExceeded", name, err)
		}
	}
	// A caller's own deadline wins over the store's default, here a longer
	// one: the call may only give up once the caller's deadline has passed.
	// (Were the store's shorter default applied, it would return while
	// long.Err() is still nil.)
	long, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.GetConversation(long, id); !errors.Is(err, context.DeadlineExceeded) || long.Err() == nil {
		t.Errorf("GetConversation with the caller's longer deadline = %v (caller's ctx: %v), want the caller's deadline to be what expired", err, long.Err())
	}

	if err := pgfault.Thaw(cluster); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the store serves after the thaw", func() error {
		_, err := s.GetConversation(ctx, id)
		return err
	})
	c := mustGet(t, s, id)
	if len(c.Messages) < 1 || c.Messages[0].Content != "before the freeze" {
		t.Errorf("after the thaw: %+v", c.Messages)
	}
}
