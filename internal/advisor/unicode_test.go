//go:build integration

package advisor_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestInvalidUnicodeRejected: a body with invalid UTF-8 bytes, or a JSON
// string with an unpaired surrogate escape, is a 400 on every endpoint that
// takes text (encoding/json alone would store U+FFFD instead), and changes
// nothing: no message, no conversation, no title, no model call.
func TestInvalidUnicodeRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	base := "/api/conversations/" + id
	bad := []struct{ name, text string }{
		{"raw invalid byte", "a\xffb"},
		{"raw surrogate bytes", "a\xed\xa0\x80b"}, // CESU-style U+D800
		{"escaped high surrogate", `a\ud800b`},
		{"escaped low surrogate", `\udc00`},
		{"reversed pair", `\ude00\ud83d`},
	}
	for _, b := range bad {
		for _, ep := range []struct{ name, method, path, body string }{
			{"messages", "POST", base + "/messages", `{"role":"user","content":"` + b.text + `"}`},
			{"chat", "POST", base + "/chat", `{"content":"` + b.text + `"}`},
			{"create model", "POST", "/api/conversations", `{"model":"` + b.text + `"}`},
			{"patch title", "PATCH", base, `{"title":"` + b.text + `"}`},
		} {
			t.Run(b.name+"/"+ep.name, func(t *testing.T) {
				if r := f.do(ep.method, ep.path, ep.body); r.status != http.StatusBadRequest {
					t.Errorf("%d %s, want 400", r.status, r.body)
				}
			})
		}
	}
	var c conversation
	f.do("GET", base, "").json(t, &c)
	var page struct {
		Conversations []conversation `json:"conversations"`
	}
	f.do("GET", "/api/conversations", "").json(t, &page)
	if len(c.Messages) != 0 || c.Title != "" || len(page.Conversations) != 1 || len(f.stub.Requests()) != 0 {
		t.Fatalf("something changed: %+v, %d conversations, %d model calls", c, len(page.Conversations), len(f.stub.Requests()))
	}

	// Valid text round-trips byte for byte: a surrogate pair escape, a
	// literal U+FFFD, escaped controls.
	want := "😀 \ufffd \x01 <&> é"
	r := f.do("POST", base+"/messages", `{"role":"user","content":"\ud83d\ude00 \ufffd \u0001 \u003c\u0026\u003e \u00e9"}`)
	var m message
	r.json(t, &m)
	if r.status != http.StatusCreated || m.Content != want {
		t.Fatalf("valid escapes: %d %q", r.status, m.Content)
	}
	if got := f.thread(id)[0].Content; got != want {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

// TestBodyLimitFitsEscapedContent: the largest content the store takes,
// written entirely in characters Go's encoder escapes as \u00XX (six bytes
// each), fits the default body limit and is stored whole (the old fixed
// 8 MiB limit refused it). With a smaller store limit the body limit
// follows it: one byte of content over is the store's 413, and a body
// beyond six times the content limit (plus slack) is the body limit's.
func TestBodyLimitFitsEscapedContent(t *testing.T) {
	t.Parallel()
	post := func(f *fixture, id, content string) response {
		body, err := json.Marshal(map[string]string{"role": "user", "content": content})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), `\u003c`) {
			t.Fatalf("not escaped: %.64s", body)
		}
		return f.do("POST", "/api/conversations/"+id+"/messages", string(body))
	}
	t.Run("default limits", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		id := f.create()
		content := strings.Repeat("<", store.DefaultMaxContentBytes)
		if r := post(f, id, content); r.status != http.StatusCreated {
			t.Fatalf("%d bytes of escaped content: %d %.200s", len(content), r.status, r.body)
		}
		if got := f.thread(id)[0].Content; got != content {
			t.Fatalf("stored %d bytes, want %d", len(got), len(content))
		}
	})
	t.Run("small store limit", func(t *testing.T) {
		t.Parallel()
		const limit = 1000
		f := newFixture(t, nil, store.WithMaxContentBytes(limit))
		id := f.create()
		if r := post(f, id, strings.Repeat("<", limit)); r.status != http.StatusCreated {
			t.Fatalf("content at the limit: %d %s", r.status, r.body)
		}
		if r := post(f, id, strings.Repeat("<", limit+1)); r.status != http.StatusRequestEntityTooLarge || r.errorMsg(t) != "content too large" {
			t.Fatalf("one byte over the store limit: %d %s", r.status, r.body)
		}
		if r := post(f, id, "<"+strings.Repeat("x", 6*limit+64<<10)); r.status != http.StatusRequestEntityTooLarge || r.errorMsg(t) != "request body too large" {
			t.Fatalf("a body over the derived limit: %d %s", r.status, r.body)
		}
	})
}
