//go:build integration

package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The first two committed versions: the original schema (v1), and seq/counts.
// Tests that care about "all" or "the latest" derive them from the
// directory (embeddedFiles), so they hold as files are added.
const (
	v1 = "20261127162448"
	v2 = "20261127162457"
)

func openEmpty(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// scratchDir copies the committed migrations into a temp dir and lets edit
// change them.
func scratchDir(t *testing.T) string {
	t.Helper()
	return pgtest.ScratchMigrations(t)
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	if err := db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func revisions(t *testing.T, db *sql.DB) []string {
	t.Helper()
	if !tableExists(t, db, "atlas_schema_revisions.atlas_schema_revisions") {
		return nil
	}
	return queryStrings(t, db, `SELECT version || ':' || type || ':' || applied || '/' || total FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version`)
}

// queryStrings returns the single text column of every row of q.
func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmbeddedDirIsValid(t *testing.T) {
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Validate(dir); err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil || len(files) < 2 || files[0].Version() != v1 || files[1].Version() != v2 {
		t.Fatalf("embedded files = %v, %v", files, err)
	}
	// Every committed file is embedded, whatever later issues add.
	onDisk, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) != len(onDisk) {
		t.Fatalf("embedded %d files, %d on disk (%v)", len(files), len(onDisk), err)
	}
}

// TestTamperedDirectoryIsRefused: an edited file, an edited sum, an added
// file or a missing sum is refused before anything touches the database.
func TestTamperedDirectoryIsRefused(t *testing.T) {
	t.Parallel()
	tamper := map[string]func(t *testing.T, dir string){
		"edited file": func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, v1+"_plan_schema.sql"), "\nCREATE TABLE sneaky (id int);\n")
		},
		"edited sum": func(t *testing.T, dir string) {
			p := filepath.Join(dir, "atlas.sum")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "h1:", "h1:A", 1)), 0o644)
		},
		"added file": func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "20990101000000_extra.sql"), []byte("CREATE TABLE extra (id int);\n"), 0o644)
		},
		"missing sum": func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "atlas.sum")) },
	}
	for name, edit := range tamper {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := scratchDir(t)
			edit(t, path)
			dir, err := migrate.OpenDir(path)
			if err != nil {
				t.Fatal(err)
			}
			db := openEmpty(t)
			_, err = migrate.Apply(context.Background(), db, migrate.Options{Dir: dir})
			if !errors.Is(err, migrate.ErrChecksumMismatch) {
				t.Fatalf("Apply = %v, want ErrChecksumMismatch", err)
			}
			if !strings.Contains(err.Error(), "atlas.sum") {
				t.Errorf("error does not say what is wrong: %v", err)
			}
			for _, table := range []string{"conversations", "sneaky", "extra", "atlas_schema_revisions.atlas_schema_revisions"} {
				if tableExists(t, db, table) {
					t.Errorf("table %s exists after a refused apply", table)
				}
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// originalDDL is the original schema's CREATE TABLE IF NOT EXISTS code.
const originalDDL = pgtest.OriginalSchemaDDL

// TestOriginalDatabaseNeedsBaselineThenUpgrades: a database made by the
// original schema's code, before migrations existed, is refused without --baseline; with the baseline at version 1 it is
// upgraded, every row kept, seq backfilled in (created_at, id) order, the
// counts right, and every thread a chain in that order.
func TestOriginalDatabaseNeedsBaselineThenUpgrades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	if _, err := db.Exec(originalDDL); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var a, b, empty string
	mustQueryRow(t, db, `INSERT INTO conversations (model) VALUES ('a') RETURNING id`, &a)
	mustQueryRow(t, db, `INSERT INTO conversations (model) VALUES ('b') RETURNING id`, &b)
	mustQueryRow(t, db, `INSERT INTO conversations (model) VALUES ('empty') RETURNING id`, &empty)
	// a: three messages written out of time order; b: two with equal times.
	for i, at := range []time.Duration{2 * time.Second, 0, time.Second} {
		mustExec(t, db, `INSERT INTO messages (conversation_id, role, content, created_at) VALUES ($1, 'user', $2, $3)`, a, string(rune('x'+i)), base.Add(at))
	}
	mustExec(t, db, `INSERT INTO messages (conversation_id, role, content, created_at) VALUES ($1, 'user', 'p', $2), ($1, 'assistant', 'q', $2)`, b, base)

	_, err := migrate.Apply(ctx, db, migrate.Options{})
	if !errors.Is(err, migrate.ErrNotClean) || !strings.Contains(err.Error(), "--baseline "+v1) {
		t.Fatalf("Apply without baseline = %v, want ErrNotClean naming --baseline %s", err, v1)
	}
	if tableExists(t, db, "atlas_schema_revisions.atlas_schema_revisions") && len(revisions(t, db)) != 0 {
		t.Fatalf("refused apply wrote revisions: %v", revisions(t, db))
	}

	applied, err := migrate.Apply(ctx, db, migrate.Options{Baseline: v1})
	if err != nil {
		t.Fatalf("Apply with baseline: %v", err)
	}
	all := embeddedFiles(t)
	if strings.Join(applied, " ") != strings.Join(all[1:], " ") || !strings.HasPrefix(applied[0], v2) {
		t.Fatalf("applied %v, want every file after version 1: %v", applied, all[1:])
	}
	want := []string{v1 + ":1:0/0"}
	dir, _ := migrate.EmbeddedDir()
	files, _ := dir.Files()
	for _, f := range files[1:] {
		n := stmtCount(t, f)
		want = append(want, fmt.Sprintf("%s:2:%d/%d", f.Version(), n, n))
	}
	if got := strings.Join(revisions(t, db), " "); got != strings.Join(want, " ") {
		t.Errorf("revisions = %s, want %s", got, strings.Join(want, " "))
	}
	// The title backfill: a's first user message by seq is y; the empty
	// conversation keeps ''.
	for id, want := range map[string]string{a: "y", b: "p", empty: ""} {
		var title string
		mustQueryRow(t, db, `SELECT title FROM conversations WHERE id = $1`, &title, id)
		if title != want {
			t.Errorf("title of %s = %q, want %q", id, title, want)
		}
	}
	// a's messages in time order: y (0s), z (1s), x (2s).
	if got := contentsBySeq(t, db, a); got != "y z x" {
		t.Errorf("a by seq = %q, want %q", got, "y z x")
	}
	// Ties: only determinism is promised, so check the seqs are 1 and 2.
	if got := contentsBySeq(t, db, b); got != "p q" && got != "q p" {
		t.Errorf("b by seq = %q", got)
	}
	for id, want := range map[string]int{a: 3, b: 2, empty: 0} {
		var n int
		mustQueryRow(t, db, `SELECT message_count FROM conversations WHERE id = $1`, &n, id)
		if n != want {
			t.Errorf("message_count of %s = %d, want %d", id, n, want)
		}
	}
	var total int
	mustQueryRow(t, db, `SELECT count(*) FROM messages`, &total)
	if total != 5 {
		t.Errorf("%d messages after upgrade, want 5", total)
	}
	// The message_tree backfill: every thread a chain in seq order, its
	// newest message the active leaf.
	for id, want := range map[string]string{a: "1:- 2:1 3:2 active 3", b: "1:- 2:1 active 2", empty: "active -"} {
		var got string
		mustQueryRow(t, db, `SELECT concat_ws(' ', (SELECT string_agg(seq || ':' || coalesce(parent_seq::text, '-'), ' ' ORDER BY seq)
			FROM messages WHERE conversation_id = c.id), 'active ' || coalesce(c.active_seq::text, '-'))
			FROM conversations c WHERE c.id = $1`, &got, id)
		if got != want {
			t.Errorf("tree of %s = %q, want %q", id, got, want)
		}
	}
}

func contentsBySeq(t *testing.T, db *sql.DB, conv string) string {
	t.Helper()
	var s string
	mustQueryRow(t, db, `SELECT string_agg(content, ' ' ORDER BY seq) FROM messages WHERE conversation_id = $1`, &s, conv)
	return s
}

// TestFailingFileLeavesNothing: a file whose second statement fails leaves
// neither its first statement nor a revision row; the error names the file,
// the statement and the database's complaint; after the fix a rerun
// completes.
func TestFailingFileLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := scratchDir(t)
	bad := filepath.Join(path, "20991231000000_broken.sql")
	os.WriteFile(bad, []byte("CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n"), 0o644)
	rehash(t, path)
	db := openEmpty(t)

	applied, err := migrate.Apply(ctx, db, migrate.Options{Dir: mustOpen(t, path)})
	var ferr *migrate.FileError
	if !errors.As(err, &ferr) {
		t.Fatalf("Apply = %v, want a *FileError", err)
	}
	if ferr.File != "20991231000000_broken.sql" || !strings.Contains(ferr.Stmt, "no_such_table") || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("FileError = %+v", ferr)
	}
	good := len(embeddedFiles(t))
	if len(applied) != good {
		t.Errorf("applied before the failure: %v, want the %d good files", applied, good)
	}
	if tableExists(t, db, "half_done") {
		t.Error("the failed file's first statement was kept")
	}
	if got := revisions(t, db); len(got) != good {
		t.Errorf("revisions = %v, want only the %d good files", got, good)
	}

	os.WriteFile(bad, []byte("CREATE TABLE half_done (id int);\nALTER TABLE half_done ADD COLUMN x int;\n"), 0o644)
	rehash(t, path)
	applied, err = migrate.Apply(ctx, db, migrate.Options{Dir: mustOpen(t, path)})
	if err != nil || len(applied) != 1 {
		t.Fatalf("rerun after the fix = %v, %v", applied, err)
	}
	if !tableExists(t, db, "half_done") {
		t.Error("fixed file not applied")
	}
}

