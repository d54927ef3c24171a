//go:build integration

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/atlasclitest"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

func TestUsageExitCodes(t *testing.T) {
	t.Parallel()
	env := dbEnv("postgres://nobody@127.0.0.1:1/none")
	cases := []struct {
		args []string
		env  map[string]string
		code int
	}{
		{nil, env, 2},
		{[]string{"frobnicate"}, env, 2},
		{[]string{"migrate"}, env, 2},
		{[]string{"migrate", "frobnicate"}, env, 2},
		{[]string{"migrate", "apply", "--no-such-flag"}, env, 2},
		{[]string{"migrate", "apply", "extra"}, env, 2},
		{[]string{"migrate", "status"}, nil, 2}, // no URL at all
		{[]string{"migrate", "diff"}, env, 2},
		{[]string{"migrate", "check", "extra", "--dir", "/nonexistent/dir"}, env, 2},
		{[]string{"migrate", "hash", "extra", "--dir", "/nonexistent/dir"}, env, 2},
		{[]string{"conversations", "ls", "--limit", "0"}, env, 2},
		{[]string{"conversations", "show"}, env, 2},
		{[]string{"conversations", "import"}, env, 2},
		{[]string{"help"}, env, 0},
		{[]string{"migrate", "help"}, env, 0},
		{[]string{"migrate", "status"}, env, 1}, // a URL nobody answers: failure, not usage
		// cobra's defaults, mapped (cli.go)
		{[]string{"help", "migrate"}, env, 0},
		{[]string{"migrate", "help", "apply"}, env, 0},
		{[]string{"migrate", "apply", "--help"}, env, 0},
		{[]string{"help", "frobnicate"}, env, 2},
		{[]string{"migrate", "help", "frobnicate"}, env, 2},
		{[]string{"conversations"}, env, 2},
		{[]string{"conversations", "help"}, env, 0},
		{[]string{"conversations", "frobnicate"}, env, 2},
		{[]string{"conversations", "ls", "--url"}, env, 2}, // flag without its value
		{[]string{"serve", "--no-such-flag"}, env, 2},
		{[]string{"completion"}, env, 2},
		{[]string{"completion", "frobnicate"}, env, 2},
		{[]string{"completion", "bash", "extra"}, env, 2},
		{[]string{"completion", "bash"}, env, 0},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			if r := runAdvisor(t, tc.env, tc.args...); r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.all())
			}
		})
	}
}

// TestApplyThenStatus: status on a fresh database lists every file as
// pending; apply applies them, with progress on stderr; status then says
// "Already at latest version" as the Atlas CLI does; a second apply has
// nothing to do.
func TestApplyThenStatus(t *testing.T) {
	t.Parallel()
	env := dbEnv(pgtest.Empty(t))
	vs := versions(t)
	r := runAdvisor(t, env, "migrate", "status")
	mustSucceed(t, r, "status before")
	contains(t, r.stdout, "Migration Status: PENDING", "status")
	contains(t, r.stdout, "Current Version: No migration applied yet", "status")
	contains(t, r.stdout, fmt.Sprintf("Pending Files:   %d", len(vs)), "status")

	r = runAdvisor(t, env, "migrate", "apply")
	mustSucceed(t, r, "apply")
	contains(t, r.stdout, fmt.Sprintf("Applied %d migration file(s)", len(vs)), "apply stdout")
	contains(t, r.stderr, "applying "+vs[0], "apply progress")

	r = runAdvisor(t, env, "migrate", "status")
	mustSucceed(t, r, "status after")
	contains(t, r.stdout, "Migration Status: OK", "status")
	contains(t, r.stdout, "Next Version:    Already at latest version", "status")
	contains(t, r.stdout, "Current Version: "+vs[len(vs)-1], "status")

	r = runAdvisor(t, env, "migrate", "apply")
	mustSucceed(t, r, "second apply")
	contains(t, r.stdout, "No migration files to execute", "second apply")
}

