//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestGetConversationSummary: the summary matches the conversation and the
// listing (title, model, count, start time) without reading the thread;
// unknown and malformed ids are ErrNotFound. MaxContentBytes reports the
// configured limit.
func TestGetConversationSummary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, store.WithMaxContentBytes(1234))
	if got := s.MaxContentBytes(); got != 1234 {
		t.Errorf("MaxContentBytes = %d, want 1234", got)
	}
	id := mustCreate(t, s, "llama3")
	mustAdd(t, s, id, "user", "wire the rack")
	mustAdd(t, s, id, "assistant", "ok")
	if err := s.SetTitle(ctx, id, "Rack"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConversationSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.GetConversation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ConversationSummary{ID: id, Model: "llama3", Title: "Rack", StartedAt: c.StartedAt, MessageCount: 2}
	if got != want || got.StartedAt.Location().String() != "UTC" {
		t.Fatalf("summary %+v, want %+v", got, want)
	}
	for _, bad := range []string{"6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11", "not-a-uuid", ""} {
		if _, err := s.GetConversationSummary(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%q: %v, want ErrNotFound", bad, err)
		}
	}
}
