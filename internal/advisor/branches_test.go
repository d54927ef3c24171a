//go:build integration

package advisor_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/store"
)

// get reads a conversation over the API.
func (f *fixture) get(id string) conversation {
	f.t.Helper()
	r := f.do("GET", "/api/conversations/"+id, "")
	if r.status != http.StatusOK {
		f.t.Fatalf("get: %d %s", r.status, r.body)
	}
	var c conversation
	r.json(f.t, &c)
	return c
}

// exchange is what an edit, a regenerate or a chat stored.
type exchange struct {
	user  *message // nil for a regenerate
	reply message
}

// send POSTs a chat, edit or regenerate body to path, as JSON or as SSE,
// and returns what it stored; the reply must end complete.
func (f *fixture) send(path, body string, sse bool) exchange {
	f.t.Helper()
	var out exchange
	if !sse {
		r := f.do("POST", path, body)
		if r.status != http.StatusOK {
			f.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
		}
		var resp struct {
			User  *message `json:"user"`
			Reply message  `json:"reply"`
		}
		r.json(f.t, &resp)
		out.user, out.reply = resp.User, resp.Reply
	} else {
		evs := f.openStream(context.Background(), path, body).all()
		var names []string
		for _, ev := range evs {
			switch ev.name {
			case "user":
				out.user = &message{}
				if err := json.Unmarshal([]byte(ev.data), out.user); err != nil {
					f.t.Fatal(err)
				}
			case "done":
				if err := json.Unmarshal([]byte(ev.data), &out.reply); err != nil {
					f.t.Fatal(err)
				}
			}
			if ev.name != "comment" && ev.name != "token" {
				names = append(names, ev.name)
			}
		}
		want := "reply,done"
		if out.user != nil {
			want = "user,reply,done"
		}
		if got := strings.Join(names, ","); got != want {
			f.t.Fatalf("POST %s: events %s, want %s", path, got, want)
		}
	}
	if out.reply.Status != store.StatusComplete {
		f.t.Fatalf("POST %s: reply %+v", path, out.reply)
	}
	return out
}

// pathOf is a conversation's thread as "content,content,…", and checks
// what every message on an active path carries: its parent is the message
// before it (null for the first), its siblings hold it, and the active
// leaf is the last.
func pathOf(t *testing.T, c conversation) string {
	t.Helper()
	var parts []string
	for i, m := range c.Messages {
		switch {
		case i == 0 && m.ParentID != nil:
			t.Errorf("root %s has parent %s", m.ID, *m.ParentID)
		case i > 0 && (m.ParentID == nil || *m.ParentID != c.Messages[i-1].ID):
			t.Errorf("message %d (%s) has parent %v, want %s", i, m.ID, m.ParentID, c.Messages[i-1].ID)
		}
		if !slices.Contains(m.Siblings, m.ID) {
			t.Errorf("message %s: siblings %v lack it", m.ID, m.Siblings)
		}
		parts = append(parts, m.Content)
	}
	switch {
	case len(c.Messages) == 0 && c.ActiveID != nil:
		t.Errorf("empty conversation has active_message_id %s", *c.ActiveID)
	case len(c.Messages) > 0 && (c.ActiveID == nil || *c.ActiveID != c.Messages[len(c.Messages)-1].ID):
		t.Errorf("active_message_id %v, want the last message %s", c.ActiveID, c.Messages[len(c.Messages)-1].ID)
	}
	return strings.Join(parts, ",")
}

