//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestMessageOwners: stored ids map to their conversation, unknown ones
// are absent, and a malformed id is ErrInvalidRecord.
func TestMessageOwners(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	ma, err := s.AppendMessage(ctx, a, store.RoleUser, "x")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.AppendMessage(ctx, b, store.RoleUser, "y")
	if err != nil {
		t.Fatal(err)
	}
	unknown := uuid.NewString()
	got, err := s.MessageOwners(ctx, []string{ma.ID, unknown, mb.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[ma.ID] != a || got[mb.ID] != b {
		t.Errorf("MessageOwners = %v, want %s→%s and %s→%s", got, ma.ID, a, mb.ID, b)
	}
	if got, err := s.MessageOwners(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v, %v", got, err)
	}
	if _, err := s.MessageOwners(ctx, []string{"nope"}); !errors.Is(err, store.ErrInvalidRecord) {
		t.Errorf("malformed id: %v", err)
	}
}
