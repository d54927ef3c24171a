//go:build integration

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// These tests run real `advisor serve` processes against one database and
// an in-process stub model that streams numbered tokens ("1 2 3 …"), so
// any stored text can be checked to be an exact prefix of what the model
// sent.

// replyServer is one real `advisor serve` process.
type replyServer struct {
	p    *devProcess
	base string
}

// startReplyServer starts `advisor serve` on a loopback port of its own,
// on the database dsn with the stub as its model, and returns once it
// serves (it logged "serving", after Recover ran).
func startReplyServer(t *testing.T, bin, dsn string, stub *modelstub.Server, args ...string) *replyServer {
	t.Helper()
	env := []string{"HWLAB_DATABASE_URL=" + dsn, "ADVISOR_MODEL_URL=" + stub.BaseURL(), "ADVISOR_MODEL=stub"}
	p := startProcess(t, bin, t.TempDir(), env, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	return &replyServer{p: p, base: p.waitFor(t, servingRe)[1]}
}

// numberedStub is a stub model whose every answer is NumberedText(tokens)
// at rate tokens a second.
func numberedStub(t *testing.T, tokens int, rate float64) (*modelstub.Server, string) {
	t.Helper()
	s := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: tokens, Rate: rate})
	t.Cleanup(s.Close)
	return s, modelstub.NumberedText(tokens)
}

// apiMessage is a message as the API shows it.
type apiMessage struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Content string `json:"content"`
	Status  string `json:"status"`
}

func (s *replyServer) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

func (s *replyServer) create(t *testing.T) string {
	t.Helper()
	code, b := s.do(t, "POST", "/api/conversations", `{}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	return idOf(t, string(b))
}

// messages is the conversation's thread as GET /api/conversations/{id}
// shows it.
func (s *replyServer) messages(t *testing.T, id string) []apiMessage {
	t.Helper()
	code, b := s.do(t, "GET", "/api/conversations/"+id, "")
	if code != http.StatusOK {
		t.Fatalf("get %s: %d %s", id, code, b)
	}
	var c struct {
		Messages []apiMessage `json:"messages"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("get %s: %v: %s", id, err, b)
	}
	return c.Messages
}

// reply is the conversation's last message, which must be an assistant's.
func (s *replyServer) reply(t *testing.T, id string) apiMessage {
	t.Helper()
	ms := s.messages(t, id)
	if len(ms) == 0 || ms[len(ms)-1].Role != "assistant" {
		t.Fatalf("conversation %s: no reply in %+v", id, ms)
	}
	return ms[len(ms)-1]
}

// waitStoredText polls the conversation until its reply is streaming with
// at least one flush of text, and returns that text. Polling, because a
// flush is a write to the database that no event announces to a client;
// the deadline only bounds a broken run.
func (s *replyServer) waitStoredText(t *testing.T, id string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ms := s.messages(t, id)
		if n := len(ms); n > 0 && ms[n-1].Role == "assistant" && ms[n-1].Status == "streaming" && ms[n-1].Content != "" {
			return ms[n-1].Content
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace, not synchronisation
	}
	t.Fatalf("conversation %s: no streaming reply with text: %+v", id, s.messages(t, id))
	return ""
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ name, id, data string }

// sseStream reads a text/event-stream response event by event.
type sseStream struct {
	res *http.Response
	sc  *bufio.Scanner
}

// openSSE sends a request that answers SSE and checks that it does.
func (s *replyServer) openSSE(t *testing.T, method, path, body string) *sseStream {
	t.Helper()
	st := s.trySSE(t, method, path, body)
	if st == nil {
		t.Fatalf("%s %s: 204, nothing in flight", method, path)
	}
	return st
}

// resume follows the conversation's reply in flight (GET …/stream) from
// byte off on (Last-Event-ID); nil when nothing is in flight (204).
func (s *replyServer) resume(t *testing.T, id string, off int) *sseStream {
	t.Helper()
	return s.trySSE(t, "GET", "/api/conversations/"+id+"/stream", "", "Last-Event-ID", strconv.Itoa(off))
}

// trySSE is openSSE with extra header names and values (hdr, in pairs)
// that answers nil for a 204.
func (s *replyServer) trySSE(t *testing.T, method, path, body string, hdr ...string) *sseStream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode == http.StatusNoContent {
		return nil
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &sseStream{res, sc}
}

// next returns the next event (comments skipped), ok false at the end of
// the stream.
func (r *sseStream) next() (ev sseEvent, ok bool) {
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "" && ev.name != "":
			return ev, true
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[len("data: "):]
		}
	}
	return ev, false
}

