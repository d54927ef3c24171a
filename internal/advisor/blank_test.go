//go:build integration

package advisor_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestBlankContentRefused: one rule on every API write path: content that
// is empty or only white space is a 400 naming the field, and nothing is
// stored. (The raw append stored an empty assistant message with 201, and
// /reply then answered 409.)
func TestBlankContentRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create()
	for _, blank := range []string{``, `  \n\t\r`, `\u00a0\u2003\u3000`} {
		for _, w := range []struct{ path, body string }{
			{"/messages", `{"role":"assistant","content":"%s"}`},
			{"/messages", `{"role":"user","content":"%s"}`},
			{"/messages", `{"role":"system","content":"%s"}`},
			{"/chat", `{"content":"%s"}`},
		} {
			body := fmt.Sprintf(w.body, blank)
			r := f.do("POST", "/api/conversations/"+id+w.path, body)
			if r.status != 400 || !strings.Contains(string(r.body), `field \"content\" is required and must not be blank`) {
				t.Errorf("POST %s %s: %d %s", w.path, body, r.status, r.body)
			}
		}
	}
	if n := len(f.thread(id)); n != 0 {
		t.Fatalf("blank writes stored %d messages", n)
	}
	// Not blank is fine, however little: the rule is about blank, not short.
	if r := f.do("POST", "/api/conversations/"+id+"/messages", `{"role":"assistant","content":" ."}`); r.status != 201 {
		t.Errorf("raw append of \" .\": %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/api/conversations/"+id+"/messages", `{"content":"x"}`); r.status != 400 || !strings.Contains(string(r.body), `field \"role\" is required`) {
		t.Errorf("raw append without a role: %d %s", r.status, r.body)
	}
}
