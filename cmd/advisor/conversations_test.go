//go:build integration

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/wire"
)

// seeded returns a migrated database holding three conversations: one with
// a thread, one empty, one with a single message.
func seeded(t *testing.T) (url string, ids []string) {
	t.Helper()
	ctx := context.Background()
	url, s := migratedStore(t)
	for _, model := range []string{"first", "empty", "third"} {
		id, err := s.CreateConversation(ctx, model)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, m := range [][3]string{{ids[0], "system", "be brief"}, {ids[0], "user", "line one\nline two"}, {ids[0], "assistant", "ok"}, {ids[2], "user", "hi"}} {
		if _, err := s.AddMessage(ctx, m[0], m[1], m[2]); err != nil {
			t.Fatal(err)
		}
	}
	return url, ids
}

func TestConversationsLsShowRm(t *testing.T) {
	t.Parallel()
	url, ids := seeded(t)
	env := dbEnv(url)

	// Paging: 2 + 1, newest first, following the printed cursor.
	r := runAdvisor(t, env, "conversations", "ls", "--limit", "2", "--json")
	mustSucceed(t, r, "ls --json")
	var page struct {
		Conversations []wire.Summary `json:"conversations"`
		NextCursor    string         `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, r.stdout)
	}
	if len(page.Conversations) != 2 || page.NextCursor == "" || page.Conversations[0].ID != ids[2] || page.Conversations[0].MessageCount != 1 {
		t.Fatalf("first page = %+v", page)
	}
	r = runAdvisor(t, env, "conversations", "ls", "--limit", "2", "--cursor", page.NextCursor)
	mustSucceed(t, r, "ls page 2")
	if !strings.Contains(r.stdout, ids[0]) || strings.Contains(r.stdout, ids[2]) || strings.Contains(r.stdout, "more:") {
		t.Errorf("second page:\n%s", r.stdout)
	}
	r = runAdvisor(t, env, "conversations", "ls", "--limit", "1")
	contains(t, r.stdout, "ID", "ls table")
	contains(t, r.stdout, "--cursor ", "ls table")
	if r := runAdvisor(t, env, "conversations", "ls", "--cursor", "garbage"); r.code != 1 || !strings.Contains(r.stderr, "invalid cursor") {
		t.Errorf("bad cursor: %+v", r)
	}

	// show: the thread in order, as text and as JSON.
	r = runAdvisor(t, env, "conversations", "show", ids[0])
	mustSucceed(t, r, "show")
	last := -1
	for _, part := range []string{"[1] ", "system", "be brief", "[2] ", "user", "line one\nline two", "[3] ", "assistant", "ok"} {
		i := strings.Index(r.stdout[last+1:], part)
		if i < 0 {
			t.Fatalf("show: %q missing or out of order:\n%s", part, r.stdout)
		}
		last += 1 + i
	}
	r = runAdvisor(t, env, "conversations", "show", "--json", ids[0])
	var c wire.Conversation
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || len(c.Messages) != 3 || c.Messages[2].Content != "ok" || c.Model != "first" {
		t.Errorf("show --json = %+v, %v", c, err)
	}
	r = runAdvisor(t, env, "conversations", "show", "--json", ids[1])
	if !strings.Contains(r.stdout, `"messages": []`) {
		t.Errorf("empty conversation's messages are not []:\n%s", r.stdout)
	}

	// rm, then it is gone; an unknown id is a failure.
	mustSucceed(t, runAdvisor(t, env, "conversations", "rm", ids[0]), "rm")
	if r := runAdvisor(t, env, "conversations", "show", ids[0]); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("show after rm: %+v", r)
	}
	if r := runAdvisor(t, env, "conversations", "rm", ids[0]); r.code != 1 {
		t.Errorf("rm twice: %+v", r)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestExportImportCLI: export writes one JSON object per conversation per
// line; import into another database recreates them; importing again adds
// nothing; exporting the copy gives the same bytes.
func TestExportImportCLI(t *testing.T) {
	t.Parallel()
	src, ids := seeded(t)
	dst := pgtest.Migrated(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "all.jsonl")

	r := runAdvisor(t, dbEnv(src), "conversations", "export", "--out", out, "--progress")
	mustSucceed(t, r, "export")
	contains(t, r.stderr, "100%", "progress bar")
	contains(t, r.stderr, "3/3", "progress bar")
	lines := readLines(t, out)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "model", "started_at", "message_count", "messages"} {
		if _, ok := first[k]; !ok {
			t.Errorf("record lacks %q: %s", k, lines[0])
		}
	}
	if first["id"] != ids[0] {
		t.Errorf("first line is %v, want the oldest conversation %s", first["id"], ids[0])
	}
	msg := first["messages"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "conversation_id", "role", "content", "created_at"} {
		if _, ok := msg[k]; !ok {
			t.Errorf("message lacks %q", k)
		}
	}

	r = runAdvisor(t, dbEnv(dst), "conversations", "import", out)
	mustSucceed(t, r, "import")
	contains(t, r.stdout, "Imported 3 conversation(s); 0 already present", "import")
	r = runAdvisor(t, dbEnv(dst), "conversations", "import", out)
	mustSucceed(t, r, "import again")
	contains(t, r.stdout, "Imported 0 conversation(s); 3 already present", "import again")

	r = runAdvisor(t, dbEnv(dst), "conversations", "export")
	mustSucceed(t, r, "export to stdout")
	b, _ := os.ReadFile(out)
	if r.stdout != string(b) {
		t.Errorf("the copy exports differently:\n%s\nvs\n%s", r.stdout, b)
	}
}

// exportedLines exports the seeded conversations and returns an empty
// database to import into, a temporary directory and the export's lines.
func exportedLines(t *testing.T) (dst, dir string, lines []string) {
	t.Helper()
	src, _ := seeded(t)
	dst = pgtest.Migrated(t)
	dir = t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	mustSucceed(t, runAdvisor(t, dbEnv(src), "conversations", "export", "--out", good), "export")
	return dst, dir, readLines(t, good)
}

// TestImportRejectsBadLines: a file with bad lines is rejected as a whole,
// each bad line reported by number, and nothing is imported.
func TestImportRejectsBadLines(t *testing.T) {
	t.Parallel()
	dst, dir, lines := exportedLines(t)

	bad := filepath.Join(dir, "bad.jsonl")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(lines[0] + "\n")                                                          // 1: fine
	w.WriteString("{not json\n")                                                            // 2
	w.WriteString(strings.Replace(lines[2], `"role":"user"`, `"role":"root"`, 1) + "\n")    // 3
	w.WriteString("\n")                                                                     // 4: blank, ignored
	w.WriteString(strings.Replace(lines[1], `"model"`, `"colour":"red","model"`, 1) + "\n") // 5
	w.WriteString(lines[0] + "\n")                                                          // 6: duplicate of 1
	w.Flush()
	f.Close()

	r := runAdvisor(t, dbEnv(dst), "conversations", "import", bad)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.all())
	}
	for _, no := range []string{":2:", ":3:", ":5:", ":6:"} {
		contains(t, r.stderr, "bad.jsonl"+no, "import errors")
	}
	if strings.Contains(r.stderr, "bad.jsonl:1:") || strings.Contains(r.stderr, "bad.jsonl:4:") {
		t.Errorf("good lines reported:\n%s", r.stderr)
	}
	contains(t, r.stderr, "4 bad line(s) of 5; nothing was imported", "summary")
	contains(t, runAdvisor(t, dbEnv(dst), "conversations", "ls").stdout, "No conversations", "after a rejected import")
}