// tokens reads token events, appending their deltas to *text, until until
// says stop (given the text so far) or another event comes, which it
// returns. It checks that each token's id is the byte offset of the text
// after it.
func (r *sseStream) tokens(t *testing.T, text *string, until func(string) bool) (sseEvent, bool) {
	t.Helper()
	for {
		ev, ok := r.next()
		if !ok || ev.name != "token" {
			return ev, ok
		}
		var d struct {
			Delta string `json:"delta"`
		}
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
			t.Fatalf("token %q: %v", ev.data, err)
		}
		*text += d.Delta
		if ev.id != strconv.Itoa(len(*text)) {
			t.Fatalf("token id %s after %d bytes of text", ev.id, len(*text))
		}
		if until != nil && until(*text) {
			return ev, true
		}
	}
}

// expect reads the next event, which must be called name, and returns its
// data.
func (r *sseStream) expect(t *testing.T, name string) string {
	t.Helper()
	ev, ok := r.next()
	if !ok || ev.name != name {
		t.Fatalf("event %+v (stream open: %v), want %s", ev, ok, name)
	}
	return ev.data
}

// checkPrefix fails unless got is a prefix of full holding at least seen
// (itself a prefix of got).
func checkPrefix(t *testing.T, what, got, seen, full string) {
	t.Helper()
	if !strings.HasPrefix(full, got) {
		t.Errorf("%s %q is not a prefix of what the model sent", what, got)
	}
	if !strings.HasPrefix(got, seen) {
		t.Errorf("%s %q lost text a client already saw: %q", what, got, seen)
	}
}

// TestReplySurvivesSIGKILL: a real `advisor serve` killed mid-reply leaves
// the reply streaming with the text of its flushes. It is ended
// interrupted, with that text kept (a non-empty prefix of what the model
// sent, at least as long as what was visible before the kill), either by
// the same --instance started again (at once, before it serves), or by
// another live instance once the lease has expired.
func TestReplySurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	for _, tt := range []struct {
		name string
		// before starts what runs beside the doomed process, after
		// whatever ends its reply; ended matches that one's log line.
		before, after func(t *testing.T, dsn string, stub *modelstub.Server) *replyServer
		ended         *regexp.Regexp
	}{
		{"restarted", nil, func(t *testing.T, dsn string, stub *modelstub.Server) *replyServer {
			return startReplyServer(t, bin, dsn, stub, "--instance", "crashy")
		}, regexp.MustCompile(`msg="replies left streaming by the previous run ended interrupted" count=1`)},
		{"noticed by another instance", func(t *testing.T, dsn string, stub *modelstub.Server) *replyServer {
			return startReplyServer(t, bin, dsn, stub, "--instance", "survivor", "--lease-ttl", "1s")
		}, nil, regexp.MustCompile(`msg="replies of a lost instance ended interrupted" count=1`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.Migrated(t)
			stub, full := numberedStub(t, 4000, 20) // minutes of reply: it is still running at the kill
			var other *replyServer
			if tt.before != nil {
				other = tt.before(t, dsn, stub)
			}
			a := startReplyServer(t, bin, dsn, stub, "--instance", "crashy")
			id := a.create(t)
			a.openSSE(t, "POST", "/api/conversations/"+id+"/chat", `{"content":"count"}`).expect(t, "user")

			visible := a.waitStoredText(t, id)
			if err := a.p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = a.p.exit(t) // killed: its error is the signal
			if ws := a.p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("first serve ended %v, not by SIGKILL:\n%s", a.p.cmd.ProcessState, a.p.output())
			}
			if tt.after != nil {
				other = tt.after(t, dsn, stub)
			}
			other.p.waitFor(t, tt.ended)
			r := other.reply(t, id)
			if r.Status != "interrupted" || r.Content == "" {
				t.Fatalf("reply after the kill: %q with %d bytes, want interrupted with text", r.Status, len(r.Content))
			}
			checkPrefix(t, "interrupted reply", r.Content, visible, full)
			// Nothing is in flight any more: the lease went with the sweep.
			if code, body := other.do(t, "POST", "/api/conversations/"+id+"/stop", `{}`); code != http.StatusConflict {
				t.Errorf("stop after the kill: %d %s, want 409 (nothing in flight)", code, body)
			}
		})
	}
}

