//go:build integration

package pgtest_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/peterldowns/pgtestdb"

	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// itemsMigrator is a trivial pgtestdb.Migrator: one table.
type itemsMigrator struct{}

func (itemsMigrator) Hash() (string, error) { return "pgtest-selftest-items-v1", nil }

func (itemsMigrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	_, err := db.ExecContext(ctx, "CREATE TABLE items (name text PRIMARY KEY)")
	return err
}

func open(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after NewDB's cleanup, so it runs before the drop.
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestNewDBIsolated(t *testing.T) {
	url1 := pgtest.NewDB(t, itemsMigrator{})
	url2 := pgtest.NewDB(t, itemsMigrator{})
	if url1 == url2 {
		t.Fatalf("two NewDB calls returned the same database %s", url1)
	}
	db1, db2 := open(t, url1), open(t, url2)

	if _, err := db1.Exec(t.Context(), "INSERT INTO items VALUES ('only-in-1')"); err != nil {
		t.Fatal(err)
	}
	var n1, n2 int
	if err := db1.QueryRow(t.Context(), "SELECT count(*) FROM items").Scan(&n1); err != nil {
		t.Fatal(err)
	}
	// The table exists in the second database too (migrated template) but
	// the row does not.
	if err := db2.QueryRow(t.Context(), "SELECT count(*) FROM items").Scan(&n2); err != nil {
		t.Fatal(err)
	}
	if n1 != 1 || n2 != 0 {
		t.Fatalf("counts = %d, %d; want 1, 0", n1, n2)
	}
}

func TestAdminURL(t *testing.T) {
	conn := open(t, pgtest.AdminURL())
	var super bool
	if err := conn.QueryRow(t.Context(), "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Error("AdminURL user cannot create databases")
	}
}

func TestNewCluster(t *testing.T) {
	c := pgtest.NewCluster(t)
	if err := pgfault.Restart(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	var one int
	if err := open(t, c.URL("postgres")).QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}
