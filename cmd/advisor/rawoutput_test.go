//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
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

// Hostile stored text: it erases a line and moves the cursor up, sets the
// window title and writes the clipboard (OSC 52), and uses a C1 CSI, a CR
// and a bidi override, in content, in a title and in a model name.
const (
	hostileContent = "I will help.\x1b[2K\x1b[1A\rall fine\x1b]0;pwned-title\x07\x1b]52;c;cm0gLXJmIH4=\x07 \u009b2J \u202etxt.exe\tend\nsecond line"
	hostileTitle   = "line one\nline two\x1b]0;t\x07\u202e\tx\r"
	hostileModel   = "m\x1b[31m\nred\u009d"
)

// hostileDatabase returns a migrated database holding three conversations
// and their ids, oldest first: one with the hostile title, model and
// content; one titled by default from a hostile user message; a plain one.
func hostileDatabase(t *testing.T) (url string, ids []string) {
	t.Helper()
	ctx := context.Background()
	url, s := migratedStore(t)
	for _, c := range []struct{ model, title, role string }{
		{hostileModel, hostileTitle, "assistant"},
		{"plain-model", "", "user"},
		{"plain-model", "plain", ""},
	} {
		id, err := s.CreateConversation(ctx, c.model)
		if err != nil {
			t.Fatal(err)
		}
		if c.role != "" {
			if _, err := s.AddMessage(ctx, id, c.role, hostileContent); err != nil {
				t.Fatal(err)
			}
		}
		if c.title != "" {
			if err := s.SetTitle(ctx, id, c.title); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}
	return url, ids
}

// obeyed returns a description of the first thing in s that a terminal
// would act on rather than print: a C0 control other than those in keep,
// DEL, a C1 control, a bidi formatting character or invalid UTF-8. It is
// written out here, not taken from visible.go, so the test does not check
// the rendering with itself.
func obeyed(s, keep string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return fmt.Sprintf("invalid UTF-8 at %d", i)
		case (r < 0x20 || r == 0x7f) && !strings.ContainsRune(keep, r),
			r >= 0x80 && r <= 0x9f,
			r == 0x061c, r == 0x200e, r == 0x200f,
			r >= 0x202a && r <= 0x202e,
			r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U at %d", r, i)
		}
	}
	return ""
}

// TestShowLsRenderControlsVisibly: no control character from stored text
// reaches a reader's terminal through show or ls. show keeps the content's
// newlines and tabs and prints the rest as ^[, ^G, ^M, <U+009B>, <U+202E>;
// the ls table has exactly one line per conversation.
func TestShowLsRenderControlsVisibly(t *testing.T) {
	t.Parallel()
	url, ids := hostileDatabase(t)
	env := dbEnv(url)

	shown := make([]string, 2)
	for i, id := range ids[:2] {
		r := runAdvisor(t, env, "conversations", "show", id)
		mustSucceed(t, r, "show")
		// Fatal, and quoted: printing such output as it is would send its
		// sequences to the terminal of whoever reads the test's failure.
		if what := obeyed(r.stdout, "\n\t"); what != "" {
			t.Fatalf("show %s prints %s:\n%q", id, what, r.stdout)
		}
		contains(t, r.stdout, "I will help.^[[2K^[[1A^Mall fine^[]0;pwned-title^G^[]52;c;cm0gLXJmIH4=^G <U+009B>2J <U+202E>txt.exe\tend\nsecond line\n", "show "+id)
		shown[i] = r.stdout
	}
	contains(t, shown[0], "\ntitle:    line one^Jline two^[]0;t^G<U+202E>^Ix^M\n", "show's title")
	contains(t, shown[0], "\nmodel:    m^[[31m^Jred<U+009D>\n", "show's model")

	r := runAdvisor(t, env, "conversations", "ls")
	mustSucceed(t, r, "ls")
	if what := obeyed(r.stdout, "\n"); what != "" {
		t.Fatalf("ls prints %s:\n%q", what, r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 1+len(ids) {
		t.Fatalf("ls table has %d lines, want a header and %d rows:\n%s", len(lines), len(ids), r.stdout)
	}
	for i, id := range ids { // newest first
		if row := lines[len(ids)-i]; !strings.HasPrefix(row, id+" ") {
			t.Errorf("ls row %d is not conversation %s: %q", len(ids)-i, id, row)
		}
	}
	contains(t, lines[3], "m^[[31m^Jred<U+009D>", "ls row of the hostile model")
	contains(t, lines[3], "line one^Jline two^[]0;t^G<U+202E>^Ix^M", "ls row of the hostile title")
	contains(t, lines[2], "I will help.^[[2K^[[1A all fine^[]0;pwned-title^G^[]52;c;", "ls row of the default title (its first 60 characters, whitespace folded)")
}

// TestHostileTextExactInJSON: --json and export carry the hostile title,
// model and content exactly, byte for byte, whatever show and ls render.
func TestHostileTextExactInJSON(t *testing.T) {
	t.Parallel()
	url, ids := hostileDatabase(t)
	env := dbEnv(url)
	check := func(what string, got wire.Conversation) {
		t.Helper()
		if got.ID != ids[0] || got.Title != hostileTitle || got.Model != hostileModel || len(got.Messages) != 1 || got.Messages[0].Content != hostileContent {
			t.Errorf("%s altered the hostile text: %+v", what, got)
		}
	}

	r := runAdvisor(t, env, "conversations", "show", "--json", ids[0])
	mustSucceed(t, r, "show --json")
	var shown wire.Conversation
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("show --json: %v\n%s", err, r.stdout)
	}
	check("show --json", shown)

	r = runAdvisor(t, env, "conversations", "export")
	mustSucceed(t, r, "export")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(ids) {
		t.Fatalf("export has %d lines, want %d:\n%s", len(lines), len(ids), r.stdout)
	}
	var exported wire.Conversation
	if err := json.Unmarshal([]byte(lines[0]), &exported); err != nil {
		t.Fatalf("export: %v\n%s", err, lines[0])
	}
	check("export", exported)

	r = runAdvisor(t, env, "conversations", "ls", "--json")
	mustSucceed(t, r, "ls --json")
	var page struct {
		Conversations []wire.Summary `json:"conversations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, r.stdout)
	}
	if n := len(page.Conversations); n != len(ids) || page.Conversations[n-1].Title != hostileTitle || page.Conversations[n-1].Model != hostileModel {
		t.Errorf("ls --json altered the hostile title or model: %+v", page.Conversations)
	}
}
