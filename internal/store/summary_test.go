//go:build integration

package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
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

// TestReadConversation: the row-at-a-time read gives what GetConversation
// gives, summary first; an unknown or malformed id is ErrNotFound before
// head runs; an error from the consumer stops the read and comes back as
// it is.
func TestReadConversation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	id := mustCreate(t, s, "m")
	empty := mustCreate(t, s, "m")
	for _, c := range []string{"one", "two", "three"} {
		mustAdd(t, s, id, "user", c)
	}
	for _, conv := range []string{id, empty} {
		want := mustGet(t, s, conv)
		var got store.Conversation
		var heads int
		err := s.ReadConversation(ctx, conv, func(sum store.ConversationSummary) error {
			heads++
			got = store.Conversation{ID: sum.ID, Model: sum.Model, Title: sum.Title, StartedAt: sum.StartedAt, ActiveID: sum.ActiveID, Messages: []store.Message{}}
			if sum.MessageCount != len(want.Messages) {
				t.Errorf("summary count %d, want %d", sum.MessageCount, len(want.Messages))
			}
			return nil
		}, func(m store.Message) error { got.Messages = append(got.Messages, m); return nil })
		if err != nil || heads != 1 || !reflect.DeepEqual(&got, want) {
			t.Errorf("ReadConversation(%s) = %v, %d heads:\n got %+v\nwant %+v", conv, err, heads, got, want)
		}
	}
	for _, bad := range []string{"00000000-0000-4000-8000-000000000001", "nope"} {
		err := s.ReadConversation(ctx, bad, func(store.ConversationSummary) error { t.Error("head ran"); return nil }, func(store.Message) error { return nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadConversation(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	stop := errors.New("consumer stops")
	n := 0
	err := s.ReadConversation(ctx, id, func(store.ConversationSummary) error { return nil }, func(store.Message) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("consumer error: %v after %d messages, want it as it is after 1", err, n)
	}
}

// TestGetRecentThread: the newest messages whose newer messages hold fewer
// than maxBytes bytes, in append order, the newest always; the summary
// counts the whole thread; unknown ids are ErrNotFound.
func TestGetRecentThread(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	id := mustCreate(t, s, "m")
	empty := mustCreate(t, s, "m")
	for _, c := range []string{"aaaa", "bbb", "cc", "ø"} { // 4, 3, 2, 2 bytes
		mustAdd(t, s, id, "user", c)
	}
	for _, tt := range []struct {
		maxBytes int
		want     string
	}{
		{1, "ø"},             // the newest always
		{2, "ø"},             // newer than cc: 2 bytes, not under 2
		{3, "cc|ø"},          // newer than cc: 2 < 3; than bbb: 4
		{7, "bbb|cc|ø"},      // newer than aaaa: 7, not under 7
		{8, "aaaa|bbb|cc|ø"}, // 7 < 8
		{1 << 20, "aaaa|bbb|cc|ø"},
	} {
		sum, msgs, err := s.GetRecentThread(ctx, id, tt.maxBytes)
		var got []string
		for _, m := range msgs {
			got = append(got, m.Content)
		}
		if err != nil || sum.MessageCount != 4 || strings.Join(got, "|") != tt.want {
			t.Errorf("maxBytes %d: %v, count %d, %q; want %q", tt.maxBytes, err, sum.MessageCount, strings.Join(got, "|"), tt.want)
		}
	}
	if sum, msgs, err := s.GetRecentThread(ctx, empty, 10); err != nil || sum.ID != empty || len(msgs) != 0 || msgs == nil {
		t.Errorf("empty thread: %v %+v %v", err, sum, msgs)
	}
	for _, bad := range []string{"00000000-0000-4000-8000-000000000001", "nope"} {
		if _, _, err := s.GetRecentThread(ctx, bad, 10); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRecentThread(%q) = %v, want ErrNotFound", bad, err)
		}
	}
}
