//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// The behaviours of the store's original API (NewStore, RunMigrations,
// CreateConversation, AddMessage, GetConversation, ListConversations,
// ErrNotFound), one test each.

func TestNewStoreInvalidDSN(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"::not a dsn::", "postgres://u@127.0.0.1:1/db?connect_timeout=2", "host=/nonexistent/socket/dir dbname=x connect_timeout=2"} {
		s, err := store.NewStore(context.Background(), dsn)
		if err == nil {
			s.Close()
			t.Errorf("NewStore(%q): want an error, got nil", dsn)
		}
	}
}

func TestNewStoreValidDSNIsUsable(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	if err := s.DB().PingContext(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := s.CreateConversation(context.Background(), "m"); err != nil {
		t.Fatalf("CreateConversation on a new store: %v", err)
	}
}

func TestCloseTwiceDoesNotPanic(t *testing.T) {
	t.Parallel()
	s, err := store.NewStore(context.Background(), pgtest.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var nilStore *store.Store
	if err := nilStore.Close(); err != nil {
		t.Fatalf("Close on nil: %v", err)
	}
}

func TestRunMigrationsCreatesTablesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newEmptyStore(t)
	for i := range 2 {
		if err := store.RunMigrations(ctx, s.DB()); err != nil {
			t.Fatalf("RunMigrations #%d: %v", i+1, err)
		}
	}
	for _, table := range []string{"conversations", "messages"} {
		if n := count(t, s.DB(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = $1`, table); n != 1 {
			t.Errorf("table %s: found %d times, want 1", table, n)
		}
	}
	if n, want := count(t, s.DB(), `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions`), migrationFiles(t); n != want {
		t.Errorf("revision rows after two runs: %d, want %d (one per file, no duplicates)", n, want)
	}
}

func TestCreateAddGetRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	before := time.Now().Add(-time.Minute)
	id := mustCreate(t, s, "llama3:8b")
	m1 := mustAdd(t, s, id, "user", "How much RAM does the NAS have?")
	m2 := mustAdd(t, s, id, "assistant", "32 GiB.")

	c := mustGet(t, s, id)
	if c.ID != id || c.Model != "llama3:8b" {
		t.Errorf("got ID %q model %q, want %q %q", c.ID, c.Model, id, "llama3:8b")
	}
	if c.StartedAt.Before(before) || c.StartedAt.Location() != time.UTC {
		t.Errorf("StartedAt = %v, want a recent UTC time", c.StartedAt)
	}
	if len(c.Messages) != 2 {
		t.Fatalf("got %d messages, want 2", len(c.Messages))
	}
	want := []store.Message{
		{ID: m1, ConversationID: id, Role: "user", Content: "How much RAM does the NAS have?"},
		{ID: m2, ConversationID: id, Role: "assistant", Content: "32 GiB."},
	}
	for i, m := range c.Messages {
		if m.ID != want[i].ID || m.ConversationID != id || m.Role != want[i].Role || m.Content != want[i].Content {
			t.Errorf("message %d = %+v, want %+v", i, m, want[i])
		}
		if m.CreatedAt.Location() != time.UTC || m.CreatedAt.Before(before) {
			t.Errorf("message %d CreatedAt = %v, want a recent UTC time", i, m.CreatedAt)
		}
	}
}

func TestAddMessageInvalidRole(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	for _, role := range []string{"", "User", " user", "user ", "tool", "admin", "assistant\x00"} {
		if _, err := s.AddMessage(context.Background(), id, role, "hi"); !errors.Is(err, store.ErrInvalidRole) {
			t.Errorf("AddMessage(role %q) = %v, want ErrInvalidRole", role, err)
		}
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored after invalid roles, want 0", n)
	}
}

func TestGetConversationUnknownID(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	c, err := s.GetConversation(context.Background(), "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11")
	if c != nil || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetConversation(unknown) = %v, %v; want nil, ErrNotFound", c, err)
	}
}

func TestListConversationsSummaries(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	a := mustCreate(t, s, "a")
	b := mustCreate(t, s, "b")
	mustAdd(t, s, a, "user", "1") // names a: title "1"
	mustAdd(t, s, a, "assistant", "2")
	mustAdd(t, s, a, "user", "3")
	setStartedAt(t, s, a, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	setStartedAt(t, s, b, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))

	got, err := s.ListConversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ConversationSummary{
		{ID: b, Model: "b", StartedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), MessageCount: 0},
		{ID: a, Model: "a", Title: "1", StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), MessageCount: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d summaries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("summary %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func setStartedAt(t testing.TB, s *store.Store, id string, at time.Time) {
	t.Helper()
	if _, err := s.DB().Exec(`UPDATE conversations SET started_at = $2 WHERE id = $1`, id, at); err != nil {
		t.Fatal(err)
	}
}

// newEmptyStore returns a Store on a fresh database with no schema at all,
// for tests that migrate it: on the server itself, as migrations must be.
func newEmptyStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.NewStore(context.Background(), pgtest.Direct(t, pgtest.Empty(t), "migrations take a session advisory lock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
