//go:build integration

package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// secretPassword is distinctive, so any leak is found by a plain search;
// it contains URL-special characters so escaped spellings are tried too.
const secretPassword = "Zq9-s3cr3t:pw@x"

// secretDatabase creates a role with secretPassword and a database it owns,
// and returns a URL that logs in with the password.
func secretDatabase(t *testing.T) string {
	t.Helper()
	return roleDatabase(t, secretPassword)
}

// roleDatabase creates a login role with password and a database it owns,
// and returns a URL that logs in as that role with the password.
func roleDatabase(t *testing.T, password string) string {
	t.Helper()
	admin := pgtest.Open(t, pgtest.AdminURL())
	name := fmt.Sprintf("secret_%d", time.Now().UnixNano())
	mustExec(t, admin, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, name, strings.ReplaceAll(password, "'", "''")))
	mustExec(t, admin, fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, name, name))
	t.Cleanup(func() {
		ctx := context.Background()
		admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
		admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name)
		admin.ExecContext(ctx, `DROP ROLE IF EXISTS `+name)
	})
	return withUser(t, pgtest.AdminURL(), url.UserPassword(name, password), name)
}

// withUser returns base with its user info and database replaced.
func withUser(t *testing.T, base string, user *url.Userinfo, db string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = user
	u.Path = "/" + db
	return u.String()
}

// TestPasswordNeverPrinted: whatever happens — success, dry run, a failed
// migration, a refused baseline, a wrong password, an unreachable server,
// a malformed URL, a usage error — no output and no error holds the
// password, in any spelling.
func TestPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	good := secretDatabase(t)
	u, _ := url.Parse(good)
	wrongPass := strings.Replace(good, url.QueryEscape(secretPassword), url.QueryEscape(secretPassword+"-wrong"), 1)
	if wrongPass == good {
		wrongPass = strings.Replace(good, url.PathEscape(secretPassword), url.PathEscape(secretPassword+"-wrong"), 1)
	}
	unreachable := strings.Replace(good, u.Host, "127.0.0.1:1", 1)
	malformed := "postgres://" + u.User.Username() + ":" + secretPassword + "@127.0.0.1:notaport/db"
	broken := scratchDir(t)
	writeMigration(t, broken, "20991231000000_broken.sql", "SELECT 1;\nSELECT no_such_column FROM conversations;\n")

	env := dbEnv(good)
	runs := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"status before", env, []string{"migrate", "status"}},
		{"dry run", env, []string{"migrate", "apply", "--dry-run"}},
		{"refused baseline", env, []string{"migrate", "apply", "--baseline", versions(t)[0], "--dev-url", pgtest.Empty(t)}},
		{"apply via --url", nil, []string{"migrate", "apply", "--url", good}},
		{"failed migration", env, []string{"migrate", "apply", "--dir", broken}},
		{"status after", env, []string{"migrate", "status", "--dir", broken}},
		{"ls", env, []string{"conversations", "ls", "--json"}},
		{"wrong password", dbEnv(wrongPass), []string{"migrate", "status"}},
		{"wrong password --url", nil, []string{"conversations", "ls", "--url", wrongPass}},
		{"unreachable", dbEnv(unreachable), []string{"migrate", "apply", "--lock-timeout", "1s"}},
		{"malformed", dbEnv(malformed), []string{"migrate", "status"}},
		{"malformed --url=", nil, []string{"conversations", "export", "--url=" + malformed}},
		{"usage error", nil, []string{"migrate", "apply", "--url", good, "stray", good}},
		{"unknown command", nil, []string{"frobnicate", good}},
	}
	spellings := []string{secretPassword, url.QueryEscape(secretPassword), url.PathEscape(secretPassword)}
	for _, r := range runs {
		res := runAdvisor(t, r.env, r.args...)
		for _, s := range spellings {
			if strings.Contains(res.all(), s) {
				t.Errorf("%s: output holds the password (%q):\n%s", r.name, s, res.all())
			}
		}
		t.Logf("%s: exit %d", r.name, res.code)
	}
	// The runs did what they claim (so the check above covered real output).
	if res := runAdvisor(t, env, "migrate", "apply", "--baseline", versions(t)[0], "--dev-url", good); res.code != 0 {
		t.Errorf("baseline on a migrated database is ignored: %+v", res)
	}
	if res := runAdvisor(t, env, "migrate", "status"); !strings.Contains(res.stdout, "Already at latest version") {
		t.Errorf("the apply run did not migrate: %s", res.all())
	}
	if res := runAdvisor(t, dbEnv(wrongPass), "migrate", "status"); res.code != 1 || !strings.Contains(res.stderr, "password authentication failed") {
		t.Errorf("wrong password: %+v", res)
	}
}
