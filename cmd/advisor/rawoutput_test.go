//go:build integration

package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestDataOutputNotMasked: the password mask never touches user data. The
// role's password is "a", a substring of nearly everything; a masked
// stdout would turn "started_at" into "stxxxxxrted_xxxxxt". Export → import
// → export is byte-identical, and show / ls --json print exactly what the
// same commands print when logged in as a superuser (no password to mask).
func TestDataOutputNotMasked(t *testing.T) {
	t.Parallel()
	const password = "a"
	src := roleDatabase(t, password)
	dst := roleDatabase(t, password)
	srcDB := strings.TrimPrefix(mustParse(t, src).Path, "/")
	super := withUser(t, pgtest.AdminURL(), mustParse(t, pgtest.AdminURL()).User, srcDB)
	for _, u := range []string{src, dst} {
		mustSucceed(t, runAdvisor(t, dbEnv(u), "migrate", "apply"), "migrate apply")
	}

	ctx := context.Background()
	s, err := store.NewStore(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateConversation(ctx, "llama3.1:8b")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{"system", "a lab advisor, always answer plainly"}, {"user", "what is a VLAN? \"a\" \\a"}, {"assistant", "a virtual LAN: a broadcast domain"}} {
		if _, err := s.AddMessage(ctx, id, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateConversation(ctx, "qwen2.5:latest"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	exported := runAdvisor(t, dbEnv(src), "conversations", "export")
	mustSucceed(t, exported, "export")
	if !strings.Contains(exported.stdout, `"started_at"`) || !strings.Contains(exported.stdout, "a virtual LAN: a broadcast domain") {
		t.Fatalf("export altered:\n%s", exported.stdout)
	}
	bySuper := runAdvisor(t, dbEnv(super), "conversations", "export")
	mustSucceed(t, bySuper, "export as superuser")
	if exported.stdout != bySuper.stdout {
		t.Errorf("export differs with a password to mask:\n%s\nvs\n%s", exported.stdout, bySuper.stdout)
	}

	file := filepath.Join(t.TempDir(), "all.jsonl")
	if err := os.WriteFile(file, []byte(exported.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runAdvisor(t, dbEnv(dst), "conversations", "import", file), "import")
	again := runAdvisor(t, dbEnv(dst), "conversations", "export")
	mustSucceed(t, again, "export of the copy")
	if again.stdout != exported.stdout {
		t.Errorf("round trip not byte-identical:\n%s\nvs\n%s", again.stdout, exported.stdout)
	}

	for _, args := range [][]string{
		{"conversations", "show", id},
		{"conversations", "show", id, "--json"},
		{"conversations", "ls", "--json"},
		{"conversations", "ls"},
	} {
		got := runAdvisor(t, dbEnv(src), args...)
		want := runAdvisor(t, dbEnv(super), args...)
		mustSucceed(t, got, strings.Join(args, " "))
		if got.stdout != want.stdout {
			t.Errorf("%s differs with a password to mask:\n%s\nvs\n%s", args, got.stdout, want.stdout)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
