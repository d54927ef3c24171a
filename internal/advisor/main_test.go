//go:build integration

package advisor_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// syncBuffer collects log output from handler goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logRecords keeps every log record's level and attributes, so tests match
// structured fields rather than a handler's wording.
type logRecords struct {
	mu    sync.Mutex
	recs  []slog.Record
	attrs []slog.Attr // WithAttrs of this handler
	root  *logRecords // where records go; nil: this one
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	root := l
	if l.root != nil {
		root = l.root
	}
	r = r.Clone()
	r.AddAttrs(l.attrs...)
	root.mu.Lock()
	defer root.mu.Unlock()
	root.recs = append(root.recs, r)
	return nil
}

func (l *logRecords) WithAttrs(as []slog.Attr) slog.Handler {
	root := l
	if l.root != nil {
		root = l.root
	}
	return &logRecords{attrs: append(append([]slog.Attr{}, l.attrs...), as...), root: root}
}

func (l *logRecords) WithGroup(string) slog.Handler { return l }

// has reports whether a record at level carries every attribute of want,
// compared by value.
func (l *logRecords) has(level slog.Level, want ...slog.Attr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if r.Level != level {
			continue
		}
		found := 0
		r.Attrs(func(a slog.Attr) bool {
			for _, w := range want {
				if a.Equal(w) {
					found++
				}
			}
			return true
		})
		if found >= len(want) {
			return true
		}
	}
	return false
}

// fixture is one advisor on a fresh migrated database with its own model
// stub, served on a loopback port.
type fixture struct {
	t    *testing.T
	st   *store.Store
	stub *modelstub.Server
	srv  *httptest.Server
	logs *syncBuffer
	recs *logRecords // the same records as logs, structured
	dsn  string
	h    *advisor.Server
}

// newFixture starts the handler; edit adjusts the config (nil Model stays
// nil only if edit sets noModel).
func newFixture(t *testing.T, edit func(*advisor.Config), storeOpts ...store.Option) *fixture {
	t.Helper()
	return newFixtureVia(t, nil, edit, storeOpts...)
}

// newFixtureVia is newFixture whose store connects to via(dsn) instead of
// the test database's DSN (a proxy in front of it); via nil is newFixture.
func newFixtureVia(t *testing.T, via func(string) string, edit func(*advisor.Config), storeOpts ...store.Option) *fixture {
	t.Helper()
	return newFixtureOn(t, pgtest.Migrated(t), via, modelstub.New(), edit, storeOpts...)
}

// newFixtureOn is a fixture on the database dsn with the stub model stub.
func newFixtureOn(t *testing.T, dsn string, via func(string) string, stub *modelstub.Server, edit func(*advisor.Config), storeOpts ...store.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, logs: &syncBuffer{}, recs: &logRecords{}, dsn: dsn}
	if via != nil {
		dsn = via(dsn)
	}
	// Connecting is set-up, not what a test measures: its own deadline
	// keeps it out of a short store timeout (WithTimeout) that a test
	// chose for the calls it makes later.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.NewStore(ctx, dsn, storeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	t.Cleanup(func() { st.Close() })
	f.stub = stub
	t.Cleanup(f.stub.Close)
	t.Cleanup(f.stub.Release) // never leave a held request behind
	model, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: f.stub.BaseURL(), APIKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(nil)
	cfg := advisor.Config{
		Store: st, Model: model, DefaultModel: "stub-model", SystemPrompt: "You are the lab advisor.",
		Addr:   f.srv.Listener.Addr().String(),
		Logger: slog.New(slog.NewMultiHandler(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}), f.recs)),
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := advisor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Config.Handler = h
	f.srv.Start()
	t.Cleanup(f.srv.Close) // runs before st.Close: handlers finish first
	// Before srv.Close and st.Close: the generations still running end
	// interrupted and are stored while the store is open.
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		h.Shutdown(ctx)
	})
	f.h = h
	return f
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %q: %v", r.status, r.body, err)
	}
}

func (r response) errorMsg(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.json(t, &e)
	if e.Error == "" {
		t.Fatalf("no error message in %q", r.body)
	}
	return e.Error
}

// do sends a request; state-changing ones get Content-Type
// application/json unless hdr sets one ("" removes it).
func (f *fixture) do(method, path, body string, hdr ...string) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

type message struct {
	ID               string   `json:"id"`
	ConversationID   string   `json:"conversation_id"`
	ParentID         *string  `json:"parent_id"`
	Siblings         []string `json:"siblings"`
	Role             string   `json:"role"`
	Content          string   `json:"content"`
	CreatedAt        string   `json:"created_at"`
	Status           string   `json:"status"`
	Model            *string  `json:"model"`
	FinishReason     *string  `json:"finish_reason"`
	PromptTokens     *int     `json:"prompt_tokens"`
	CompletionTokens *int     `json:"completion_tokens"`
	FirstTokenMS     *int     `json:"first_token_ms"`
	DurationMS       *int     `json:"duration_ms"`
}

type conversation struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Model        string    `json:"model"`
	StartedAt    string    `json:"started_at"`
	MessageCount int       `json:"message_count"`
	ActiveID     *string   `json:"active_message_id"`
	Messages     []message `json:"messages"`
}

func (f *fixture) create() string {
	f.t.Helper()
	r := f.do("POST", "/api/conversations", `{}`)
	if r.status != http.StatusCreated {
		f.t.Fatalf("create: %d %s", r.status, r.body)
	}
	var c conversation
	r.json(f.t, &c)
	return c.ID
}

// thread reads the stored conversation straight from the store.
func (f *fixture) thread(id string) []store.Message {
	f.t.Helper()
	c, err := f.st.GetConversation(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Messages
}

// tree reads every message of every branch, in append order.
func (f *fixture) tree(id string) []store.Message {
	f.t.Helper()
	c, err := f.st.GetConversationTree(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Messages
}

// roles lists the messages' roles, a reply's status after it when it is
// not complete: "user,assistant:failed".
func roles(msgs []store.Message) string {
	var rs []string
	for _, m := range msgs {
		r := m.Role
		if m.Status != store.StatusComplete {
			r += ":" + m.Status
		}
		rs = append(rs, r)
	}
	return strings.Join(rs, ",")
}

// event is one SSE event; comment lines are recorded as event "comment".
type event struct {
	name string
	data string
	id   string
}

// sseReader reads events one at a time, so a test can act mid-stream.
type sseReader struct {
	res *http.Response
	sc  *bufio.Scanner
}

func (f *fixture) openStream(ctx context.Context, path, body string) *sseReader {
	f.t.Helper()
	return f.openSSE(ctx, "POST", path, body)
}

// openSSE opens an SSE stream; hdr are header name, value pairs.
func (f *fixture) openSSE(ctx context.Context, method, path, body string, hdr ...string) *sseReader {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { res.Body.Close() })
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		b, _ := io.ReadAll(res.Body)
		f.t.Fatalf("stream: %d %s %s", res.StatusCode, ct, b)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &sseReader{res, sc}
}

// next returns the next event, or ok=false at the end of the stream.
func (s *sseReader) next() (event, bool) {
	var ev event
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && (ev.name != "" || ev.data != ""):
			return ev, true
		case strings.HasPrefix(line, ":"):
			return event{name: "comment", data: strings.TrimSpace(line[1:])}, true
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[len("data: "):]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[len("id: "):]
		}
	}
	return ev, false
}

// all reads the rest of the stream.
func (s *sseReader) all() []event {
	var evs []event
	for {
		ev, ok := s.next()
		if !ok {
			return evs
		}
		evs = append(evs, ev)
	}
}