// v1Database creates a database as the code before migrations left it:
// the original schema (v1), no migration history, and data: two
// conversations with messages (one with out-of-order and one with tied
// times) and an empty one.
func v1Database(t *testing.T) (url string, ids [3]string) {
	t.Helper()
	url = pgtest.Empty(t)
	db := pgtest.Open(t, url)
	mustExec(t, db, originalDDL)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, model := range []string{"a", "b", "empty"} {
		if err := db.QueryRow(`INSERT INTO conversations (model) VALUES ($1) RETURNING id`, model).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range []time.Duration{2 * time.Second, 0, time.Second} {
		mustExec(t, db, `INSERT INTO messages (conversation_id, role, content, created_at) VALUES ($1, 'user', $2, $3)`, ids[0], fmt.Sprint("m", i), base.Add(at))
	}
	mustExec(t, db, `INSERT INTO messages (conversation_id, role, content, created_at) VALUES ($1, 'user', 'p', $2), ($1, 'assistant', 'q', $2)`, ids[1], base)
	return url, ids
}

// TestOriginalSchemaUpgradeCLI: `advisor migrate apply` refuses a database
// made before migrations (v1Database) and names the flag and version; with
// `--baseline <v1>` it checks the schema, upgrades, keeps every row and
// backfills seq and counts, and the store reads it normally.
func TestOriginalSchemaUpgradeCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, ids := v1Database(t)
	env := dbEnv(url)
	v1 := versions(t)[0]

	r := runAdvisor(t, env, "migrate", "apply")
	if r.code != 1 {
		t.Fatalf("apply on a database without history: exit %d, want 1\n%s", r.code, r.all())
	}
	contains(t, r.stderr, "--baseline "+v1, "refusal")
	r = runAdvisor(t, env, "migrate", "status")
	mustSucceed(t, r, "status")
	contains(t, r.stdout, "advisor migrate apply --baseline "+v1, "status of a database without history")

	r = runAdvisor(t, env, "migrate", "apply", "--baseline", v1, "--dev-url", pgtest.Empty(t))
	mustSucceed(t, r, "apply --baseline")
	contains(t, r.stderr, "the live schema equals version "+v1, "baseline check")
	contains(t, runAdvisor(t, env, "migrate", "status").stdout, "Already at latest version", "status after upgrade")

	s, err := store.NewStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.GetConversation(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range a.Messages {
		got = append(got, m.Content)
	}
	if strings.Join(got, " ") != "m1 m2 m0" {
		t.Errorf("messages by seq = %v, want m1 m2 m0 (time order)", got)
	}
	list, err := s.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, c := range list {
		counts[c.ID] = c.MessageCount
	}
	if counts[ids[0]] != 3 || counts[ids[1]] != 2 || counts[ids[2]] != 0 || len(list) != 3 {
		t.Errorf("counts = %v", counts)
	}
	if _, err := s.AddMessage(ctx, ids[2], "user", "first"); err != nil {
		t.Errorf("append to the upgraded empty conversation: %v", err)
	}
}

// TestBaselineRefusedWhenSchemaDiffers: a live schema that is not version 1
// (a CHECK dropped, a column added) is refused with the difference printed,
// and nothing is recorded or changed.
func TestBaselineRefusedWhenSchemaDiffers(t *testing.T) {
	t.Parallel()
	v1 := versions(t)[0]
	cases := []struct{ name, alter, want string }{
		{"missing check", `ALTER TABLE messages DROP CONSTRAINT messages_role_check`, "messages_role_check"},
		{"extra column", `ALTER TABLE conversations ADD COLUMN title text`, `DROP COLUMN "title"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, _ := v1Database(t)
			db := pgtest.Open(t, url)
			mustExec(t, db, tc.alter)
			r := runAdvisor(t, dbEnv(url), "migrate", "apply", "--baseline", v1, "--dev-url", pgtest.Empty(t))
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.all())
			}
			contains(t, r.stdout, tc.want, "printed difference")
			contains(t, r.stderr, "refusing --baseline "+v1, "error")
			if tableExists(t, db, "atlas_schema_revisions.atlas_schema_revisions") {
				t.Error("a refused baseline created the revisions table")
			}
		})
	}
}

// TestBaselineWithThrowawayCluster: without --dev-url the check replays on
// a private cluster it starts and removes.
func TestBaselineWithThrowawayCluster(t *testing.T) {
	t.Parallel()
	url, _ := v1Database(t)
	r := runAdvisor(t, dbEnv(url), "migrate", "apply", "--baseline", versions(t)[0])
	mustSucceed(t, r, "apply --baseline without --dev-url")
	contains(t, r.stderr, "throwaway PostgreSQL cluster", "progress")
}

// TestDryRunCLI: --dry-run prints each pending file's statements and
// changes nothing, also with --baseline.
func TestDryRunCLI(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	r := runAdvisor(t, dbEnv(url), "migrate", "apply", "--dry-run")
	mustSucceed(t, r, "dry run")
	contains(t, r.stdout, "-- file: "+versions(t)[0], "dry run")
	contains(t, r.stdout, `CREATE TABLE "conversations"`, "dry run")
	contains(t, r.stdout, "nothing was changed", "dry run")
	db := pgtest.Open(t, url)
	if tableExists(t, db, "conversations") || tableExists(t, db, "atlas_schema_revisions.atlas_schema_revisions") {
		t.Error("dry run changed the database")
	}

	v1URL, _ := v1Database(t)
	v := versions(t)
	r = runAdvisor(t, dbEnv(v1URL), "migrate", "apply", "--dry-run", "--baseline", v[0], "--dev-url", pgtest.Empty(t))
	mustSucceed(t, r, "dry run with baseline")
	if strings.Contains(r.stdout, "-- file: "+v[0]) || !strings.Contains(r.stdout, "-- file: "+v[1]) {
		t.Errorf("dry run with baseline %s lists the wrong files:\n%s", v[0], r.stdout)
	}
	if tableExists(t, pgtest.Open(t, v1URL), "atlas_schema_revisions.atlas_schema_revisions") {
		t.Error("dry run recorded the baseline")
	}
}

// TestFailingFileCLI: a file that fails halfway leaves none of its
// statements; apply reports the file, the statement and the database's
// error; status shows it pending; after the fix a rerun completes.
func TestFailingFileCLI(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	env := dbEnv(url)
	dir := scratchDir(t)
	const name = "20991231000000_broken.sql"
	writeMigration(t, dir, name, "CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n")

	r := runAdvisor(t, env, "migrate", "apply", "--dir", dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.all())
	}
	contains(t, r.stderr, name, "error")
	contains(t, r.stderr, "ALTER TABLE no_such_table ADD COLUMN x int", "error")
	contains(t, r.stderr, `relation "no_such_table" does not exist`, "error")
	db := pgtest.Open(t, url)
	if tableExists(t, db, "half_done") {
		t.Error("the failed file's first statement was kept")
	}
	r = runAdvisor(t, env, "migrate", "status", "--dir", dir)
	mustSucceed(t, r, "status")
	contains(t, r.stdout, "pending: "+name, "status")
	contains(t, r.stdout, "Pending Files:   1", "status")

	writeMigration(t, dir, name, "CREATE TABLE half_done (id int);\nALTER TABLE half_done ADD COLUMN x int;\n")
	mustSucceed(t, runAdvisor(t, env, "migrate", "apply", "--dir", dir), "rerun after the fix")
	contains(t, runAdvisor(t, env, "migrate", "status", "--dir", dir).stdout, "Already at latest version", "status")
	if !tableExists(t, db, "half_done") {
		t.Error("fixed file not applied")
	}
}

// TestAfterAtlasCLI: a database the Atlas CLI migrated (its revisions
// table, rows and identifier row, reproduced from its source by
// atlasclitest) is up to date for `advisor migrate status` and `apply`.
func TestAfterAtlasCLI(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	atlasclitest.Apply(t, url)
	env := dbEnv(url)
	r := runAdvisor(t, env, "migrate", "status")
	mustSucceed(t, r, "status")
	contains(t, r.stdout, "Next Version:    Already at latest version", "status")
	contains(t, r.stdout, fmt.Sprintf("Executed Files:  %d", len(versions(t))), "status")
	r = runAdvisor(t, env, "migrate", "apply")
	mustSucceed(t, r, "apply")
	contains(t, r.stdout, "No migration files to execute", "apply")
}
