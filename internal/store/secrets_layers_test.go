//go:build integration

package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
)

// knownSecret is a real role's password in TestPasswordNeverLeaks. It has
// characters that URLs escape, so that escaped spellings are checked too.
const knownSecret = "Kn0wn-S3cret/p@ss:w0rd?x=1&y#z"

// leakCheck collects every error and log line produced while the password
// is in play, and fails the test if any holds it in any spelling.
type leakCheck struct {
	mu    sync.Mutex
	texts map[string]string // what → text
}

func (l *leakCheck) err(what string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.texts[what] = ""
		return
	}
	l.texts[what] = err.Error()
}

func (l *leakCheck) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.texts[fmt.Sprintf("log line %d", len(l.texts))] = fmt.Sprintf(format, args...)
}

// leaks lists the collected texts that hold the password in any spelling.
func (l *leakCheck) leaks() []string {
	spellings := []string{knownSecret, url.QueryEscape(knownSecret), url.PathEscape(knownSecret),
		url.UserPassword("u", knownSecret).String()}
	var out []string
	for what, text := range l.texts {
		for _, sp := range spellings {
			if strings.Contains(text, sp) {
				out = append(out, what+": "+text)
				break
			}
		}
	}
	return out
}

func (l *leakCheck) verify(t *testing.T, mustFail ...string) {
	t.Helper()
	// The check itself must be able to fail: a planted URL is found.
	planted := &leakCheck{texts: map[string]string{}}
	planted.err("planted", fmt.Errorf("connect %s", (&url.URL{Scheme: "postgres", User: url.UserPassword("u", knownSecret), Host: "h"}).String()))
	if len(planted.leaks()) != 1 {
		t.Fatal("the leak check misses a password in a URL")
	}
	for _, leak := range l.leaks() {
		t.Errorf("password leaked: %s", leak)
	}
	// The failures must really have happened, or nothing was tested.
	for _, what := range mustFail {
		if l.texts[what] == "" {
			t.Errorf("%s: expected an error, got none", what)
		}
	}
}

// TestPasswordNeverLeaks: a role's known password appears in no error and
// no log line of the store and migrate packages: not when migrations fail
// (a broken file, no privilege), not when the server refuses a connection
// at start-up, and not when it refuses the pool's reconnects later (the
// password changed underneath a running store). The CLI's output is covered
// in cmd/advisor.
func TestPasswordNeverLeaks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.Direct(t, pgtest.Empty(t), "it runs migrations (a session advisory lock)")
	admin := adminOn(t, dbURL)
	role, roleURL := newLoginRole(t, admin, dbURL, "hwlab_secret_", knownSecret)
	ident := pgx.Identifier{role}.Sanitize()
	l := &leakCheck{texts: map[string]string{}}

	// No privileges yet: migrations fail.
	s, err := store.NewStore(ctx, roleURL)
	l.err("NewStore", err)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = migrate.Apply(ctx, s.DB(), migrate.Options{Logf: l.logf})
	l.err("Apply without privileges", err)

	// With privileges: the real files apply, a broken one fails.
	for _, g := range []string{`GRANT CREATE ON SCHEMA public TO ` + ident} {
		if _, err := admin.ExecContext(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	var db string
	admin.QueryRowContext(ctx, `SELECT current_database()`).Scan(&db)
	if _, err := admin.ExecContext(ctx, `GRANT CREATE ON DATABASE `+pgx.Identifier{db}.Sanitize()+` TO `+ident); err != nil {
		t.Fatal(err)
	}
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	// The failing statement even mentions the role, as real errors do.
	dir.WriteFile("20991231000000_broken.sql", []byte("ALTER TABLE no_such_table OWNER TO "+ident+";\n"))
	if err := migrate.Hash(dir); err != nil {
		t.Fatal(err)
	}
	_, err = migrate.Apply(ctx, s.DB(), migrate.Options{Dir: dir, Logf: l.logf})
	l.err("Apply of a broken file", err)
	l.err("RunMigrations", store.RunMigrations(ctx, s.DB()))
	conv, err := s.CreateConversation(ctx, "m")
	l.err("CreateConversation", err)

	// The password changes under the running store and its connections are
	// cut: every call that reconnects is refused.
	if _, err := admin.ExecContext(ctx, `ALTER ROLE `+ident+` PASSWORD 'changed-elsewhere'`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the first call may meet a dead pooled connection
		_, err = s.AddMessage(ctx, conv, "user", "x")
		l.err(fmt.Sprint("AddMessage after the password changed ", i), err)
	}
	_, err = s.GetConversation(ctx, conv)
	l.err("GetConversation after the password changed", err)
	_, err = s.ListConversations(ctx)
	l.err("ListConversations after the password changed", err)
	l.err("DeleteConversation after the password changed", s.DeleteConversation(ctx, conv))
	l.err("RunMigrations after the password changed", store.RunMigrations(ctx, s.DB()))
	_, err = migrate.Apply(ctx, s.DB(), migrate.Options{Logf: l.logf})
	l.err("Apply after the password changed", err)
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s2, err := store.NewStore(tctx, roleURL)
	l.err("NewStore with a wrong password", err)
	if err == nil {
		s2.Close()
	}
	// pgx's own parser and a plain database/sql handle: the same URL.
	raw, err := sql.Open("pgx", roleURL)
	if err == nil {
		err = raw.PingContext(tctx)
		raw.Close()
	}
	l.err("sql.Open+Ping with a wrong password", err)

	l.verify(t, "Apply without privileges", "Apply of a broken file",
		"GetConversation after the password changed", "ListConversations after the password changed",
		"DeleteConversation after the password changed", "RunMigrations after the password changed",
		"Apply after the password changed", "NewStore with a wrong password")
	if l.texts["NewStore"] != "" || l.texts["RunMigrations"] != "" || l.texts["CreateConversation"] != "" {
		t.Errorf("the happy path failed: %q / %q / %q", l.texts["NewStore"], l.texts["RunMigrations"], l.texts["CreateConversation"])
	}
	t.Logf("%d errors and log lines checked", len(l.texts))
	for what, text := range l.texts {
		t.Logf("%s: %.200s", what, text)
	}
}