// siblingsOf is the i-th path message's siblings by content.
func siblingsOf(t *testing.T, f *fixture, c conversation, i int) []string {
	t.Helper()
	tree, err := f.st.GetConversationTree(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	content := map[string]string{}
	for _, m := range tree.Messages {
		content[m.ID] = m.Content
	}
	var out []string
	for _, id := range c.Messages[i].Siblings {
		out = append(out, content[id])
	}
	return out
}

// TestEditRegenerateSwitch: over the API, as JSON and as SSE, a regenerate
// adds an answer beside the old one, an edit a question beside the old one
// (answered like chat, the model seeing only the new path), chat continues
// the active leaf, and PATCH active_message_id brings back any branch, the
// newest leaf under it; after each, the active path, the siblings and the
// count of every message are as they should be.
func TestEditRegenerateSwitch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		sse  bool
	}{{"json", false}, {"sse", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			id := f.create()
			base := "/api/conversations/" + id
			first := f.send(base+"/chat", `{"content":"q1"}`, tt.sse)

			// regenerate the answer: a sibling, active.
			again := f.send(base+"/messages/"+first.reply.ID+"/regenerate", `{}`, tt.sse)
			if again.user != nil || again.reply.ParentID == nil || *again.reply.ParentID != first.user.ID {
				t.Fatalf("regenerate: %+v, want a reply to %s", again, first.user.ID)
			}
			c := f.get(id)
			if got := pathOf(t, c); got != "q1,echo: q1" || c.Messages[1].ID != again.reply.ID || c.MessageCount != 3 {
				t.Fatalf("after regenerate: %s, %d messages", got, c.MessageCount)
			}
			if got := c.Messages[1].Siblings; !slices.Equal(got, []string{first.reply.ID, again.reply.ID}) {
				t.Errorf("answer's siblings %v", got)
			}
			if got := c.Messages[0].Siblings; !slices.Equal(got, []string{first.user.ID}) {
				t.Errorf("a message alone has siblings %v, want itself", got)
			}

			// edit the question: a new root, answered; the model sees only it.
			edited := f.send(base+"/messages/"+first.user.ID+"/edit", `{"content":"q2"}`, tt.sse)
			if edited.user == nil || edited.user.ParentID != nil || edited.user.Content != "q2" {
				t.Fatalf("edit stored %+v", edited.user)
			}
			reqs := f.stub.Requests()
			var sent []string
			for _, m := range reqs[len(reqs)-1].Messages {
				sent = append(sent, m.Content)
			}
			if got := strings.Join(sent, "|"); got != "You are the lab advisor.|q2" {
				t.Errorf("the edit's model request: %s", got)
			}
			c = f.get(id)
			if got := pathOf(t, c); got != "q2,echo: q2" || c.MessageCount != 5 {
				t.Fatalf("after edit: %s, %d messages", got, c.MessageCount)
			}
			if got := siblingsOf(t, f, c, 0); !slices.Equal(got, []string{"q1", "q2"}) {
				t.Errorf("question's siblings %v", got)
			}

			// chat continues the active leaf.
			f.send(base+"/chat", `{"content":"q3"}`, tt.sse)
			if got := pathOf(t, f.get(id)); got != "q2,echo: q2,q3,echo: q3" {
				t.Fatalf("chat after edit: %s", got)
			}

			// switch: to the first question (its newest leaf is the
			// regenerated answer), to the first answer, back to the edit
			// (its newest leaf, following the newest child down).
			for _, sw := range []struct{ to, path string }{
				{first.user.ID, "q1,echo: q1"},
				{first.reply.ID, "q1,echo: q1"},
				{edited.user.ID, "q2,echo: q2,q3,echo: q3"},
			} {
				r := f.do("PATCH", base, `{"active_message_id":"`+sw.to+`"}`)
				if r.status != http.StatusOK {
					t.Fatalf("switch to %s: %d %s", sw.to, r.status, r.body)
				}
				var answered conversation
				r.json(t, &answered)
				if got := pathOf(t, answered); got != sw.path || answered.MessageCount != 7 {
					t.Errorf("switch to %s answered %s (%d messages), want %s", sw.to, got, answered.MessageCount, sw.path)
				}
				read := f.get(id)
				if pathOf(t, read) != sw.path || !slices.ContainsFunc(read.Messages, func(m message) bool { return m.ID == sw.to }) {
					t.Errorf("switch to %s: GET reads %s", sw.to, pathOf(t, read))
				}
			}
			if r := f.do("PATCH", base, `{"active_message_id":"`+first.reply.ID+`"}`); r.status != http.StatusOK {
				t.Fatalf("switch: %d %s", r.status, r.body)
			}
			if got := pathOf(t, f.get(id)); got != "q1,echo: q1" {
				t.Fatalf("switched to the first answer: %s", got)
			}
			if c := f.get(id); c.Messages[1].ID != first.reply.ID {
				t.Errorf("the first answer is not shown: %+v", c.Messages[1])
			}
			// A rename and a switch at once: both done.
			r := f.do("PATCH", base, `{"title":"renamed","active_message_id":"`+edited.user.ID+`"}`)
			var both conversation
			r.json(t, &both)
			if r.status != http.StatusOK || both.Title != "renamed" || pathOf(t, both) != "q2,echo: q2,q3,echo: q3" {
				t.Errorf("rename and switch: %d %s", r.status, r.body)
			}
		})
	}
}