// startChatSSE posts a chat on s as SSE and returns the stream once its
// reply event came: the reply is then in the database, with its lease.
func (s *replyServer) startChatSSE(t *testing.T, id string) (*sseStream, apiMessage) {
	t.Helper()
	st := s.openSSE(t, "POST", "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	st.expect(t, "user")
	var m apiMessage
	if err := json.Unmarshal([]byte(st.expect(t, "reply")), &m); err != nil {
		t.Fatal(err)
	}
	return st, m
}

// endMessage reads the rest of a reply's stream: its tokens into *text,
// then its last event, which must be name; it returns that event's
// message (for error, its "message").
func (r *sseStream) endMessage(t *testing.T, text *string, name string) apiMessage {
	t.Helper()
	ev, ok := r.tokens(t, text, nil)
	if !ok || ev.name != name {
		t.Fatalf("stream ended with %+v (open: %v), want %s", ev, ok, name)
	}
	var m apiMessage
	if name == "error" {
		var e struct {
			Message apiMessage `json:"message"`
		}
		if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
			t.Fatal(err)
		}
		return e.Message
	}
	if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRepliesAcrossProcesses: two real `advisor serve` processes on one
// database. A chat started on A is followed through B's /stream, whose
// reader sees the text grow before the end and gets exactly what the model
// sent; another chat on A is stopped through B's /stop and ends stopped
// with its text. Both leases live 3 s and both generations run longer than
// that, with each process sweeping every 1.5 s: a live generation taken for
// a dead one would end interrupted, and none does.
func TestRepliesAcrossProcesses(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	dsn := pgtest.Migrated(t)
	const tokens, rate = 400, 40 // 10 s a reply
	stub, full := numberedStub(t, tokens, rate)
	a := startReplyServer(t, bin, dsn, stub, "--instance", "a", "--lease-ttl", "3s")
	b := startReplyServer(t, bin, dsn, stub, "--instance", "b", "--lease-ttl", "3s")
	// Past the lease's TTL into the reply: 170 tokens at 40 a second.
	pastTTL := len(modelstub.NumberedText(170))

	// Each chat starts in its subtest: a parallel subtest may wait for a
	// free slot longer than a reply lasts. ids[0] resumed, ids[1] stopped.
	var ids [2]string
	t.Run("resume through B", func(t *testing.T) {
		t.Parallel()
		resumed := a.create(t)
		ids[0] = resumed
		onA, replyA := a.startChatSSE(t, resumed)
		onB := b.openSSE(t, "GET", "/api/conversations/"+resumed+"/stream", "")
		var r apiMessage
		if err := json.Unmarshal([]byte(onB.expect(t, "reply")), &r); err != nil || r.ID != replyA.ID || r.Status != "streaming" {
			t.Fatalf("B's reply event: %+v %v, want %s streaming", r, err, replyA.ID)
		}
		var text string
		ev, _ := onB.tokens(t, &text, func(string) bool { return true })
		if ev.name != "token" || len(text) >= len(full) {
			t.Fatalf("B's first event %+v with %d bytes: the text did not arrive before the end", ev, len(text))
		}
		done := onB.endMessage(t, &text, "done")
		if text != full || done.Status != "complete" || done.Content != full {
			t.Errorf("through B: %d bytes, done %q with %d bytes; want the %d bytes the model sent, complete",
				len(text), done.Status, len(done.Content), len(full))
		}
		var onAText string
		if m := onA.endMessage(t, &onAText, "done"); onAText != full || m.Status != "complete" {
			t.Errorf("on A: %d bytes, %q", len(onAText), m.Status)
		}
	})
	t.Run("stop through B", func(t *testing.T) {
		t.Parallel()
		stopped := a.create(t)
		ids[1] = stopped
		stopA, stopReply := a.startChatSSE(t, stopped)
		onB := b.openSSE(t, "GET", "/api/conversations/"+stopped+"/stream", "")
		onB.expect(t, "reply")
		var seen string
		if ev, ok := onB.tokens(t, &seen, func(s string) bool { return len(s) > pastTTL }); !ok || ev.name != "token" {
			t.Fatalf("B's stream ended early with %+v after %d bytes", ev, len(seen))
		}
		code, body := b.do(t, "POST", "/api/conversations/"+stopped+"/stop", `{}`)
		var m apiMessage
		if code != http.StatusOK || json.Unmarshal(body, &m) != nil || m.ID != stopReply.ID || m.Status != "stopped" {
			t.Fatalf("stop through B: %d %s, want 200 with reply %s stopped", code, body, stopReply.ID)
		}
		checkPrefix(t, "stopped reply", m.Content, seen, full)
		if m.Content == full {
			t.Error("the stopped reply holds the whole text: the stop did nothing")
		}
		if end := onB.endMessage(t, &seen, "done"); end.Status != "stopped" || end.Content != m.Content || seen != m.Content {
			t.Errorf("B's reader: done %q, %d bytes read, want stopped with the %d stored", end.Status, len(seen), len(m.Content))
		}
		var onAText string
		if end := stopA.endMessage(t, &onAText, "done"); end.Status != "stopped" || onAText != m.Content {
			t.Errorf("A's reader: done %q, %d bytes read, want stopped with the %d stored", end.Status, len(onAText), len(m.Content))
		}
	})
	t.Cleanup(func() {
		// After the subtests: no reply of either conversation was ever
		// swept (they ended complete and stopped above, and a swept one
		// could not have), and no process logged a sweep.
		for _, s := range []*replyServer{a, b} {
			if out := s.p.output(); strings.Contains(out, "ended interrupted") {
				t.Errorf("a sweep ended a reply interrupted:\n%s", out)
			}
		}
		for _, id := range ids {
			if id == "" {
				continue // its subtest failed before it
			}
			for _, m := range a.messages(t, id) {
				if m.Status == "interrupted" {
					t.Errorf("conversation %s: reply %s interrupted", id, m.ID)
				}
			}
		}
	})
}

// TestReplyInterruptedBySIGTERM: SIGTERM with --shutdown-grace 1s while a
// long reply runs: the process exits 0 after the grace period, the
// reply's reader gets its end (error, with the reply interrupted), and the
// reply is stored interrupted with all the text it had.
func TestReplyInterruptedBySIGTERM(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	dsn := pgtest.Migrated(t)
	stub, full := numberedStub(t, 4000, 20) // minutes: far longer than the grace period
	s := startReplyServer(t, bin, dsn, stub, "--instance", "term", "--shutdown-grace", "1s")
	id := s.create(t)
	st, _ := s.startChatSSE(t, id)
	var seen string
	if ev, ok := st.tokens(t, &seen, func(string) bool { return true }); !ok || ev.name != "token" {
		t.Fatalf("no token: %+v", ev)
	}
	if err := s.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ev, ok := st.tokens(t, &seen, nil)
	exitErr := s.p.exit(t)
	if !ok || ev.name != "error" {
		t.Fatalf("the reader's stream ended with %+v (open: %v), want error:\n%s", ev, ok, s.p.output())
	}
	var e struct {
		Message apiMessage `json:"message"`
	}
	if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
		t.Fatal(err)
	}
	end := e.Message
	if err := exitErr; err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, s.p.output())
	}
	if end.Status != "interrupted" || end.Content != seen {
		t.Errorf("the reader's end: %q with %d bytes, want interrupted with the %d it read", end.Status, len(end.Content), len(seen))
	}
	// The process is gone: read what it stored with another.
	r := startReplyServer(t, bin, dsn, stub, "--instance", "term-reader").reply(t, id)
	if r.Status != "interrupted" || r.Content != end.Content {
		t.Errorf("stored: %q with %d bytes, want interrupted with %d", r.Status, len(r.Content), len(end.Content))
	}
	checkPrefix(t, "interrupted reply", r.Content, seen, full)
}

