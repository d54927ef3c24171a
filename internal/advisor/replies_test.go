//go:build integration

package advisor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// slowFixture answers every chat with "1 2 … n" at rate tokens a second.
func slowFixture(t *testing.T, n int, rate float64, edit func(*advisor.Config), storeOpts ...store.Option) *fixture {
	t.Helper()
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: n, Rate: rate})
	return newFixtureOn(t, pgtest.Migrated(t), nil, stub, edit, storeOpts...)
}

// reading is what a reader took from a reply's stream.
type reading struct {
	text   string
	lastID string
	end    event // done or error; zero if the stream was left early
	reply  message
}

// follow reads s, calling until (if not nil) after each token; it stops
// reading when until returns true.
func follow(t *testing.T, s *sseReader, until func(reading) bool) reading {
	t.Helper()
	var r reading
	for {
		ev, ok := s.next()
		if !ok {
			return r
		}
		switch ev.name {
		case "reply":
			if err := json.Unmarshal([]byte(ev.data), &r.reply); err != nil {
				t.Fatalf("reply event %q: %v", ev.data, err)
			}
		case "token":
			var d struct{ Delta string }
			if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
				t.Fatalf("token %q: %v", ev.data, err)
			}
			r.text += d.Delta
			r.lastID = ev.id
			if until != nil && until(r) {
				return r
			}
		case "done", "error":
			r.end = ev
			return r
		}
	}
}

func (f *fixture) resume(ctx context.Context, id, lastEventID string) *sseReader {
	f.t.Helper()
	var hdr []string
	if lastEventID != "" {
		hdr = []string{"Last-Event-ID", lastEventID}
	}
	return f.openSSE(ctx, "GET", "/api/conversations/"+id+"/stream", "", hdr...)
}

// TestResumeIsExact: a reader that leaves mid-answer and comes back with
// Last-Event-ID gets exactly the text after what it had, and any offset
// it names (the middle of an event's text too) gives exactly the text
// after it; a garbage id replays from the start; an id beyond the end waits
// and ends with no text. Numbered tokens make a repeat or a gap visible.
func TestResumeIsExact(t *testing.T) {
	t.Parallel()
	// 2000 tokens at 400/s: the readers below open well within the reply.
	const n = 2000
	want := modelstub.NumberedText(n)
	f := slowFixture(t, n, 400, nil)
	id := f.create()
	ctx, leave := context.WithCancel(context.Background())
	first := follow(t, f.openStream(ctx, "/api/conversations/"+id+"/chat", `{"content":"count"}`),
		func(r reading) bool { return len(r.text) >= 40 })
	leave()
	if first.reply.Status != "streaming" || first.reply.Role != "assistant" || first.lastID != strconv.Itoa(len(first.text)) {
		t.Fatalf("first reader: reply %+v, last id %q after %d bytes", first.reply, first.lastID, len(first.text))
	}
	type resumeCase struct {
		name, lastID string
		from         int // the byte offset the resumed text starts at; -1: none
	}
	cases := []resumeCase{
		{"where it left", first.lastID, len(first.text)},
		{"mid-event", "7", 7},
		{"no id", "", 0},
		{"garbage", "banana", 0},
		{"negative", "-5", 0},
		{"beyond the end", strconv.Itoa(len(want) + 10), -1},
	}
	// Every reader is opened while the reply is in flight, then read.
	streams := make([]*sseReader, len(cases))
	for i, tc := range cases {
		streams[i] = f.resume(context.Background(), id, tc.lastID)
	}
	for i, tc := range cases {
		s := streams[i]
		t.Run(tc.name, func(t *testing.T) {
			got := follow(t, s, nil)
			if got.end.name != "done" {
				t.Fatalf("ended with %+v", got.end)
			}
			if tc.from < 0 {
				if got.text != "" {
					t.Fatalf("text %q beyond the end", got.text)
				}
				return
			}
			if got.text != want[tc.from:] {
				t.Fatalf("resumed text from %d is not exact:\n got %.80q…\nwant %.80q…", tc.from, got.text, want[tc.from:])
			}
		})
	}
	if msgs := f.thread(id); roles(msgs) != "user,assistant" || msgs[1].Content != want {
		t.Errorf("stored %s %.40q", roles(msgs), msgs[1].Content)
	}
}

