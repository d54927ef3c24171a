//go:build integration

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/wire"
)

// TestConversationsSearch: the text answer marks the matches and prints a
// "more:" line that pastes as the next page; --json is the API's answer;
// bad input exits 1 or 2 with a clear message.
func TestConversationsSearch(t *testing.T) {
	t.Parallel()
	url, ids := seeded(t)
	env := dbEnv(url)
	r := runAdvisor(t, env, "conversations", "search", "line two")
	mustSucceed(t, r, "search")
	contains(t, r.stdout, ids[0], "search")
	contains(t, r.stdout, "title", "search") // the title is the first user message
	contains(t, r.stdout, "[line] one^J[line] [two]", "search")

	r = runAdvisor(t, env, "conversations", "search", "--limit", "1", "--json", "line")
	mustSucceed(t, r, "search --json")
	var page wire.SearchPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("search --json: %v\n%s", err, r.stdout)
	}
	if len(page.Hits) != 1 || page.Hits[0].MessageID != nil || page.NextCursor == "" || len(page.Hits[0].Snippet.Highlights) != 2 {
		t.Fatalf("search --json = %s", r.stdout)
	}
	r = runAdvisor(t, env, "conversations", "search", "--limit", "1", "line")
	more := r.stdout[strings.Index(r.stdout, "more: advisor ")+len("more: advisor "):]
	args := strings.Fields(strings.TrimSpace(more))
	args[len(args)-1] = strings.Trim(args[len(args)-1], "'")
	r = runAdvisor(t, env, args...)
	mustSucceed(t, r, "the more: line")
	contains(t, r.stdout, "user", "page 2")

	if r := runAdvisor(t, env, "conversations", "search", "the"); r.code != 0 || !strings.Contains(r.stdout, "No hits") {
		t.Errorf("stop words only: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{" "}, 1, "invalid search query"},
		{[]string{"--limit", "0", "x"}, 2, "--limit must be 1..100"},
		{[]string{"--cursor", "garbage", "x"}, 1, "invalid cursor"},
		{[]string{}, 2, "QUERY"},
	} {
		r := runAdvisor(t, env, append([]string{"conversations", "search"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("search %q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
}