// TestRetryIsSibling: the retry of a failed reply (/reply) is a sibling of
// it, active; the failed one stays, one switch away.
func TestRetryIsSibling(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	f.stub.SetMode(modelstub.Fail500)
	if r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"q"}`); r.status != http.StatusBadGateway {
		t.Fatalf("failing chat: %d %s", r.status, r.body)
	}
	failed := f.get(id).Messages[1]
	f.stub.SetMode(modelstub.Normal)
	retried := f.send("/api/conversations/"+id+"/reply", `{}`, false)
	c := f.get(id)
	if got := pathOf(t, c); got != "q,echo: q" || c.MessageCount != 3 {
		t.Fatalf("after retry: %s, %d messages", got, c.MessageCount)
	}
	if got := c.Messages[1].Siblings; !slices.Equal(got, []string{failed.ID, retried.reply.ID}) {
		t.Errorf("retry's siblings %v, want the failed reply and it", got)
	}
}

// TestBranchErrors: unknown and malformed ids are 404, a message of the
// wrong role or of another conversation is 400, bad bodies are 400; none
// of them stores anything.
func TestBranchErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	other := f.create()
	ex := f.send("/api/conversations/"+id+"/chat", `{"content":"q"}`, false)
	elsewhere := f.send("/api/conversations/"+other+"/chat", `{"content":"there"}`, false)
	unknown := uuid.NewString()
	conv := "/api/conversations/" + id
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string // a substring of the error
	}{
		{"edit unknown message", "POST", conv + "/messages/" + unknown + "/edit", `{"content":"x"}`, 404, "not found"},
		{"edit malformed message id", "POST", conv + "/messages/nope/edit", `{"content":"x"}`, 404, "not found"},
		{"edit in unknown conversation", "POST", "/api/conversations/" + unknown + "/messages/" + ex.user.ID + "/edit", `{"content":"x"}`, 404, "not found"},
		{"edit in malformed conversation", "POST", "/api/conversations/nope/messages/" + ex.user.ID + "/edit", `{"content":"x"}`, 404, "not found"},
		{"regenerate unknown message", "POST", conv + "/messages/" + unknown + "/regenerate", `{}`, 404, "not found"},
		{"regenerate malformed message id", "POST", conv + "/messages/x/regenerate", `{}`, 404, "not found"},
		{"switch to unknown message", "PATCH", conv, `{"active_message_id":"` + unknown + `"}`, 404, "not found"},
		{"switch to malformed id", "PATCH", conv, `{"active_message_id":"nope"}`, 404, "not found"},
		{"switch in unknown conversation", "PATCH", "/api/conversations/" + unknown, `{"active_message_id":"` + ex.user.ID + `"}`, 404, "not found"},
		{"edit an answer", "POST", conv + "/messages/" + ex.reply.ID + "/edit", `{"content":"x"}`, 400, "wrong role"},
		{"regenerate a question", "POST", conv + "/messages/" + ex.user.ID + "/regenerate", `{}`, 400, "wrong role"},
		{"edit another conversation's message", "POST", conv + "/messages/" + elsewhere.user.ID + "/edit", `{"content":"x"}`, 400, "another conversation"},
		{"regenerate another conversation's message", "POST", conv + "/messages/" + elsewhere.reply.ID + "/regenerate", `{}`, 400, "another conversation"},
		{"switch to another conversation's message", "PATCH", conv, `{"active_message_id":"` + elsewhere.reply.ID + `"}`, 400, "another conversation"},
		{"edit to blank", "POST", conv + "/messages/" + ex.user.ID + "/edit", `{"content":" \n"}`, 400, "content"},
		{"edit without content", "POST", conv + "/messages/" + ex.user.ID + "/edit", `{}`, 400, "content"},
		{"edit with an unknown field", "POST", conv + "/messages/" + ex.user.ID + "/edit", `{"content":"x","role":"user"}`, 400, "role"},
		{"regenerate with a body", "POST", conv + "/messages/" + ex.reply.ID + "/regenerate", `{"content":"x"}`, 400, "content"},
		{"patch with neither", "PATCH", conv, `{}`, 400, "active_message_id"},
		{"switch to null", "PATCH", conv, `{"active_message_id":null}`, 400, "active_message_id"},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := f.do(tt.method, tt.path, tt.body)
				if r.status != tt.status || !strings.Contains(r.errorMsg(t), tt.msg) {
					t.Errorf("%d %s, want %d with %q", r.status, r.body, tt.status, tt.msg)
				}
			})
		}
	})
	for _, cid := range []string{id, other} {
		if c := f.get(cid); c.MessageCount != 2 {
			t.Errorf("conversation %s holds %d messages after refused requests, want 2", cid, c.MessageCount)
		}
	}
}

// TestBranchWhileReplying: while a reply is in flight, edit, regenerate and
// a switch are refused with 409 and the reply's id, and change nothing; a
// rename alone is still accepted.
func TestBranchWhileReplying(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	base := "/api/conversations/" + id
	ex := f.send(base+"/chat", `{"content":"q"}`, false)
	f.stub.SetMode(modelstub.HoldFirstToken)
	s := f.openStream(context.Background(), base+"/chat", `{"content":"slow"}`)
	var inFlight message
	for {
		ev, ok := s.next()
		if !ok {
			t.Fatal("stream ended before its reply event")
		}
		if ev.name == "reply" {
			if err := json.Unmarshal([]byte(ev.data), &inFlight); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct{ name, method, path, body string }{
			{"edit", "POST", base + "/messages/" + ex.user.ID + "/edit", `{"content":"x"}`},
			{"regenerate", "POST", base + "/messages/" + ex.reply.ID + "/regenerate", `{}`},
			{"switch", "PATCH", base, `{"active_message_id":"` + ex.reply.ID + `"}`},
			{"switch and rename", "PATCH", base, `{"active_message_id":"` + ex.reply.ID + `","title":"no"}`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := f.do(tt.method, tt.path, tt.body)
				var body struct {
					Error     string `json:"error"`
					MessageID string `json:"message_id"`
				}
				r.json(t, &body)
				if r.status != http.StatusConflict || body.MessageID != inFlight.ID {
					t.Errorf("%d %s, want 409 naming %s", r.status, r.body, inFlight.ID)
				}
			})
		}
	})
	if r := f.do("PATCH", base, `{"title":"renamed"}`); r.status != http.StatusOK {
		t.Errorf("rename while replying: %d %s", r.status, r.body)
	}
	f.stub.Release()
	if evs := s.all(); len(evs) == 0 || evs[len(evs)-1].name != "done" {
		t.Fatalf("the reply in flight: %+v", evs)
	}
	c := f.get(id)
	if got := pathOf(t, c); got != "q,echo: q,slow,echo: slow" || c.MessageCount != 4 || c.Title != "renamed" {
		t.Errorf("after the refused requests: %s, %d messages, title %q", got, c.MessageCount, c.Title)
	}
}

// TestConcurrentEdits: many edits of one question at once: exactly one
// wins (its reply streams), the others get 409, and the tree holds the
// winner's two messages more, each with its parent in the conversation.
func TestConcurrentEdits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	base := "/api/conversations/" + id
	ex := f.send(base+"/chat", `{"content":"q"}`, false)
	f.stub.SetMode(modelstub.HoldFirstToken) // the winner stays in flight
	const n = 8
	type result struct {
		status int
		res    *http.Response
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("POST", f.srv.URL+base+"/messages/"+ex.user.ID+"/edit",
				strings.NewReader(`{"content":"edit `+string(rune('a'+i))+`"}`))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "text/event-stream") // the status comes at once
			res, err := f.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = result{res.StatusCode, res}
		}()
	}
	wg.Wait()
	var won []*http.Response
	for _, r := range results {
		if r.res == nil {
			t.FailNow()
		}
		t.Cleanup(func() { r.res.Body.Close() })
		switch r.status {
		case http.StatusOK:
			won = append(won, r.res)
		case http.StatusConflict:
		default:
			t.Errorf("an edit answered %d", r.status)
		}
	}
	f.stub.Release()
	if len(won) != 1 {
		t.Fatalf("%d edits won, want exactly 1", len(won))
	}
	sc := bufio.NewScanner(won[0].Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	evs := (&sseReader{won[0], sc}).all()
	if len(evs) == 0 || evs[len(evs)-1].name != "done" {
		t.Fatalf("the winner's stream: %+v", evs)
	}
	tree, err := f.st.GetConversationTree(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range tree.Messages {
		ids[m.ID] = true
	}
	for _, m := range tree.Messages {
		if m.ParentID != "" && !ids[m.ParentID] {
			t.Errorf("message %s is orphaned: parent %s is not in the conversation", m.ID, m.ParentID)
		}
		if m.Status == store.StatusStreaming {
			t.Errorf("message %s still streaming", m.ID)
		}
	}
	if len(tree.Messages) != 4 || !ids[tree.ActiveID] {
		t.Errorf("tree holds %d messages (want 4), active %q", len(tree.Messages), tree.ActiveID)
	}
	c := f.get(id)
	if got := pathOf(t, c); !strings.HasPrefix(got, "edit ") || c.MessageCount != 4 {
		t.Errorf("after the edits: %s, %d messages", got, c.MessageCount)
	}
}
