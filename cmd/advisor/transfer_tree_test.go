//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestExportImportTree: export carries the whole tree and import brings it
// back as it was (ids, parents, the active leaf); a file of the previous
// version (no parent_id, no active_message_id) imports as a chain; a parent
// outside its conversation, a missing parent and a cycle reject the whole
// file, naming the line, before anything is imported.
func TestExportImportTree(t *testing.T) {
	t.Parallel()
	src, _, conv, ids := branched(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "tree.jsonl")
	mustSucceed(t, runAdvisor(t, dbEnv(src), "conversations", "export", "--out", out), "export")
	lines := readLines(t, out)
	if len(lines) != 1 {
		t.Fatalf("export: %d lines", len(lines))
	}
	tree := func(url string) string {
		t.Helper()
		r := runAdvisor(t, dbEnv(url), "conversations", "show", "--tree", "--json", conv)
		mustSucceed(t, r, "show --tree --json")
		return r.stdout
	}

	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		dst := pgtest.Migrated(t)
		mustSucceed(t, runAdvisor(t, dbEnv(dst), "conversations", "import", out), "import")
		if got, want := tree(dst), tree(src); got != want {
			t.Errorf("the imported tree differs:\n got %s\nwant %s", got, want)
		}
	})

	// edit rewrites the exported record; msgs are its messages by name.
	edit := func(name string, change func(rec map[string]any, msgs map[string]map[string]any)) string {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
			t.Fatal(err)
		}
		msgs := map[string]map[string]any{}
		for _, m := range rec["messages"].([]any) {
			m := m.(map[string]any)
			for n, id := range ids {
				if m["id"] == id {
					msgs[n] = m
				}
			}
		}
		change(rec, msgs)
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("old file is a chain", func(t *testing.T) {
		t.Parallel()
		old := edit("old.jsonl", func(rec map[string]any, msgs map[string]map[string]any) {
			delete(rec, "active_message_id")
			for _, m := range msgs {
				delete(m, "parent_id")
			}
		})
		dst := pgtest.Migrated(t)
		mustSucceed(t, runAdvisor(t, dbEnv(dst), "conversations", "import", old), "import")
		r := runAdvisor(t, dbEnv(dst), "conversations", "show", conv)
		mustSucceed(t, r, "show")
		// Every message on the path, in file order, none with versions.
		contains(t, r.stdout, "messages: 5\n", "show of the chain")
		last := 0
		for _, n := range []string{"q1", "a1", "a1b", "q2", "r2"} {
			i := strings.Index(r.stdout, "("+ids[n]+")")
			if i < last {
				t.Fatalf("%s missing or out of order:\n%s", n, r.stdout)
			}
			last = i
		}
		if strings.Contains(r.stdout, "[version") {
			t.Errorf("a chain shows versions:\n%s", r.stdout)
		}
	})

	foreign := uuid.NewString()
	for _, tt := range []struct {
		name, want string
		change     func(rec map[string]any, msgs map[string]map[string]any)
	}{
		{"parent in another conversation", "parent " + ids["q1"] + " is not a message of this conversation",
			nil}, // filled below: the second line's message names the first line's
		{"missing parent", "parent " + foreign + " is not a message of this conversation",
			func(_ map[string]any, msgs map[string]map[string]any) { msgs["a1"]["parent_id"] = foreign }},
		{"cycle", "its parents form a cycle",
			func(_ map[string]any, msgs map[string]map[string]any) {
				msgs["q2"]["parent_id"] = ids["r2"]
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".jsonl")
			lineNo := "1"
			if tt.change != nil {
				file = edit(filepath.Base(file), tt.change)
			} else {
				// A second conversation whose one message's parent is a
				// message of the first line's.
				lineNo = "2"
				other := `{"id":"` + uuid.NewString() + `","title":"","model":"m","started_at":"2026-12-03T10:00:00Z","messages":[` +
					`{"id":"` + uuid.NewString() + `","parent_id":"` + ids["q1"] + `","role":"user","content":"x","created_at":"2026-12-03T10:00:00Z"}]}`
				if err := os.WriteFile(file, []byte(lines[0]+"\n"+other+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			dst := pgtest.Migrated(t)
			r := runAdvisor(t, dbEnv(dst), "conversations", "import", file)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.all())
			}
			contains(t, r.stderr, filepath.Base(file)+":"+lineNo+": ", "import errors")
			contains(t, r.stderr, tt.want, "import errors")
			contains(t, r.stderr, "nothing was imported", "summary")
			contains(t, runAdvisor(t, dbEnv(dst), "conversations", "ls").stdout, "No conversations", "after a rejected import")
		})
	}
}
