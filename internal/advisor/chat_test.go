//go:build integration

package advisor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
)

// TestChatJSON: chat stores the user message, sends the whole thread with
// the system prompt first, stores and returns the reply.
func TestChatJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"hello"}`)
	var out struct {
		User  message `json:"user"`
		Reply message `json:"reply"`
	}
	r.json(t, &out)
	if r.status != 200 || out.User.Content != "hello" || out.User.Role != "user" || out.Reply.Content != "echo: hello" || out.Reply.Role != "assistant" {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"again"}`)
	msgs := f.thread(id)
	if roles(msgs) != "user,assistant,user,assistant" || msgs[3].Content != "echo: again" || msgs[1].ID != out.Reply.ID {
		t.Fatalf("stored %+v", msgs)
	}
	reqs := f.stub.Requests()
	last := reqs[len(reqs)-1]
	var sent []string
	for _, m := range last.Messages {
		sent = append(sent, m.Role+":"+m.Content)
	}
	if got, want := strings.Join(sent, "|"), "system:You are the lab advisor.|user:hello|assistant:echo: hello|user:again"; got != want {
		t.Errorf("thread sent = %s, want %s", got, want)
	}
	// Every generation streams, JSON answer or not, so that its text is
	// stored as it grows; the usage is asked for.
	if last.Model != "stub-model" || !last.Stream || !last.IncludeUsage || last.Authorization != "Bearer test-key" {
		t.Errorf("model request %+v", last)
	}
	if r := out.Reply; r.Status != "complete" || r.Model == nil || *r.Model != "stub-model" || r.FinishReason == nil ||
		r.PromptTokens == nil || r.CompletionTokens == nil || r.DurationMS == nil || r.FirstTokenMS == nil {
		t.Errorf("reply metadata %+v", r)
	}
	if r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"  \n"}`); r.status != http.StatusBadRequest {
		t.Errorf("blank content: %d", r.status)
	}
}

// TestChatStream: with Accept: text/event-stream, event user, event reply
// (the reply as started), token events whose deltas make the reply and
// whose ids are its byte offsets, then done with the stored reply.
func TestChatStream(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	evs := f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"stream me please"}`).all()
	var names []string
	var text string
	for _, ev := range evs {
		if ev.name == "comment" {
			continue
		}
		names = append(names, ev.name)
		if ev.name == "token" {
			var d struct{ Delta string }
			json.Unmarshal([]byte(ev.data), &d)
			text += d.Delta
			if ev.id != strconv.Itoa(len(text)) {
				t.Errorf("token id %q after %d bytes", ev.id, len(text))
			}
		}
	}
	if len(names) < 4 || names[0] != "user" || names[1] != "reply" || names[len(names)-1] != "done" || !strings.Contains(strings.Join(names, ","), "token") {
		t.Fatalf("events %v", names)
	}
	var done message
	json.Unmarshal([]byte(evs[len(evs)-1].data), &done)
	if text != "echo: stream me please" || done.Content != text || done.Role != "assistant" {
		t.Fatalf("tokens %q, done %+v", text, done)
	}
	msgs := f.thread(id)
	if roles(msgs) != "user,assistant" || msgs[1].Content != text || msgs[1].ID != done.ID {
		t.Fatalf("stored %+v", msgs)
	}
	if reqs := f.stub.Requests(); !reqs[0].Stream {
		t.Error("the model was not asked to stream")
	}
}

