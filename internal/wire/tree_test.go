package wire

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestTreeFields: a conversation's path carries parent_id (null for a
// root), siblings (itself when alone) and active_message_id, and its
// message_count is every branch's; the tree (an export) carries parents and
// the active leaf but no siblings, and reads back into the store's form
// with both; an empty conversation's active_message_id is null.
func TestTreeFields(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	c := &store.Conversation{ID: "c", Model: "m", StartedAt: at, ActiveID: "r2", Messages: []store.Message{
		{ID: "q2", ConversationID: "c", Role: "user", Content: "q2", CreatedAt: at, Status: store.StatusComplete, Siblings: []string{"q1", "q2"}},
		{ID: "r2", ConversationID: "c", ParentID: "q2", Role: "assistant", Content: "r2", CreatedAt: at, Status: store.StatusComplete},
	}}
	path := FromPath(c, 5)
	if path.MessageCount != 5 || path.ActiveMessageID == nil || *path.ActiveMessageID != "r2" {
		t.Errorf("path: count %d, active %v", path.MessageCount, path.ActiveMessageID)
	}
	if m := path.Messages[0]; m.ParentID != nil || !slices.Equal(m.Siblings, []string{"q1", "q2"}) {
		t.Errorf("root on the path: parent %v, siblings %v", m.ParentID, m.Siblings)
	}
	if m := path.Messages[1]; m.ParentID == nil || *m.ParentID != "q2" || !slices.Equal(m.Siblings, []string{"r2"}) {
		t.Errorf("reply on the path: parent %v, siblings %v (want itself)", m.ParentID, m.Siblings)
	}
	var b bytes.Buffer
	if err := Write(&b, path); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"active_message_id":"r2"`, `"parent_id":null`, `"parent_id":"q2"`, `"siblings":["r2"]`, `"message_count":5`} {
		if !strings.Contains(b.String(), part) {
			t.Errorf("path JSON lacks %s: %s", part, b.String())
		}
	}

	c.Messages[0].Siblings = nil // as the tree reads it
	tree := FromTree(c)
	b.Reset()
	if err := Write(&b, tree); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "siblings") || !strings.Contains(b.String(), `"message_count":2`) {
		t.Errorf("tree JSON: %s", b.String())
	}
	read, err := next(b.String())
	if err != nil {
		t.Fatal(err)
	}
	back := read.Store()
	if back.ActiveID != "r2" || back.Messages[0].ParentID != "" || back.Messages[1].ParentID != "q2" {
		t.Errorf("read back: active %q, parents %q %q", back.ActiveID, back.Messages[0].ParentID, back.Messages[1].ParentID)
	}

	b.Reset()
	if err := Write(&b, FromHead(store.ConversationSummary{ID: "e", StartedAt: at})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"active_message_id":null`) || !strings.HasSuffix(b.String(), `"messages":[]}`+"\n") {
		t.Errorf("empty conversation: %s", b.String())
	}
}

// TestOldRecordIsChain: a record written before parent_id and
// active_message_id existed still decodes, with neither set: the store's
// import makes it a chain.
func TestOldRecordIsChain(t *testing.T) {
	t.Parallel()
	c, err := next(`{"id":"c","title":"","model":"m","started_at":"2026-01-02T03:04:05Z","message_count":1,` +
		`"messages":[{"id":"a","role":"user","content":"x","created_at":"2026-01-02T03:04:05Z"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Store()
	if s.ActiveID != "" || s.Messages[0].ParentID != "" {
		t.Errorf("old record: active %q, parent %q", s.ActiveID, s.Messages[0].ParentID)
	}
}
