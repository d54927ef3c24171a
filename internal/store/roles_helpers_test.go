//go:build integration

package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// adminOn opens a superuser connection to the database that dbURL names,
// closed when the test ends.
func adminOn(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = target.Path
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newLoginRole creates a LOGIN role with a unique name (prefix + random)
// and the given password, and returns its name and dbURL with its
// credentials. When the test ends, whatever the role owns or was granted in
// that database is dropped, then the role. Register it after the database
// and before any store on it, so that stores close first.
func newLoginRole(t *testing.T, admin *sql.DB, dbURL, prefix, password string) (name, roleURL string) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name = prefix + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()
	// DDL takes no parameters; the password is a literal built here, in a
	// test, from a constant without quotes.
	if _, err := admin.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, ident, password)); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := admin.ExecContext(ctx, `DROP OWNED BY `+ident+` CASCADE`); err != nil {
			t.Errorf("drop owned by %s: %v", name, err)
		}
		if _, err := admin.ExecContext(ctx, `DROP ROLE `+ident); err != nil {
			t.Errorf("drop role %s: %v", name, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	return name, u.String()
}
