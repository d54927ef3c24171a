//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

var malformedIDs = []string{
	"", "not-a-uuid", "6f1c1d7e9c554c438a383f3a9e0b6a11", "{6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11}",
	"6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a1", "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11' OR '1'='1",
	"zzzzzzzz-9c55-4c43-8a38-3f3a9e0b6a11", strings.Repeat("a", 10000),
}

const unknownID = "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11"

// TestUnknownAndMalformedIDs: every method that takes an id answers
// ErrNotFound, and nothing is stored.
func TestUnknownAndMalformedIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	mustCreate(t, s, "m")
	for _, id := range append([]string{unknownID, strings.ToUpper(unknownID)}, malformedIDs...) {
		if c, err := s.GetConversation(ctx, id); c != nil || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetConversation(%.40q) = %v, %v; want nil, ErrNotFound", id, c, err)
		}
		if _, err := s.AddMessage(ctx, id, "user", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddMessage(%.40q) = %v, want ErrNotFound", id, err)
		}
		if err := s.DeleteConversation(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteConversation(%.40q) = %v, want ErrNotFound", id, err)
		}
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored, want 0", n)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM conversations`); n != 1 {
		t.Errorf("%d conversations, want the 1 created", n)
	}
}

// TestUpperCaseIDFindsConversation: a UUID is case-insensitive.
func TestUpperCaseIDFindsConversation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	if c := mustGet(t, s, strings.ToUpper(id)); c.ID != id {
		t.Fatalf("got %s, want %s", c.ID, id)
	}
}

func TestEmptyConversation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "")
	c := mustGet(t, s, id)
	if c.Messages == nil || len(c.Messages) != 0 {
		t.Fatalf("Messages = %#v, want an empty, non-nil slice", c.Messages)
	}
	if c.Model != "" {
		t.Fatalf("Model = %q, want empty", c.Model)
	}
}

// TestContentRoundTrip: legal content comes back byte for byte.
func TestContentRoundTrip(t *testing.T) {
	t.Parallel()
	const limit = 2 << 20
	s := newStore(t, store.WithMaxContentBytes(limit))
	id := mustCreate(t, s, `model'"; DROP TABLE conversations; --`)
	mib := strings.Repeat("0123456789abcdef", (1<<20)/16)
	cases := map[string]string{
		"empty":            "",
		"unicode":          "Grüße, 日本語, עברית, emoji 🧪🔥, combining é, ZWJ 👩‍💻",
		"quotes":           `single ' double " back ` + "`" + ` backslash \ \\ \' \0`,
		"sql":              `'); DELETE FROM messages; --  $1 $$ E'\x00' %s %d`,
		"control":          "tab\tnewline\ncr\r\x01\x1f\x7f",
		"1 MiB":            mib,
		"just under limit": strings.Repeat("é", limit/2-1) + "a",
		"at limit":         strings.Repeat("é", limit/2),
		"bom and nbsp":     "\ufeff\u00a0\u2028\u2029",
	}
	want := map[string]string{}
	for name, content := range cases {
		want[mustAdd(t, s, id, "user", content)] = name
	}
	c := mustGet(t, s, id)
	if c.Model != `model'"; DROP TABLE conversations; --` {
		t.Errorf("model = %q", c.Model)
	}
	if len(c.Messages) != len(cases) {
		t.Fatalf("got %d messages, want %d", len(c.Messages), len(cases))
	}
	for _, m := range c.Messages {
		name := want[m.ID]
		if m.Content != cases[name] {
			t.Errorf("%s: content changed in the round trip (len %d → %d)", name, len(cases[name]), len(m.Content))
		}
	}
}

// TestRejectedInputStoresNothing: each illegal input gets its sentinel, and
// no row or count changes.
func TestRejectedInputStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const limit = 1024
	s := newStore(t, store.WithMaxContentBytes(limit))
	id := mustCreate(t, s, "m")
	mustAdd(t, s, id, "user", "kept")
	cases := []struct {
		name, role, content string
		want                error
	}{
		{"bad role", "root", "x", store.ErrInvalidRole},
		{"NUL", "user", "a\x00b", store.ErrInvalidContent},
		{"invalid UTF-8", "user", "a\xffb", store.ErrInvalidContent},
		{"truncated UTF-8", "user", "\xe6\x97", store.ErrInvalidContent},
		{"over limit", "user", strings.Repeat("x", limit+1), store.ErrContentTooLarge},
	}
	for _, c := range cases {
		_, err := s.AddMessage(ctx, id, c.role, c.content)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	_, err := s.AddMessage(ctx, id, "user", strings.Repeat("x", limit+1))
	if !errors.Is(err, store.ErrInvalidContent) {
		t.Errorf("over limit: %v should also match ErrInvalidContent", err)
	}
	assertSeqAndCount(t, s.DB(), id, 1)

	for _, model := range []string{strings.Repeat("m", store.MaxModelBytes+1), strings.Repeat("m", 10000), "a\x00", "\xc3"} {
		if _, err := s.CreateConversation(ctx, model); !errors.Is(err, store.ErrInvalidModel) {
			t.Errorf("CreateConversation(len %d) = %v, want ErrInvalidModel", len(model), err)
		}
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM conversations`); n != 1 {
		t.Errorf("%d conversations after rejected creates, want 1", n)
	}
	if _, err := s.CreateConversation(ctx, strings.Repeat("m", store.MaxModelBytes)); err != nil {
		t.Errorf("model of exactly MaxModelBytes: %v", err)
	}
}

// TestCancelledContext: every method reports context.Canceled and changes
// nothing.
func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.CreateConversation(ctx, "m"); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateConversation: %v", err)
	}
	if _, err := s.AddMessage(ctx, id, "user", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("AddMessage: %v", err)
	}
	if _, err := s.GetConversation(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("GetConversation: %v", err)
	}
	if _, err := s.ListConversations(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListConversations: %v", err)
	}
	if _, err := s.ListConversationsPage(ctx, "", 10); !errors.Is(err, context.Canceled) {
		t.Errorf("ListConversationsPage: %v", err)
	}
	if err := s.DeleteConversation(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteConversation: %v", err)
	}
	if err := store.RunMigrations(ctx, s.DB()); !errors.Is(err, context.Canceled) {
		t.Errorf("RunMigrations: %v", err)
	}
	if _, err := store.NewStore(ctx, pgtestURL(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("NewStore: %v", err)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM conversations`); n != 1 {
		t.Errorf("%d conversations, want 1", n)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages, want 0", n)
	}
}
