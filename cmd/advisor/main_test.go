//go:build integration

package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// result is what one advisor invocation printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) all() string { return r.stdout + r.stderr }

// runAdvisor runs the command in-process, as main would, with env as its
// whole environment.
func runAdvisor(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	code := exitCode(err, &errb)
	return result{out.String(), errb.String(), code}
}

// migratedStore returns a migrated database and a store open on it for
// seeding, closed at the end of the test.
func migratedStore(t *testing.T) (string, *store.Store) {
	t.Helper()
	url := pgtest.Migrated(t)
	s, err := store.NewStore(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return url, s
}

func dbEnv(url string) map[string]string { return map[string]string{"HWLAB_DATABASE_URL": url} }

func mustSucceed(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	if err := db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// versions returns the versions of the committed migration files, so the
// tests follow the directory when files are added.
func versions(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range pgtest.MigrationFiles(t) {
		out = append(out, f.Version())
	}
	return out
}

// scratchDir copies the committed migration directory for a test to edit.
func scratchDir(t *testing.T) string {
	t.Helper()
	return pgtest.ScratchMigrations(t)
}

// writeMigration adds (or replaces) a file in a scratch directory and
// re-hashes it through the command, as an operator would.
func writeMigration(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runAdvisor(t, nil, "migrate", "hash", "--dir", dir), "migrate hash")
}

func contains(t *testing.T, s, want, what string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Errorf("%s does not contain %q:\n%s", what, want, s)
	}
}

// originalDDL is the original schema (v1) as the code before migrations
// created it: CREATE TABLE IF NOT EXISTS.
const originalDDL = pgtest.OriginalSchemaDDL
