//go:build integration

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestImportStrictJSON: import reads lines by the API's rule (package
// wire). Each bad line was imported by the encoding/json import — the
// surrogate as U+FFFD, "Model" as model, the last of two titles — or was
// reported with Go's types; now the file is refused, the line named, and
// nothing imported. A line whose one message is longer than any the store
// takes is refused as it streams, without reading the rest of it.
func TestImportStrictJSON(t *testing.T) {
	t.Parallel()
	dst, dir, lines := exportedLines(t)
	huge := `{"id":"7f1c2a4e-8d7b-4c1e-9a55-3e0c8f6b1d20","messages":[{"content":"` + strings.Repeat("x", 26<<20) + `"}]}`
	for _, tc := range []struct{ name, line, errPart string }{
		{"unpaired surrogate in the title", strings.Replace(lines[1], `"title":""`, `"title":"\ud800"`, 1), `/title: unpaired UTF-16 surrogate escape`},
		{"names differ in case", strings.Replace(lines[1], `"model"`, `"Model"`, 1), `/Model: unknown field`},
		{"duplicate name", strings.Replace(lines[1], `"title":""`, `"title":"a","title":"b"`, 1), `/title: duplicate field`},
		{"not an object", `[1,2,3]`, `want an object, got an array`},
		{"message over the limit", huge, "a value longer than 25231360 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".jsonl")
			if err := os.WriteFile(file, []byte(lines[0]+"\n"+tc.line+"\n"+lines[2]+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runAdvisor(t, dbEnv(dst), "conversations", "import", file)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%.2000s", r.code, r.all())
			}
			contains(t, r.stderr, filepath.Base(file)+":2: "+tc.errPart, "import errors")
			contains(t, r.stderr, "1 bad line(s) of 3; nothing was imported", "summary")
			for _, internal := range []string{"Go ", "struct", "main.", "json:", "unmarshal"} {
				if strings.Contains(r.stderr, internal) {
					t.Errorf("stderr shows Go internals (%q):\n%.2000s", internal, r.stderr)
				}
			}
		})
	}
	t.Cleanup(func() {
		contains(t, runAdvisor(t, dbEnv(dst), "conversations", "ls").stdout, "No conversations", "after rejected imports")
	})
}

// TestImportLargeConversation: a conversation whose line is longer than one
// message's JSON may be exports, imports and exports again byte for byte:
// the limit is per value, not per line. Its first message is at the
// content limit in characters the export escapes as \u003c, so its JSON is
// nearly as long as a message's may be; the second makes the line longer.
func TestImportLargeConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := pgtest.Migrated(t), pgtest.Migrated(t)
	s, err := store.NewStore(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{strings.Repeat("<", store.DefaultMaxContentBytes), strings.Repeat("x", 64<<10)} {
		if _, err := s.AddMessage(ctx, id, "user", c); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	file := filepath.Join(t.TempDir(), "large.jsonl")
	mustSucceed(t, runAdvisor(t, dbEnv(src), "conversations", "export", "--out", file), "export")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= 6*store.DefaultMaxContentBytes+64<<10 {
		t.Fatalf("the line is %d bytes, not longer than one message's bound", len(b))
	}
	r := runAdvisor(t, dbEnv(dst), "conversations", "import", file)
	mustSucceed(t, r, "import")
	contains(t, r.stdout, "Imported 1 conversation(s)", "import")
	again := runAdvisor(t, dbEnv(dst), "conversations", "export")
	mustSucceed(t, again, "export of the copy")
	if again.stdout != string(b) {
		t.Errorf("round trip differs: %d bytes vs %d", len(again.stdout), len(b))
	}
}