// TestReadersGetTheSameText: three readers that join at different moments,
// and the chat's own stream, end with the identical text, which is the
// stored reply.
func TestReadersGetTheSameText(t *testing.T) {
	t.Parallel()
	const n = 2000 // 5 s at 400 tokens/s: the readers open within it
	f := slowFixture(t, n, 400, nil)
	id := f.create()
	chat := f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	head := follow(t, chat, func(r reading) bool { return len(r.text) > 0 })
	texts := make([]string, 3)
	var wg sync.WaitGroup
	for i := range texts {
		s := f.resume(context.Background(), id, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts[i] = follow(t, s, nil).text
		}()
	}
	rest := follow(t, chat, nil)
	wg.Wait()
	want := modelstub.NumberedText(n)
	if head.text+rest.text != want {
		t.Fatalf("the chat's stream: %.60q", head.text+rest.text)
	}
	for i, got := range texts {
		if got != want {
			t.Errorf("reader %d: %.60q", i, got)
		}
	}
	var done message
	if err := json.Unmarshal([]byte(rest.end.data), &done); err != nil || done.Content != want || done.Status != "complete" {
		t.Fatalf("done %+v %v", done, err)
	}
}

// TestStop: stop ends the reply stopped with its text so far, which the
// chat's stream and the store agree on; a second stop is 409; a retry
// appends a fresh reply and the stopped one stays.
func TestStop(t *testing.T) {
	t.Parallel()
	f := slowFixture(t, 5000, 100, nil)
	id := f.create()
	chat := f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	head := follow(t, chat, func(r reading) bool { return len(r.text) > 0 })
	r := f.do("POST", "/api/conversations/"+id+"/stop", `{}`)
	var stopped message
	r.json(t, &stopped)
	if r.status != http.StatusOK || stopped.Status != "stopped" || !strings.HasPrefix(stopped.Content, head.text) ||
		!strings.HasPrefix(modelstub.NumberedText(5000), stopped.Content) {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
	rest := follow(t, chat, nil)
	var done message
	if err := json.Unmarshal([]byte(rest.end.data), &done); err != nil || rest.end.name != "done" || done.Status != "stopped" ||
		head.text+rest.text != stopped.Content || done.Content != stopped.Content {
		t.Fatalf("the chat's stream after stop: %s %+v, text %q", rest.end.name, done, head.text+rest.text)
	}
	if r := f.do("POST", "/api/conversations/"+id+"/stop", `{}`); r.status != http.StatusConflict {
		t.Fatalf("second stop: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/conversations/"+id+"/stream", ""); r.status != http.StatusNoContent {
		t.Fatalf("stream with nothing in flight: %d %s", r.status, r.body)
	}
	f.stub.SetReply(func([]modelstub.Message) string { return "fresh" })
	r = f.do("POST", "/api/conversations/"+id+"/reply", `{}`)
	var retried struct{ Reply message }
	if r.json(t, &retried); r.status != http.StatusOK {
		t.Fatalf("retry after stop: %d %s", r.status, r.body)
	}
	if msgs := f.tree(id); roles(msgs) != "user,assistant:stopped,assistant" || msgs[1].Content != stopped.Content {
		t.Fatalf("after the retry: %s", roles(msgs))
	}
	if msgs := f.thread(id); roles(msgs) != "user,assistant" || msgs[1].ID != retried.Reply.ID {
		t.Fatalf("the thread after the retry: %s", roles(msgs))
	}
}

// TestOneGenerationAnswers409: while a reply is in flight, chat and reply
// are 409 with the running reply's id, and the refused chat stored
// nothing.
func TestOneGenerationAnswers409(t *testing.T) {
	t.Parallel()
	f := slowFixture(t, 5000, 100, nil)
	id := f.create()
	chat := f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	head := follow(t, chat, func(r reading) bool { return len(r.text) > 0 })
	for _, path := range []string{"/chat", "/reply"} {
		r := f.do("POST", "/api/conversations/"+id+path, `{"content":"another"}`)
		if path == "/reply" {
			r = f.do("POST", "/api/conversations/"+id+path, `{}`)
		}
		var body struct {
			Error     string `json:"error"`
			MessageID string `json:"message_id"`
		}
		r.json(t, &body)
		if r.status != http.StatusConflict || body.MessageID != head.reply.ID || body.Error == "" {
			t.Fatalf("%s while in flight: %d %s (running %s)", path, r.status, r.body, head.reply.ID)
		}
	}
	if got := roles(f.thread(id)); got != "user,assistant:streaming" {
		t.Fatalf("after the refusals: %s", got)
	}
}

// TestStreamAndStopBadInput: unknown and malformed ids are 404, a stop
// that is not JSON is 415, nothing in flight is 204 (stream) and 409
// (stop).
func TestStreamAndStopBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	for _, tc := range []struct {
		method, path, body string
		hdr                []string
		want               int
	}{
		{"GET", "/api/conversations/00000000-0000-4000-8000-000000000000/stream", "", nil, http.StatusNotFound},
		{"GET", "/api/conversations/not-an-id/stream", "", nil, http.StatusNotFound},
		{"POST", "/api/conversations/00000000-0000-4000-8000-000000000000/stop", `{}`, nil, http.StatusNotFound},
		{"POST", "/api/conversations/not-an-id/stop", `{}`, nil, http.StatusNotFound},
		{"GET", "/api/conversations/" + id + "/stream", "", []string{"Last-Event-ID", "99999999999999999999"}, http.StatusNoContent},
		{"POST", "/api/conversations/" + id + "/stop", `{}`, nil, http.StatusConflict},
		{"POST", "/api/conversations/" + id + "/stop", `{"now":true}`, nil, http.StatusBadRequest},
		{"POST", "/api/conversations/" + id + "/stop", ``, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType},
	} {
		r := f.do(tc.method, tc.path, tc.body, tc.hdr...)
		if r.status != tc.want || (r.status != http.StatusNoContent && strings.Contains(string(r.body), "store:")) {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
		}
	}
}

// TestModelOutputLimits: a single delta larger than the content limit
// ends the reply failed with its text kept up to the limit; a NUL from
// the model is dropped so the reply stores.
func TestModelOutputLimits(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	huge := strings.Repeat("x", 10<<20)
	for _, tc := range []struct {
		name, reply, status, stored string
		httpStatus                  int
	}{
		{"10 MB delta", huge, "failed", huge[:limit], http.StatusBadGateway},
		{"NUL", "before\x00after", "complete", "beforeafter", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := modelstub.NewWith(modelstub.Options{Reply: tc.reply})
			f := newFixtureOn(t, pgtest.Migrated(t), nil, stub, nil, store.WithMaxContentBytes(limit))
			id := f.create()
			r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"go"}`)
			if r.status != tc.httpStatus || strings.Contains(string(r.body), "store:") {
				t.Fatalf("chat: %d %.200s", r.status, r.body)
			}
			msgs := f.thread(id)
			if len(msgs) != 2 || msgs[1].Status != tc.status || msgs[1].Content != tc.stored {
				t.Fatalf("stored %s, %d bytes", roles(msgs), len(msgs[len(msgs)-1].Content))
			}
		})
	}
}

// TestResumeAndStopAcrossInstances: two servers on one database; a reply
// generated by A is followed through B (from the store: B has it not in
// memory), seen growing, and stopped through B.
func TestResumeAndStopAcrossInstances(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Migrated(t)
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: 5000, Rate: 100})
	a := newFixtureOn(t, dsn, nil, stub, func(c *advisor.Config) { c.Instance = "a" })
	b := newFixtureOn(t, dsn, nil, stub, func(c *advisor.Config) { c.Instance = "b" })
	id := a.create()
	chat := a.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	head := follow(t, chat, func(r reading) bool { return len(r.text) > 0 })
	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	onB := b.resume(ctx, id, "")
	// Two growths seen through B: B polls the store and forwards chunks.
	seen := follow(t, onB, func(r reading) bool { return len(r.lastID) > 0 && len(r.text) > len(head.text)+20 })
	if seen.reply.ID != head.reply.ID || !strings.HasPrefix(modelstub.NumberedText(5000), seen.text) {
		t.Fatalf("through B: reply %s, text %.60q", seen.reply.ID, seen.text)
	}
	r := b.do("POST", "/api/conversations/"+id+"/stop", `{}`)
	var stopped message
	r.json(t, &stopped)
	if r.status != http.StatusOK || stopped.Status != "stopped" || !strings.HasPrefix(stopped.Content, seen.text) {
		t.Fatalf("stop through B: %d %.200s", r.status, r.body)
	}
	rest := follow(t, onB, nil)
	if rest.end.name != "done" || seen.text+rest.text != stopped.Content {
		t.Fatalf("B's reader after stop: %s, %d+%d bytes of %d", rest.end.name, len(seen.text), len(rest.text), len(stopped.Content))
	}
	if all := follow(t, chat, nil); head.text+all.text != stopped.Content {
		t.Fatalf("A's stream after stop: %d bytes of %d", len(head.text+all.text), len(stopped.Content))
	}
}