// TestShortLeaseWhileModelLoads: with --lease-ttl 1s on two processes, a
// generation on A whose model has not sent its first token (no text, so
// no chunk to flush) keeps renewing its lease, and B's sweeps (every
// 0.5 s) leave it alone; released, it ends complete. The lease used to be
// renewed every 2 s whatever the TTL, so B ended it interrupted.
func TestShortLeaseWhileModelLoads(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	dsn := pgtest.Migrated(t)
	stub, full := numberedStub(t, 20, 0)
	t.Cleanup(stub.Release)
	stub.SetMode(modelstub.HoldFirstToken)
	a := startReplyServer(t, bin, dsn, stub, "--instance", "a", "--lease-ttl", "1s")
	b := startReplyServer(t, bin, dsn, stub, "--instance", "b", "--lease-ttl", "1s")
	id := a.create(t)
	st, reply := a.startChatSSE(t, id)
	<-stub.Held()

	// Wait until the lease has lived three TTLs (several of B's sweeps),
	// or is gone. Polling: a renewal is a write that no event announces;
	// the deadline only bounds a broken run.
	db := pgtest.Open(t, dsn)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var lived float64
		err := db.QueryRow(`SELECT extract(epoch FROM heartbeat_at - started_at) FROM generations WHERE message_id = $1`, reply.ID).Scan(&lived)
		if err != nil {
			t.Fatalf("the lease of a live generation: %v\nA:\n%s\nB:\n%s", err, a.p.output(), b.p.output())
		}
		if lived > 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease was not renewed for three TTLs (lived %.1f s)", lived)
		}
	}
	stub.Release()
	var text string
	if m := st.endMessage(t, &text, "done"); m.Status != "complete" || text != full {
		t.Errorf("after the hold: %q with %q, want complete with %q", m.Status, text, full)
	}
}
