//go:build integration

package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/store"
)

// finish completes a started reply with text.
func finish(t *testing.T, s *store.Store, r store.Message, text string) {
	t.Helper()
	if _, err := s.FinishReply(ctx0, r.ID, []store.Chunk{{N: 0, Text: text}}, store.Final{Status: store.StatusComplete}); err != nil {
		t.Fatalf("FinishReply: %v", err)
	}
}

// pathOf is the active path as "content/siblings" words, where siblings is
// the message's place among its siblings ("2of3"), or "" when it has none.
func pathOf(t *testing.T, s *store.Store, conv string) string {
	t.Helper()
	c := mustGet(t, s, conv)
	var words []string
	prev := ""
	for _, m := range c.Messages {
		if m.ParentID != prev {
			t.Fatalf("%q has parent %q, want the message before it on the path, %q", m.Content, m.ParentID, prev)
		}
		prev = m.ID
		w := m.Content
		if m.Siblings != nil {
			w += fmt.Sprintf("/%dof%d", slices.Index(m.Siblings, m.ID)+1, len(m.Siblings))
		}
		words = append(words, w)
	}
	if n := len(c.Messages); n > 0 && c.ActiveID != c.Messages[n-1].ID {
		t.Fatalf("active leaf %s, want the path's last message %s", c.ActiveID, c.Messages[n-1].ID)
	}
	return strings.Join(words, " ")
}

// chatTurn is a chat: the user's message and a completed reply.
func chatTurn(t *testing.T, s *store.Store, conv, q, a string) (user, reply store.Message) {
	t.Helper()
	user, reply, err := s.StartChat(ctx0, conv, q, store.ReplyStart{Instance: "t"})
	if err != nil {
		t.Fatalf("StartChat %q: %v", q, err)
	}
	finish(t, s, reply, a)
	return user, reply
}

// TestEditRegenerateAndSwitch walks a conversation through every operation
// on the tree and checks the active path after each.
func TestEditRegenerateAndSwitch(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv := mustCreate(t, s, "m")
	u1, a1 := chatTurn(t, s, conv, "q1", "a1")
	u2, a2 := chatTurn(t, s, conv, "q2", "a2")
	if got := pathOf(t, s, conv); got != "q1 a1 q2 a2" {
		t.Fatalf("chain: %s", got)
	}
	if u2.ParentID != a1.ID || a2.ParentID != u2.ID || u1.ParentID != "" || a1.ParentID != u1.ID {
		t.Fatalf("returned parents: %+v %+v %+v %+v", u1, a1, u2, a2)
	}
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"edit q2", func() error {
			u, r, err := s.EditMessage(ctx0, conv, u2.ID, "q2'", store.ReplyStart{Instance: "t"})
			if err == nil && u.ParentID != a1.ID {
				err = fmt.Errorf("edited message's parent %q, want %q", u.ParentID, a1.ID)
			}
			if err == nil {
				finish(t, s, r, "a2'")
			}
			return err
		}, "q1 a1 q2'/2of2 a2'"},
		{"regenerate a2'", func() error {
			c := mustGet(t, s, conv)
			r, err := s.RegenerateMessage(ctx0, conv, c.Messages[3].ID, store.ReplyStart{Instance: "t"})
			if err == nil {
				finish(t, s, r, "a2''")
			}
			return err
		}, "q1 a1 q2'/2of2 a2''/2of2"},
		{"switch to q2", func() error { return s.SwitchBranch(ctx0, conv, u2.ID) }, "q1 a1 q2/1of2 a2"},
		// The newest leaf under a1 follows the newest child at each step.
		{"switch to a1", func() error { return s.SwitchBranch(ctx0, conv, a1.ID) }, "q1 a1 q2'/2of2 a2''/2of2"},
		{"chat goes on from the active leaf", func() error { chatTurn(t, s, conv, "q3", "a3"); return nil }, "q1 a1 q2'/2of2 a2''/2of2 q3 a3"},
		{"edit the first message", func() error {
			_, r, err := s.EditMessage(ctx0, conv, u1.ID, "q1'", store.ReplyStart{Instance: "t"})
			if err == nil {
				finish(t, s, r, "a1'")
			}
			return err
		}, "q1'/2of2 a1'"},
		{"switch back into the old branch, to a message in its middle", func() error { return s.SwitchBranch(ctx0, conv, u2.ID) }, "q1/1of2 a1 q2/1of2 a2"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := pathOf(t, s, conv); got != st.want {
			t.Fatalf("after %s: path %q, want %q", st.name, got, st.want)
		}
	}
	// message_count counts every branch; the tree holds every message.
	sum, err := s.GetConversationSummary(ctx0, conv)
	tree, terr := s.GetConversationTree(ctx0, conv)
	if err != nil || terr != nil || sum.MessageCount != 11 || len(tree.Messages) != 11 {
		t.Fatalf("count %d, tree %d messages (%v, %v), want 11", sum.MessageCount, len(tree.Messages), err, terr)
	}
	// The same path through the streamed read and the recent thread.
	var read []string
	if err := s.ReadConversation(ctx0, conv, func(store.ConversationSummary) error { return nil },
		func(m store.Message) error { read = append(read, m.Content); return nil }); err != nil {
		t.Fatal(err)
	}
	_, recent, err := s.GetRecentThread(ctx0, conv, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var recentText []string
	for _, m := range recent {
		recentText = append(recentText, m.Content)
	}
	if strings.Join(read, " ") != "q1 a1 q2 a2" || strings.Join(recentText, " ") != "q1 a1 q2 a2" {
		t.Fatalf("read %v, recent %v", read, recentText)
	}
}