// TestModelFailureAndRetry: a failing model is a 502 (JSON) or an error
// event (stream, after some tokens); the user message stays, the reply is
// stored failed with the text it got, and reply retries with a fresh reply
// beside it, which takes its place on the thread (the failed ones stay in
// the tree and are not sent to the model); reply on an answered thread is
// 409.
func TestModelFailureAndRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()

	f.stub.SetMode(modelstub.Fail500)
	r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"one two three four"}`)
	if msg := r.errorMsg(t); r.status != http.StatusBadGateway || strings.Contains(msg, "stub") || strings.Contains(msg, f.stub.URL) {
		t.Fatalf("chat on a failing model: %d %q", r.status, msg)
	}
	if got := roles(f.thread(id)); got != "user,assistant:failed" {
		t.Fatalf("after a 502: %s", got)
	}

	f.stub.SetMode(modelstub.FailMidStream)
	evs := f.openStream(context.Background(), "/api/conversations/"+id+"/reply", `{}`).all()
	last := evs[len(evs)-1]
	var tokens int
	for _, ev := range evs {
		if ev.name == "token" {
			tokens++
		}
	}
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	json.Unmarshal([]byte(last.data), &e)
	if last.name != "error" || e.Status != http.StatusBadGateway || e.Error == "" || tokens == 0 {
		t.Fatalf("mid-stream failure: events %+v", evs)
	}
	msgs := f.thread(id)
	if got := roles(msgs); got != "user,assistant:failed" || msgs[1].Content == "" || !strings.HasPrefix("echo: one two three four", msgs[1].Content) {
		t.Fatalf("after the mid-stream failure: %s, partial %q", got, msgs[1].Content)
	}
	if got := roles(f.tree(id)); got != "user,assistant:failed,assistant:failed" {
		t.Fatalf("the tree after the mid-stream failure: %s", got)
	}

	f.stub.SetMode(modelstub.Normal)
	r = f.do("POST", "/api/conversations/"+id+"/reply", `{}`)
	var out map[string]message
	r.json(t, &out)
	if _, hasUser := out["user"]; r.status != 200 || hasUser || out["reply"].Content != "echo: one two three four" {
		t.Fatalf("reply: %d %s", r.status, r.body)
	}
	if got := roles(f.thread(id)); got != "user,assistant" {
		t.Fatalf("after the retry: %s", got)
	}
	if got := roles(f.tree(id)); got != "user,assistant:failed,assistant:failed,assistant" {
		t.Fatalf("the tree after the retry: %s", got)
	}
	reqs := f.stub.Requests()
	if sent := reqs[len(reqs)-1].Messages; len(sent) != 2 || sent[1].Content != "one two three four" {
		t.Fatalf("the retry sent %+v, want the system prompt and the question only", sent)
	}
	if r := f.do("POST", "/api/conversations/"+id+"/reply", ``); r.status != http.StatusConflict {
		t.Fatalf("reply to an answered thread: %d %s", r.status, r.body)
	}
	empty := f.create()
	if r := f.do("POST", "/api/conversations/"+empty+"/reply", `{}`); r.status != http.StatusConflict {
		t.Fatalf("reply to an empty thread: %d %s", r.status, r.body)
	}
	if strings.Count(f.logs.String(), "level=ERROR") < 2 {
		t.Errorf("model failures not logged:\n%s", f.logs.String())
	}
}

// TestClientGoesAwayMidStream: the client disconnects at the first token;
// the generation goes on, and the stored reply is complete and byte-equal
// to what the model sent.
func TestClientGoesAwayMidStream(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	f.stub.SetMode(modelstub.HoldMidStream)
	ctx, cancel := context.WithCancel(context.Background())
	s := f.openStream(ctx, "/api/conversations/"+id+"/chat", `{"content":"a long answer please"}`)
	for {
		ev, ok := s.next()
		if !ok {
			t.Fatal("stream ended before the first token")
		}
		if ev.name == "token" {
			break
		}
	}
	cancel()
	// A second reader follows the generation to its end: the
	// synchronisation, and the proof that it went on. It connects while
	// the model still holds the reply, so the reply is in flight; opened
	// after the release, it could find the reply finished and get 204.
	follow := f.openSSE(context.Background(), "GET", "/api/conversations/"+id+"/stream", "")
	f.stub.Release()
	evs := follow.all()
	if len(evs) == 0 || evs[len(evs)-1].name != "done" {
		t.Fatalf("resumed stream: %+v", evs)
	}
	msgs := f.thread(id)
	if got := roles(msgs); got != "user,assistant" || msgs[1].Content != "echo: a long answer please" {
		t.Fatalf("after the client left: %s %q", got, msgs[1].Content)
	}
}

// TestHeartbeatWhileModelLoads: before the first token the stream carries
// ": ping" comments; the reply still arrives afterwards.
func TestHeartbeatWhileModelLoads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *advisor.Config) { c.Heartbeat = 5e6 }) // 5 ms
	id := f.create()
	f.stub.SetMode(modelstub.HoldFirstToken)
	s := f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"slow"}`)
	pings := 0
	for pings < 2 {
		ev, ok := s.next()
		if !ok {
			t.Fatal("stream ended while the model was loading")
		}
		if ev.name == "token" || ev.name == "done" {
			t.Fatalf("%s before the model was released", ev.name)
		}
		if ev.name == "comment" && ev.data == "ping" {
			pings++
		}
	}
	f.stub.Release()
	evs := s.all()
	if len(evs) == 0 || evs[len(evs)-1].name != "done" {
		t.Fatalf("after release: %+v", evs)
	}
}

