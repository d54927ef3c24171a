//go:build integration

package baseline_test

import (
	"context"
	"errors"
	"testing"

	"git.georgsen.dk/hwlab/bench/baseline"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newBaseline(t *testing.T) *baseline.Store {
	t.Helper()
	s, err := baseline.New(context.Background(), pgtest.Empty(t), 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for range 2 { // the original schema's DDL is idempotent
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestOriginalBehaviours pins the baseline to the original store's behaviours, so the
// benchmarks compare the store with a working store, faults included.
func TestOriginalBehaviours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newBaseline(t)

	older, err := s.CreateConversation(ctx, "m-old")
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"user", "assistant"} {
		if _, err := s.AddMessage(ctx, id, role, "hello from "+role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddMessage(ctx, id, "robot", "x"); err == nil {
		t.Error("AddMessage with role robot: no error; the CHECK should reject it")
	}

	c, err := s.GetConversation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Model != "m" || len(c.Messages) != 2 ||
		c.Messages[0].Role != "user" || c.Messages[1].Content != "hello from assistant" ||
		c.Messages[0].ConversationID != id {
		t.Errorf("GetConversation = %+v", c)
	}
	// The original inner JOIN loses an empty conversation; kept on purpose.
	if _, err := s.GetConversation(ctx, older); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetConversation(empty) error = %v, want ErrNotFound", err)
	}

	list, err := s.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id    string
		count int
	}{{id, 2}, {older, 0}}
	if len(list) != len(want) {
		t.Fatalf("ListConversations = %+v", list)
	}
	for i, w := range want {
		if list[i].ID != w.id || list[i].MessageCount != w.count {
			t.Errorf("list[%d] = %+v, want id %s count %d", i, list[i], w.id, w.count)
		}
	}
	page, err := s.ListConversationsOffset(ctx, 1, 1)
	if err != nil || len(page) != 1 || page[0].ID != older {
		t.Errorf("ListConversationsOffset(1, 1) = %+v, %v; want the older one", page, err)
	}
}