// TestTreeOperationErrors: wrong roles, another conversation's message,
// unknown and malformed ids, and a reply in flight; none stores anything.
func TestTreeOperationErrors(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv := mustCreate(t, s, "m")
	other := mustCreate(t, s, "m")
	u, a := chatTurn(t, s, conv, "q", "a")
	ou, _ := chatTurn(t, s, other, "oq", "oa")
	busy := mustCreate(t, s, "m")
	bu, ba := chatTurn(t, s, busy, "bq", "ba")
	_, running, err := s.StartChat(ctx0, busy, "bq2", store.ReplyStart{Instance: "t"})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(c, m string) error {
		_, _, err := s.EditMessage(ctx0, c, m, "x", store.ReplyStart{})
		return err
	}
	regen := func(c, m string) error { _, err := s.RegenerateMessage(ctx0, c, m, store.ReplyStart{}); return err }
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"edit an assistant message", edit(conv, a.ID), store.ErrWrongRole},
		{"regenerate a user message", regen(conv, u.ID), store.ErrWrongRole},
		{"edit another conversation's message", edit(conv, ou.ID), store.ErrOtherConversation},
		{"regenerate another conversation's message", regen(other, a.ID), store.ErrOtherConversation},
		{"switch to another conversation's message", s.SwitchBranch(ctx0, conv, ou.ID), store.ErrOtherConversation},
		{"edit an unknown message", edit(conv, "00000000-0000-4000-8000-000000000001"), store.ErrNotFound},
		{"edit a malformed message id", edit(conv, "nope"), store.ErrNotFound},
		{"regenerate in an unknown conversation", regen("00000000-0000-4000-8000-000000000002", a.ID), store.ErrNotFound},
		{"switch in a malformed conversation", s.SwitchBranch(ctx0, "nope", a.ID), store.ErrNotFound},
		{"edit while a reply is in flight", edit(busy, bu.ID), store.ErrGenerationRunning},
		{"regenerate while a reply is in flight", regen(busy, ba.ID), store.ErrGenerationRunning},
		{"switch while a reply is in flight", s.SwitchBranch(ctx0, busy, bu.ID), store.ErrGenerationRunning},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
		if errors.Is(tc.want, store.ErrGenerationRunning) {
			var re *store.RunningError
			if !errors.As(tc.err, &re) || re.MessageID != running.ID {
				t.Errorf("%s: %v does not name the running reply %s", tc.name, tc.err, running.ID)
			}
		}
	}
	for c, want := range map[string]int{conv: 2, other: 2, busy: 4} {
		if n := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, c); n != want {
			t.Errorf("%s holds %d messages, want %d: a refused operation stored something", c, n, want)
		}
	}
}

