//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestDefaultTitle: the first user message names the conversation (folded,
// trimmed, at most DefaultTitleChars characters, cut on a character
// boundary); system and assistant messages and later user messages do not.
func TestDefaultTitle(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	long := "  Ærø  plan:\n\tthe\r\nrack " + strings.Repeat("ø", 100)
	want := "Ærø plan: the rack " + strings.Repeat("ø", store.DefaultTitleChars-len([]rune("Ærø plan: the rack ")))
	tests := []struct {
		name  string
		msgs  [][2]string // role, content
		title string
	}{
		{"empty", nil, ""},
		{"assistant and system only", [][2]string{{"system", "be brief"}, {"assistant", "hi"}}, ""},
		{"first user after system", [][2]string{{"system", "be brief"}, {"user", "How do I wire VLANs?"}, {"user", "second"}}, "How do I wire VLANs?"},
		{"folded and cut on a rune boundary", [][2]string{{"user", long}}, want},
		{"no trailing space after the cut", [][2]string{{"user", strings.Repeat("a", store.DefaultTitleChars-1) + " bcd"}}, strings.Repeat("a", store.DefaultTitleChars-1)},
		{"whitespace only stays untitled until a real one", [][2]string{{"user", " \n "}, {"user", "real"}}, "real"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := mustCreate(t, s, "m")
			for _, m := range tt.msgs {
				mustAdd(t, s, id, m[0], m[1])
			}
			c := mustGet(t, s, id)
			if c.Title != tt.title {
				t.Errorf("title = %q, want %q", c.Title, tt.title)
			}
			if !utf8.ValidString(c.Title) || utf8.RuneCountInString(c.Title) > store.DefaultTitleChars {
				t.Errorf("title %q: invalid or longer than %d characters", c.Title, store.DefaultTitleChars)
			}
		})
	}
}

// TestSetTitle: an edited title sticks through later user messages, shows
// in Get and List; clearing it lets the next user message name it again.
func TestSetTitle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	mustAdd(t, s, id, "user", "first")
	if err := s.SetTitle(ctx, id, "Rack plan ✓"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, id, "user", "second")
	if got := mustGet(t, s, id).Title; got != "Rack plan ✓" {
		t.Errorf("Get title = %q", got)
	}
	list, err := s.ListConversations(ctx)
	if err != nil || len(list) != 1 || list[0].Title != "Rack plan ✓" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := s.SetTitle(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, id, "user", "third")
	if got := mustGet(t, s, id).Title; got != "third" {
		t.Errorf("after clearing, title = %q, want %q", got, "third")
	}
	if err := s.SetTitle(ctx, id, strings.Repeat("x", store.MaxTitleBytes)); err != nil {
		t.Errorf("title at the limit: %v", err)
	}
}

func TestSetTitleErrors(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	tests := []struct {
		name, id, title string
		want            error
	}{
		{"unknown id", "00000000-0000-0000-0000-000000000000", "t", store.ErrNotFound},
		{"malformed id", "nope", "t", store.ErrNotFound},
		{"too long", id, strings.Repeat("x", store.MaxTitleBytes+1), store.ErrInvalidTitle},
		{"NUL", id, "a\x00b", store.ErrInvalidTitle},
		{"invalid UTF-8", id, "\xff", store.ErrInvalidTitle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := s.SetTitle(context.Background(), tt.id, tt.title); !errors.Is(err, tt.want) {
				t.Fatalf("SetTitle = %v, want %v", err, tt.want)
			}
		})
	}
	if got := mustGet(t, s, id).Title; got != "" {
		t.Errorf("rejected titles stored %q", got)
	}
}
