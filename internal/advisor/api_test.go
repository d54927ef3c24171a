//go:build integration

package advisor_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/peterldowns/pgtestdb"

	"git.georgsen.dk/hwlab/internal/advisor"
)

// TestConversationLifecycle walks the non-chat API: create (default and
// named model), raw append, get in order, list with paging, delete.
func TestConversationLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)

	r := f.do("POST", "/api/conversations", ``) // empty body: all defaults
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var c conversation
	r.json(t, &c)
	if c.Model != "stub-model" || c.Messages == nil || len(c.Messages) != 0 || c.Title != "" || c.StartedAt == "" {
		t.Fatalf("created %+v (%s)", c, r.body)
	}
	if loc := r.header.Get("Location"); loc != "/api/conversations/"+c.ID {
		t.Errorf("Location = %q", loc)
	}
	var blank conversation
	f.do("POST", "/api/conversations", `{"model":""}`).json(t, &blank)
	if blank.Model != "stub-model" {
		t.Errorf(`{"model":""} got model %q, want the default`, blank.Model)
	}
	r = f.do("POST", "/api/conversations", `{"model":"llama3.1:8b"}`)
	var named conversation
	r.json(t, &named)
	if r.status != http.StatusCreated || named.Model != "llama3.1:8b" {
		t.Fatalf("create named: %d %s", r.status, r.body)
	}

	for i, m := range [][2]string{{"system", "be brief"}, {"user", "first question"}, {"assistant", "an answer"}} {
		r := f.do("POST", "/api/conversations/"+c.ID+"/messages", fmt.Sprintf(`{"role":%q,"content":%q}`, m[0], m[1]))
		var msg message
		r.json(t, &msg)
		if r.status != http.StatusCreated || msg.Role != m[0] || msg.Content != m[1] || msg.ConversationID != c.ID || msg.ID == "" || msg.CreatedAt == "" {
			t.Fatalf("append %d: %d %s", i, r.status, r.body)
		}
	}
	r = f.do("GET", "/api/conversations/"+c.ID, "")
	var got conversation
	r.json(t, &got)
	if r.status != 200 || len(got.Messages) != 3 || got.Messages[1].Content != "first question" || got.MessageCount != 3 || got.Title != "first question" {
		t.Fatalf("get: %d %s", r.status, r.body)
	}

	// Paging: three conversations, two pages of two at most.
	var page struct {
		Conversations []conversation `json:"conversations"`
		NextCursor    string         `json:"next_cursor"`
	}
	f.do("GET", "/api/conversations?limit=2", "").json(t, &page)
	if len(page.Conversations) != 2 || page.NextCursor == "" {
		t.Fatalf("page 1: %+v", page)
	}
	seen := map[string]bool{page.Conversations[0].ID: true, page.Conversations[1].ID: true}
	f.do("GET", "/api/conversations?limit=2&cursor="+page.NextCursor, "").json(t, &page)
	if len(page.Conversations) != 1 || seen[page.Conversations[0].ID] || page.NextCursor != "" {
		t.Fatalf("page 2: %+v", page)
	}

	if r := f.do("DELETE", "/api/conversations/"+c.ID, ""); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/conversations/"+c.ID, ""); r.status != http.StatusNotFound {
		t.Fatalf("get after delete: %d %s", r.status, r.body)
	}
	if r := f.do("DELETE", "/api/conversations/"+c.ID, ""); r.status != http.StatusNotFound {
		t.Fatalf("delete twice: %d %s", r.status, r.body)
	}
}