func rehash(t *testing.T, path string) {
	t.Helper()
	if err := migrate.Hash(mustOpen(t, path)); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t *testing.T, path string) migrate.Dir {
	t.Helper()
	d, err := migrate.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func mustQueryRow(t *testing.T, db *sql.DB, q string, dest any, args ...any) {
	t.Helper()
	if err := db.QueryRow(q, args...).Scan(dest); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestForkedBackfill: the conversation_forked migration marks forked
// exactly the conversations with a branch start other than their first
// message, on a database that holds the tree before it.
func TestForkedBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := scratchDir(t)
	const forkedFile = "20261203164335_conversation_forked.sql"
	body, err := os.ReadFile(filepath.Join(path, forkedFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(path, forkedFile)); err != nil {
		t.Fatal(err)
	}
	rehash(t, path)
	db := openEmpty(t)
	if _, err := migrate.Apply(ctx, db, migrate.Options{Dir: mustOpen(t, path)}); err != nil {
		t.Fatal(err)
	}
	// Each conversation's messages as seq:parent ("-" for none).
	convs := map[string]struct {
		tree   string
		forked bool
	}{
		"chain":       {"1:- 2:1 3:2", false},
		"empty":       {"", false},
		"regenerated": {"1:- 2:1 3:1", true},
		"second root": {"1:- 2:1 3:-", true},
		"deep fork":   {"1:- 2:1 3:2 4:3 5:2 6:5", true},
	}
	ids := map[string]string{}
	for name, c := range convs {
		var id string
		mustQueryRow(t, db, `INSERT INTO conversations (model) VALUES ($1) RETURNING id`, &id, name)
		ids[name] = id
		n := 0
		for _, m := range strings.Fields(c.tree) {
			seq, parent, _ := strings.Cut(m, ":")
			var p any
			if parent != "-" {
				p = parent
			}
			mustExec(t, db, `INSERT INTO messages (conversation_id, seq, parent_seq, role, content) VALUES ($1, $2, $3, 'user', 'x')`, id, seq, p)
			n++
		}
		if n > 0 {
			mustExec(t, db, `UPDATE conversations SET message_count = $2, active_seq = $2 WHERE id = $1`, id, n)
		}
	}
	if err := os.WriteFile(filepath.Join(path, forkedFile), body, 0o644); err != nil {
		t.Fatal(err)
	}
	rehash(t, path)
	if applied, err := migrate.Apply(ctx, db, migrate.Options{Dir: mustOpen(t, path)}); err != nil || len(applied) != 1 || applied[0] != forkedFile {
		t.Fatalf("Apply = %v, %v; want just %s", applied, err, forkedFile)
	}
	for name, c := range convs {
		var forked bool
		mustQueryRow(t, db, `SELECT forked FROM conversations WHERE id = $1`, &forked, ids[name])
		if forked != c.forked {
			t.Errorf("%s (%s): forked = %v, want %v", name, c.tree, forked, c.forked)
		}
	}
}
