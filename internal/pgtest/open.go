package pgtest

import (
	"database/sql"
	"testing"
)

// Open returns a database/sql pool (pgx driver) on url that is closed when
// the test ends, before NewDB's cleanup drops the database.
func Open(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