// TestTitle: the first user message names a conversation; PATCH renames it
// and returns the summary; the listing shows it.
func TestTitle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"  How should I\nsplit the VLANs on the core switch for the lab and the family?"}`)
	if r.status != 200 {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	var c conversation
	f.do("GET", "/api/conversations/"+id, "").json(t, &c)
	if want := "How should I split the VLANs on the core switch for the lab"; c.Title != want {
		t.Errorf("default title %q, want %q", c.Title, want)
	}
	r = f.do("PATCH", "/api/conversations/"+id, `{"title":"VLAN plan"}`)
	var s conversation
	r.json(t, &s)
	if r.status != 200 || s.Title != "VLAN plan" || s.ID != id || s.MessageCount != 2 || s.Messages != nil {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var page struct {
		Conversations []conversation `json:"conversations"`
	}
	f.do("GET", "/api/conversations", "").json(t, &page)
	if len(page.Conversations) != 1 || page.Conversations[0].Title != "VLAN plan" || page.Conversations[0].MessageCount != 2 {
		t.Fatalf("list: %+v", page)
	}
	for _, tt := range []struct {
		body   string
		path   string
		status int
	}{
		{`{}`, id, http.StatusBadRequest},
		{`{"title":"` + strings.Repeat("x", 1025) + `"}`, id, http.StatusBadRequest},
		{`{"title":"x"}`, "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11", http.StatusNotFound},
	} {
		if r := f.do("PATCH", "/api/conversations/"+tt.path, tt.body); r.status != tt.status {
			t.Errorf("PATCH %s %.40s: %d %s, want %d", tt.path, tt.body, r.status, r.body, tt.status)
		}
	}
}

// TestHealthz: 200 while the database answers, 503 without internals once
// it does not.
func TestHealthz(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if r := f.do("GET", "/healthz", ""); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	f.st.Close()
	r := f.do("GET", "/healthz", "")
	if r.status != http.StatusServiceUnavailable || r.errorMsg(t) != "database unreachable" {
		t.Fatalf("healthz on a closed store: %d %s", r.status, r.body)
	}
	// Any other failure is a generic 500, logged with its detail.
	r = f.do("GET", "/api/conversations", "")
	if r.status != http.StatusInternalServerError || r.errorMsg(t) != "internal error" {
		t.Fatalf("list on a closed store: %d %s", r.status, r.body)
	}
	if !f.recs.has(slog.LevelError, slog.Int("status", http.StatusInternalServerError)) || strings.Contains(f.logs.String(), pgtestdb.DefaultRolePassword) {
		t.Errorf("5xx not logged, or a password logged:\n%s", f.logs.String())
	}
}

// TestNoModel: without a model the server browses, appends and deletes,
// and chat/reply answer 503 naming the variables, storing nothing.
func TestNoModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *advisor.Config) { c.Model = nil })
	id := f.create()
	for _, path := range []string{"/chat", "/reply"} {
		r := f.do("POST", "/api/conversations/"+id+path, `{"content":"hi"}`)
		if path == "/reply" {
			r = f.do("POST", "/api/conversations/"+id+path, `{}`)
		}
		msg := r.errorMsg(t)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(msg, "ADVISOR_MODEL_URL") || !strings.Contains(msg, "ADVISOR_MODEL") {
			t.Errorf("%s: %d %q", path, r.status, msg)
		}
	}
	if n := len(f.thread(id)); n != 0 {
		t.Errorf("%d messages stored without a model", n)
	}
	if r := f.do("POST", "/api/conversations/"+id+"/messages", `{"role":"user","content":"raw"}`); r.status != http.StatusCreated {
		t.Errorf("raw append without a model: %d", r.status)
	}
	if r := f.do("DELETE", "/api/conversations/"+id, ""); r.status != http.StatusNoContent {
		t.Errorf("delete without a model: %d", r.status)
	}
	if len(f.stub.Requests()) != 0 {
		t.Error("the stub was called")
	}
	// serve warns once at start-up; the expected 503s are not errors.
	if logs := f.logs.String(); strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "status=503") {
		t.Errorf("want the 503s logged below ERROR:\n%s", logs)
	}
}

// TestConfigEndpoint: the page learns up front whether a model is set.
func TestConfigEndpoint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		model bool
	}{{"with a model", true}, {"without a model", false}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(cfg *advisor.Config) {
				if !c.model {
					cfg.Model = nil
				}
			})
			r := f.do("GET", "/api/config", "")
			var got struct {
				ModelConfigured bool   `json:"model_configured"`
				DefaultModel    string `json:"default_model"`
			}
			r.json(t, &got)
			if r.status != http.StatusOK || got.ModelConfigured != c.model || got.DefaultModel != "stub-model" {
				t.Errorf("GET /api/config = %d %+v, want model_configured=%v", r.status, got, c.model)
			}
		})
	}
}

// TestPage: the embedded page and its assets are served, with a CSP.
func TestPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.do("GET", "/", "")
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "<html") {
		t.Fatalf("GET /: %d %s %.80s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if r := f.do("GET", "/static/app.js", ""); r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "javascript") {
		t.Errorf("GET /static/app.js: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := f.do("GET", "/nope", ""); r.status != http.StatusNotFound {
		t.Errorf("GET /nope: %d", r.status)
	}

}

// TestSummaryWithoutThread: create and PATCH answer with the summary
// without reading the thread. The test takes the messages table's SELECT
// privilege away from the store's role; the thread's endpoints then fail,
// these two must not.
func TestSummaryWithoutThread(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	if r := f.do("POST", "/api/conversations/"+id+"/messages", `{"role":"user","content":"first"}`); r.status != http.StatusCreated {
		t.Fatalf("append: %d %s", r.status, r.body)
	}
	if _, err := f.st.DB().Exec(`REVOKE SELECT ON messages FROM CURRENT_USER`); err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/api/conversations/"+id, ""); r.status != http.StatusInternalServerError {
		t.Fatalf("the revoke did not take: GET %d %s", r.status, r.body)
	}
	r := f.do("PATCH", "/api/conversations/"+id, `{"title":"renamed"}`)
	var s conversation
	r.json(t, &s)
	if r.status != 200 || s.Title != "renamed" || s.MessageCount != 1 || s.ID != id {
		t.Fatalf("PATCH read the thread: %d %s", r.status, r.body)
	}
	r = f.do("POST", "/api/conversations", `{}`)
	var c conversation
	r.json(t, &c)
	if r.status != http.StatusCreated || c.Messages == nil || len(c.Messages) != 0 || c.Model != "stub-model" {
		t.Fatalf("create read the thread: %d %s", r.status, r.body)
	}
}
