//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/wire"
)

// TestImportRejectsSharedMessageIDs: a message id that two conversations of
// one file share, or that the database already holds under another
// conversation, rejects the whole file before anything is imported (before,
// the lines ahead of the offending one were imported and the rest failed).
func TestImportRejectsSharedMessageIDs(t *testing.T) {
	t.Parallel()
	src, ids := seeded(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	mustSucceed(t, runAdvisor(t, dbEnv(src), "conversations", "export", "--out", good), "export")
	lines := readLines(t, good) // ids[0] with 3 messages, ids[1] empty, ids[2] with 1
	// stolen is lines[2] with its one message renamed to lines[0]'s first
	// (its id and the active_message_id that names it).
	stolen := strings.ReplaceAll(lines[2], firstMessageID(t, lines[2]), firstMessageID(t, lines[0]))
	if stolen == lines[2] {
		t.Fatal("message id not replaced")
	}
	write := func(name string, ls ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("within the file", func(t *testing.T) {
		t.Parallel()
		dst := pgtest.Migrated(t)
		r := runAdvisor(t, dbEnv(dst), "conversations", "import", write("shared.jsonl", lines[0], lines[1], stolen))
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.all())
		}
		contains(t, r.stderr, "shared.jsonl:3: message "+firstMessageID(t, lines[0])+" already appears on line 1", "import errors")
		contains(t, r.stderr, "1 bad line(s) of 3; nothing was imported", "summary")
		contains(t, runAdvisor(t, dbEnv(dst), "conversations", "ls").stdout, "No conversations", "after a rejected import")
	})

	t.Run("in the database", func(t *testing.T) {
		t.Parallel()
		dst := pgtest.Migrated(t)
		mustSucceed(t, runAdvisor(t, dbEnv(dst), "conversations", "import", write("first.jsonl", lines[0])), "import line 1")
		r := runAdvisor(t, dbEnv(dst), "conversations", "import", write("clash.jsonl", lines[1], stolen))
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.all())
		}
		contains(t, r.stderr, "clash.jsonl:2: message "+firstMessageID(t, lines[0])+" already exists in the database, in conversation "+ids[0], "import errors")
		contains(t, r.stderr, "1 bad line(s) of 2; nothing was imported", "summary")
		ls := runAdvisor(t, dbEnv(dst), "conversations", "ls").stdout
		if strings.Contains(ls, ids[1]) || !strings.Contains(ls, ids[0]) {
			t.Errorf("after a rejected import:\n%s", ls)
		}
		// Messages stored under their own conversation are no clash: that
		// conversation is skipped.
		r = runAdvisor(t, dbEnv(dst), "conversations", "import", write("again.jsonl", lines[0], lines[1]))
		mustSucceed(t, r, "import again")
		contains(t, r.stdout, "Imported 1 conversation(s); 1 already present", "import again")
	})
}

func firstMessageID(t *testing.T, line string) string {
	t.Helper()
	var c wire.Conversation
	if err := json.Unmarshal([]byte(line), &c); err != nil || len(c.Messages) == 0 {
		t.Fatalf("%v: %s", err, line)
	}
	return c.Messages[0].ID
}
