//go:build integration

package store_test

import (
	"context"
	"database/sql"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestMain fails the run if any goroutine outlives the tests: every Store
// is closed in its test's cleanup, and Close must stop all pool goroutines.
func TestMain(m *testing.M) { pgtest.MainLeakChecked(m) }

// newStore returns a Store on a fresh, migrated database of its own.
func newStore(t testing.TB, opts ...store.Option) *store.Store {
	t.Helper()
	s, err := store.NewStore(context.Background(), pgtest.Migrated(t), opts...)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t testing.TB, s *store.Store, model string) string {
	t.Helper()
	id, err := s.CreateConversation(context.Background(), model)
	if err != nil {
		t.Fatalf("CreateConversation(%q): %v", model, err)
	}
	return id
}

func mustAdd(t testing.TB, s *store.Store, convID, role, content string) string {
	t.Helper()
	id, err := s.AddMessage(context.Background(), convID, role, content)
	if err != nil {
		t.Fatalf("AddMessage(%s, %q): %v", convID, role, err)
	}
	return id
}

func mustGet(t testing.TB, s *store.Store, id string) *store.Conversation {
	t.Helper()
	c, err := s.GetConversation(context.Background(), id)
	if err != nil {
		t.Fatalf("GetConversation(%s): %v", id, err)
	}
	return c
}

// count runs a COUNT query with args and returns the result.
func count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
