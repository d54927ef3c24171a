//go:build integration

package advisor_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type searchPage struct {
	Hits []struct {
		ConversationID    string  `json:"conversation_id"`
		ConversationTitle string  `json:"conversation_title"`
		MessageID         *string `json:"message_id"`
		Role              *string `json:"role"`
		CreatedAt         string  `json:"created_at"`
		Snippet           struct {
			Text       string `json:"text"`
			Highlights []struct {
				Start int `json:"start"`
				End   int `json:"end"`
			} `json:"highlights"`
		} `json:"snippet"`
	} `json:"hits"`
	NextCursor *string `json:"next_cursor"`
}

// TestSearchAPI: GET /api/search answers hits with the wire's fields, a
// title hit with null message_id and role, pages by cursor, and 400 for
// every bad input, 200 with no hits for stop words or operators only.
func TestSearchAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	f.do("POST", "/api/conversations/"+id+"/messages", `{"role":"user","content":"ZFS scrub on nvme0n1"}`)
	for range 3 {
		f.do("POST", "/api/conversations/"+id+"/messages", `{"role":"assistant","content":"The scrub of /dev/nvme0n1 found <b>no</b> errors"}`)
	}
	var page searchPage
	r := f.do("GET", "/api/search?q=nvme0n1&limit=2", "")
	r.json(t, &page)
	if r.status != http.StatusOK || len(page.Hits) != 2 || page.NextCursor == nil || *page.NextCursor == "" {
		t.Fatalf("first page: %d %s", r.status, r.body)
	}
	title := page.Hits[0] // the title "ZFS scrub on nvme0n1" ranks first
	if title.MessageID != nil || title.Role != nil || title.ConversationID != id || title.ConversationTitle != "ZFS scrub on nvme0n1" || title.CreatedAt == "" {
		t.Fatalf("title hit: %s", r.body)
	}
	if !strings.Contains(string(r.body), `"highlights":[{"start":13,"end":20}]`) {
		t.Fatalf("title highlight: %s", r.body)
	}
	r = f.do("GET", "/api/search?q=nvme0n1&limit=2&cursor="+url.QueryEscape(*page.NextCursor), "")
	r.json(t, &page)
	if r.status != http.StatusOK || len(page.Hits) != 2 || page.Hits[0].MessageID == nil || *page.Hits[0].Role != "user" && *page.Hits[0].Role != "assistant" {
		t.Fatalf("second page: %d %s", r.status, r.body)
	}
	// Stored text is plain text in JSON: the snippet holds "<b>" escaped.
	if !strings.Contains(string(r.body), `\u003cb\u003eno\u003c/b\u003e`) {
		t.Fatalf("snippet not escaped as text: %s", r.body)
	}
	if r := f.do("GET", "/api/search?q=nvme0n1", ""); r.status != http.StatusOK {
		t.Fatalf("default limit: %d %s", r.status, r.body)
	}

	for _, tc := range []struct {
		name, query string
		status      int
		hits        int
	}{
		{"no q", "", http.StatusBadRequest, 0},
		{"empty q", "q=", http.StatusBadRequest, 0},
		{"blank q", "q=%20%09", http.StatusBadRequest, 0},
		{"q over 1 KiB", "q=" + strings.Repeat("a", 1025), http.StatusBadRequest, 0},
		{"NUL", "q=zfs%00", http.StatusBadRequest, 0},
		{"invalid UTF-8", "q=zfs%FF", http.StatusBadRequest, 0},
		{"limit 0", "q=zfs&limit=0", http.StatusBadRequest, 0},
		{"limit 101", "q=zfs&limit=101", http.StatusBadRequest, 0},
		{"limit not a number", "q=zfs&limit=ten", http.StatusBadRequest, 0},
		{"malformed cursor", "q=zfs&cursor=%21%21", http.StatusBadRequest, 0},
		{"stop words", "q=the+of+a", http.StatusOK, 0},
		{"operators", "q=" + url.QueryEscape(`- * "" -"" & | ! <->`), http.StatusOK, 0},
		{"exclusion only", "q=-zfs", http.StatusOK, 0},
		{"SQL", "q=" + url.QueryEscape(`'; DROP TABLE messages; --`), http.StatusOK, 0},
		{"unbalanced quote", "q=" + url.QueryEscape(`"zfs scrub`), http.StatusOK, 2},
	} {
		r := f.do("GET", "/api/search?"+tc.query, "")
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
			continue
		}
		if tc.status == http.StatusOK {
			var p searchPage
			r.json(t, &p)
			if len(p.Hits) != tc.hits || p.Hits == nil {
				t.Errorf("%s: %s, want %d hits", tc.name, r.body, tc.hits)
			}
		} else if msg := r.errorMsg(t); strings.Contains(msg, "store") {
			t.Errorf("%s: error shows internals: %q", tc.name, msg)
		}
	}
	if r := f.do("GET", "/api/conversations/"+id, ""); r.status != http.StatusOK {
		t.Fatalf("the thread after the searches: %d", r.status)
	}
}