// TestRetryIsASibling: /reply after a reply that did not complete starts a
// fresh reply beside it, under the same user message.
func TestRetryIsASibling(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv := mustCreate(t, s, "m")
	u, r, err := s.StartChat(ctx0, conv, "q", store.ReplyStart{Instance: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishReply(ctx0, r.ID, []store.Chunk{{N: 0, Text: "half"}}, store.Final{Status: store.StatusFailed}); err != nil {
		t.Fatal(err)
	}
	retry, err := s.StartReply(ctx0, conv, store.ReplyStart{Instance: "t"})
	if err != nil || retry.ParentID != u.ID {
		t.Fatalf("retry %+v, %v; want a reply under %s", retry, err, u.ID)
	}
	finish(t, s, retry, "whole")
	if got := pathOf(t, s, conv); got != "q whole/2of2" {
		t.Fatalf("path %q", got)
	}
}

// TestFirstFork: each operation that can fork a chain marks the
// conversation forked (conversations.forked) in the same statement, so the
// next read walks the tree instead of reading the chain's range, which
// would show both siblings.
func TestFirstFork(t *testing.T) {
	t.Parallel()
	edit := func(s *store.Store, conv string, m store.Message, text string) (store.Message, error) {
		_, r, err := s.EditMessage(ctx0, conv, m.ID, text, store.ReplyStart{Instance: "t"})
		return r, err
	}
	regenerate := func(s *store.Store, conv string, m store.Message, _ string) (store.Message, error) {
		return s.RegenerateMessage(ctx0, conv, m.ID, store.ReplyStart{Instance: "t"})
	}
	cases := []struct {
		name   string
		fork   func(s *store.Store, conv string, m store.Message, text string) (store.Message, error)
		target int // of the chain q1 a1 q2 a2
		text   string
		answer string
		want   string
	}{
		{"edit a later question", edit, 2, "q2'", "a2'", "q1 a1 q2'/2of2 a2'"},
		{"edit the first question: a second root", edit, 0, "q1'", "a1'", "q1'/2of2 a1'"},
		{"regenerate the last answer", regenerate, 3, "", "a2'", "q1 a1 q2 a2'/2of2"},
		{"regenerate an earlier answer", regenerate, 1, "", "a1'", "q1 a1'/2of2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			conv := mustCreate(t, s, "m")
			u1, a1 := chatTurn(t, s, conv, "q1", "a1")
			u2, a2 := chatTurn(t, s, conv, "q2", "a2")
			r, err := tc.fork(s, conv, []store.Message{u1, a1, u2, a2}[tc.target], tc.text)
			if err != nil {
				t.Fatal(err)
			}
			finish(t, s, r, tc.answer)
			if got := pathOf(t, s, conv); got != tc.want {
				t.Fatalf("path %q, want %q", got, tc.want)
			}
			// A chat after the fork goes on from the new leaf.
			chatTurn(t, s, conv, "q3", "a3")
			if got := pathOf(t, s, conv); got != tc.want+" q3 a3" {
				t.Fatalf("after a chat: path %q, want %q", got, tc.want+" q3 a3")
			}
		})
	}
}

// TestConcurrentEdits: of 12 concurrent edits of one message exactly one
// wins; the others are refused while its reply is in flight, and nothing
// is orphaned.
func TestConcurrentEdits(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv := mustCreate(t, s, "m")
	u, _ := chatTurn(t, s, conv, "q", "a")
	const n = 12
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		wins, refusals int
		other          []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.EditMessage(ctx0, conv, u.ID, fmt.Sprintf("q%d", i), store.ReplyStart{Instance: "t"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrGenerationRunning):
				refusals++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || refusals != n-1 || len(other) > 0 {
		t.Fatalf("%d won, %d refused, others %v", wins, refusals, other)
	}
	if got := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv); got != 4 {
		t.Fatalf("%d messages, want 4", got)
	}
	orphans := count(t, s.DB(), `SELECT count(*) FROM messages m WHERE m.parent_seq IS NOT NULL AND NOT EXISTS
		(SELECT 1 FROM messages p WHERE p.conversation_id = m.conversation_id AND p.seq = m.parent_seq)`)
	if orphans != 0 {
		t.Fatalf("%d orphans", orphans)
	}
}

// TestTreeInvariantsInTheDatabase: raw SQL cannot break the tree: a parent
// in another conversation, a parent that is not earlier (the only way to
// make a cycle) and an active leaf that is not one of the conversation's
// messages are refused by the database itself; deleting a conversation removes every branch.
func TestTreeInvariantsInTheDatabase(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	a := mustCreate(t, s, "m")
	b := mustCreate(t, s, "m")
	for _, c := range []string{a, b} {
		chatTurn(t, s, c, "q", "r")
	}
	chatTurn(t, s, b, "q2", "r2") // b has seq 1..4, a 1..2
	for _, tc := range []struct {
		name, sql, constraint string
		args                  []any
	}{
		{"a parent in another conversation", `INSERT INTO messages (conversation_id, seq, parent_seq, role, content) VALUES ($1, 5, 4, 'user', 'x')`,
			"messages_parent_fkey", []any{a}},
		{"a parent that comes after its child", `INSERT INTO messages (conversation_id, seq, parent_seq, role, content) VALUES ($1, 5, 5, 'user', 'x')`,
			"messages_parent_seq_check", []any{b}},
		{"a cycle by update", `UPDATE messages SET parent_seq = 4 WHERE conversation_id = $1 AND seq = 2`,
			"messages_parent_seq_check", []any{b}},
		{"an active leaf that is not a message of the conversation", `UPDATE conversations SET active_seq = 4 WHERE id = $1`,
			"conversations_active_seq_check", []any{a}},
		{"no active leaf in a conversation with messages", `UPDATE conversations SET active_seq = NULL WHERE id = $1`,
			"conversations_active_seq_check", []any{a}},
	} {
		_, err := s.DB().Exec(tc.sql, tc.args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.ConstraintName != tc.constraint {
			t.Errorf("%s: %v, want a violation of %s", tc.name, err, tc.constraint)
		}
	}
	// Branches of b, then delete it.
	c := mustGet(t, s, b)
	if _, _, err := s.EditMessage(ctx0, b, c.Messages[0].ID, "q'", store.ReplyStart{Instance: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConversation(ctx0, b); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, b); n != 0 {
		t.Fatalf("%d messages of a deleted conversation left", n)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, a); n != 2 {
		t.Fatalf("the other conversation holds %d messages, want 2", n)
	}
}

// TestImportTree: export and import round-trip ids, parents and the active
// leaf; a parent listed after its child is moved before it; a file of the
// previous version (no parents) imports as a chain; bad trees are refused
// with the message they concern, and store nothing.
func TestImportTree(t *testing.T) {
	t.Parallel()
	src := newStore(t)
	conv := mustCreate(t, src, "m")
	u1, _ := chatTurn(t, src, conv, "q1", "a1")
	_, a2 := chatTurn(t, src, conv, "q2", "a2")
	if _, _, err := src.EditMessage(ctx0, conv, u1.ID, "q1'", store.ReplyStart{Instance: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.FinishReply(ctx0, mustGet(t, src, conv).Messages[1].ID, nil, store.Final{Status: store.StatusComplete}); err != nil {
		t.Fatal(err)
	}
	if err := src.SwitchBranch(ctx0, conv, a2.ID); err != nil {
		t.Fatal(err)
	}
	var exported *store.Conversation
	if err := src.ExportConversations(ctx0, func(c *store.Conversation) error { exported = c; return nil }); err != nil {
		t.Fatal(err)
	}
	dst := newStore(t)
	if _, err := dst.ImportConversation(ctx0, *exported); err != nil {
		t.Fatalf("import: %v", err)
	}
	want, _ := src.GetConversationTree(ctx0, conv)
	got, err := dst.GetConversationTree(ctx0, conv)
	if err != nil || !sameTree(got, want) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, want)
	}
	if p := pathOf(t, dst, conv); p != "q1/1of2 a1 q2 a2" {
		t.Fatalf("imported path %q", p)
	}

	// Reversed: every parent after its child.
	rev := *exported
	rev.ID = "7b0f3c52-0000-4000-8000-0000000000a0"
	rev.Messages = slices.Clone(exported.Messages)
	slices.Reverse(rev.Messages)
	for i := range rev.Messages {
		rev.Messages[i].ID = strings.Replace(rev.Messages[i].ID, rev.Messages[i].ID[:8], "7b0f3c52", 1)
		if p := rev.Messages[i].ParentID; p != "" {
			rev.Messages[i].ParentID = strings.Replace(p, p[:8], "7b0f3c52", 1)
		}
		rev.Messages[i].ConversationID = ""
	}
	rev.ActiveID = strings.Replace(rev.ActiveID, rev.ActiveID[:8], "7b0f3c52", 1)
	if _, err := dst.ImportConversation(ctx0, rev); err != nil {
		t.Fatalf("import of a reversed file: %v", err)
	}
	// The file's order is kept where it can be: q1' is listed before q1.
	if p := pathOf(t, dst, rev.ID); p != "q1/2of2 a1 q2 a2" {
		t.Fatalf("reversed file's path %q", p)
	}

	// The previous version's file: no parent_id, no active_message_id.
	old := store.Conversation{ID: "7b0f3c52-0000-4000-8000-0000000000b0", StartedAt: exported.StartedAt}
	for i, c := range []string{"x", "y", "z"} {
		old.Messages = append(old.Messages, store.Message{ID: fmt.Sprintf("7b0f3c52-0000-4000-8000-0000000000b%d", i+1),
			Role: store.RoleUser, Content: c, CreatedAt: exported.StartedAt})
	}
	if _, err := dst.ImportConversation(ctx0, old); err != nil {
		t.Fatalf("import of an old file: %v", err)
	}
	if p := pathOf(t, dst, old.ID); p != "x y z" {
		t.Fatalf("old file's path %q", p)
	}

	bad := func(edit func(c *store.Conversation)) store.Conversation {
		c := old
		c.ID = "7b0f3c52-0000-4000-8000-0000000000c0"
		c.Messages = slices.Clone(old.Messages)
		for i := range c.Messages {
			c.Messages[i].ID = strings.Replace(c.Messages[i].ID, "0000000000b", "0000000000c", 1)
		}
		c.Messages[1].ParentID = c.Messages[0].ID
		c.Messages[2].ParentID = c.Messages[1].ID
		edit(&c)
		return c
	}
	for _, tc := range []struct {
		name, want string
		c          store.Conversation
	}{
		{"a parent outside the conversation", "message 2: parent " + exported.Messages[0].ID + " is not a message of this conversation",
			bad(func(c *store.Conversation) { c.Messages[1].ParentID = exported.Messages[0].ID })},
		{"a missing parent", "message 3: parent 7b0f3c52-0000-4000-8000-0000000000ff is not a message of this conversation",
			bad(func(c *store.Conversation) { c.Messages[2].ParentID = "7b0f3c52-0000-4000-8000-0000000000ff" })},
		{"a cycle", "its parents form a cycle",
			bad(func(c *store.Conversation) { c.Messages[0].ParentID = c.Messages[2].ID })},
		{"its own parent", "message 2: its parents form a cycle",
			bad(func(c *store.Conversation) { c.Messages[1].ParentID = c.Messages[1].ID })},
		{"a malformed parent", `message 2: parent_id "x" is not a UUID`,
			bad(func(c *store.Conversation) { c.Messages[1].ParentID = "x" })},
		{"an active leaf elsewhere", "active_message_id",
			bad(func(c *store.Conversation) { c.ActiveID = exported.Messages[0].ID })},
	} {
		err := dst.CheckImport(tc.c)
		_, ierr := dst.ImportConversation(ctx0, tc.c)
		for _, e := range []error{err, ierr} {
			if !errors.Is(e, store.ErrInvalidRecord) || !strings.Contains(e.Error(), tc.want) {
				t.Errorf("%s: %v, want ErrInvalidRecord saying %q", tc.name, e, tc.want)
			}
		}
	}
	if n := count(t, dst.DB(), `SELECT count(*) FROM conversations WHERE id = '7b0f3c52-0000-4000-8000-0000000000c0'`); n != 0 {
		t.Fatal("a refused import stored its conversation")
	}
}

// sameTree compares two trees by what an export carries.
func sameTree(a, b *store.Conversation) bool {
	if a.ID != b.ID || a.ActiveID != b.ActiveID || len(a.Messages) != len(b.Messages) {
		return false
	}
	for i := range a.Messages {
		x, y := a.Messages[i], b.Messages[i]
		if x.ID != y.ID || x.ParentID != y.ParentID || x.Content != y.Content || x.Role != y.Role || !x.CreatedAt.Equal(y.CreatedAt) {
			return false
		}
	}
	return true
}