// TestThreadBudget: over budget, the oldest messages are not sent (the
// system prompt and the newest are), and the drop is logged.
func TestThreadBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *advisor.Config) { c.ThreadBudget = 25 })
	id := f.create()
	for _, m := range []string{"0123456789 oldest", "0123456789 older", "0123456789"} {
		f.do("POST", "/api/conversations/"+id+"/messages", `{"role":"user","content":"`+m+`"}`)
	}
	r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"newest!!"}`)
	if r.status != 200 {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	var sent []string
	for _, m := range f.stub.Requests()[0].Messages {
		sent = append(sent, m.Content)
	}
	// 8 + 10 = 18 fits in 25; adding 16 more would not.
	if got, want := strings.Join(sent, "|"), "You are the lab advisor.|0123456789|newest!!"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "dropped_messages=2") || !strings.Contains(logs, "dropped_chars=33") {
		t.Errorf("drop not logged:\n%s", logs)
	}
	// The newest message goes even when it alone is over budget.
	long := strings.Repeat("x", 40)
	if r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"`+long+`"}`); r.status != 200 {
		t.Fatalf("chat over budget: %d %s", r.status, r.body)
	}
	reqs := f.stub.Requests()
	if msgs := reqs[len(reqs)-1].Messages; len(msgs) != 2 || msgs[1].Content != long {
		t.Errorf("over-budget newest: sent %+v", msgs)
	}
}

// TestModelEndsEarlyFailed: a model answer that ends cleanly but without a
// finish_reason is a failure (502, or an error event after the tokens),
// stored failed; an answer stopped by max tokens (finish_reason "length")
// is the model's whole answer and is stored complete.
func TestModelEndsEarlyFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	f.stub.SetMode(modelstub.EndEarly)
	r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"one two three four"}`)
	if r.status != http.StatusBadGateway {
		t.Fatalf("JSON chat on an early end: %d %s", r.status, r.body)
	}
	if got := roles(f.thread(id)); got != "user,assistant:failed" {
		t.Fatalf("after the JSON early end: %s", got)
	}

	evs := f.openStream(context.Background(), "/api/conversations/"+id+"/reply", `{}`).all()
	var tokens int
	for _, ev := range evs {
		if ev.name == "token" {
			tokens++
		}
	}
	last := evs[len(evs)-1]
	var e struct{ Status int }
	json.Unmarshal([]byte(last.data), &e)
	if last.name != "error" || e.Status != http.StatusBadGateway || tokens == 0 {
		t.Fatalf("stream early end: events %+v", evs)
	}
	if got := roles(f.tree(id)); got != "user,assistant:failed,assistant:failed" {
		t.Fatalf("after the streamed early end: %s", got)
	}

	f.stub.SetMode(modelstub.FinishLength)
	if r := f.do("POST", "/api/conversations/"+id+"/reply", `{}`); r.status != 200 {
		t.Fatalf("reply cut by max tokens: %d %s", r.status, r.body)
	}
	evs = f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"more"}`).all()
	if last := evs[len(evs)-1]; last.name != "done" {
		t.Fatalf("stream cut by max tokens: %+v", evs)
	}
	if got := roles(f.tree(id)); got != "user,assistant:failed,assistant:failed,assistant,user,assistant" {
		t.Fatalf("after finish_reason length: %s", got)
	}
	if got := roles(f.thread(id)); got != "user,assistant,user,assistant" {
		t.Fatalf("the thread after finish_reason length: %s", got)
	}
}
