//go:build integration

package advisor_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStrictBodies: request bodies follow package wire's rule. Each case
// was accepted by the encoding/json decoder (names matched in any case, the
// last of two equal names won: 201 and a message stored), or answered with
// Go's internals (`json: cannot unmarshal array into Go value of type
// struct { Role *string "json:\"role\""; … }`). Now each is a 400 whose
// message says what is wrong in JSON's terms, and nothing is stored.
func TestStrictBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	base := "/api/conversations/" + id
	for _, tc := range []struct {
		name, method, path, body, msg string
	}{
		{"names differ in case", "POST", base + "/messages", `{"Role":"user","CONTENT":"x"}`, `bad JSON: /Role: unknown field (at byte 1)`},
		{"duplicate name", "POST", base + "/messages", `{"role":"user","content":"a","content":"b"}`, `bad JSON: /content: duplicate field (at byte 29)`},
		{"duplicate title", "PATCH", base, `{"title":"a","title":"b"}`, `bad JSON: /title: duplicate field (at byte 13)`},
		{"chat field in upper case", "POST", base + "/chat", `{"Content":"x"}`, `bad JSON: /Content: unknown field (at byte 1)`},
		{"array for the object", "POST", base + "/messages", `[1,2,3]`, `bad JSON: want an object, got an array (at byte 0)`},
		{"number for a string", "POST", base + "/messages", `{"role":"user","content":5}`, `bad JSON: /content: want a string, got a number (at byte 25)`},
		{"string for the object", "POST", "/api/conversations", `"m"`, `bad JSON: want an object, got a string (at byte 0)`},
		{"unpaired surrogate", "POST", base + "/messages", `{"role":"user","content":"\ud800"}`, `bad JSON: /content: unpaired UTF-16 surrogate escape: text must be valid Unicode (at byte 26)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.method, tc.path, tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", r.status, r.body)
			}
			msg := r.errorMsg(t)
			if msg != tc.msg {
				t.Errorf("error %q, want %q", msg, tc.msg)
			}
			for _, internal := range []string{"Go ", "struct", "*string", "json:", "unmarshal"} {
				if strings.Contains(msg, internal) {
					t.Errorf("%q shows Go internals (%q)", msg, internal)
				}
			}
		})
	}
	if n := len(f.thread(id)); n != 0 {
		t.Errorf("%d messages stored by rejected requests", n)
	}
	var c conversation
	f.do("GET", base, "").json(t, &c)
	if c.Title != "" {
		t.Errorf("title %q set by a rejected request", c.Title)
	}
}
