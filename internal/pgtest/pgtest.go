// Package pgtest gives each test its own migrated database on a real
// PostgreSQL server. It is test support: import it only from _test.go files.
//
// A package with database tests declares
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and each test calls NewDB for a fresh database cloned from a template
// that the migrator prepared once (see github.com/peterldowns/pgtestdb).
//
// The server is the one named by HWLAB_TEST_DATABASE_URL if that is set,
// else a private throwaway cluster (package pgcluster) started from the
// local PostgreSQL binaries. Database tests never skip: without a server
// they fail and say what to install. HWLAB_TEST_POOLER=pgbouncer puts a
// PgBouncer in transaction mode in front of that server (pooled.go).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"git.georgsen.dk/hwlab/internal/pgcluster"
)

// EnvURL names the variable that points the tests at an existing server.
const EnvURL = "HWLAB_TEST_DATABASE_URL"

const installHint = "install the PostgreSQL server binaries (apt-get install postgresql), " +
	"or set " + EnvURL + " to a postgres:// URL whose user may CREATE DATABASE and CREATE ROLE"

// The server in use, set by Main before any test runs and read-only after.
var (
	adminURL string
	baseConf pgtestdb.Config
	ready    bool
)

// Main is for TestMain. It finds or starts the server, runs the tests, stops
// a server it started and exits. If no server can be had it prints what to
// install and exits 1.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if url := os.Getenv(EnvURL); url != "" {
		conf, err := configFromURL(url)
		if err == nil {
			err = checkServer(ctx, url)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: cannot use the server in %s: %v\n", EnvURL, err)
			return 1
		}
		adminURL, baseConf = url, conf
	} else {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: cannot start a PostgreSQL server for the database tests: %v\n"+
				"pgtest: %s\n", err, installHint)
			return 1
		}
		// Close also runs when a test panics, as the panic unwinds through here.
		defer func() {
			if err := c.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: stopping the test server: %v\n", err)
			}
		}()
		adminURL, baseConf = c.URL("postgres"), clusterConfig(c)
	}
	if err := rememberDirect(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := startPooler(ctx, adminURL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: cannot start the pooler of %s: %v\n", EnvPooler, err)
		return 1
	}
	if b != nil {
		defer b.Close()
		bouncer = b
	}
	ready = true
	cancel() // the deadline was for setup only
	return m.Run()
}

// NewDB returns the URL of a fresh database for this test, migrated by m and
// dropped when the test ends (kept if it failed, for a look). Databases of
// migrators with the same Hash are clones of one template that is migrated
// only once, so NewDB is cheap. The URL connects as pgtestdb's unprivileged
// role (pgtestdb.DefaultRoleUsername, with DefaultRoleCapabilities) which owns the
// database. Connections to it must be closed by the end of the test, or the
// drop fails the test. With HWLAB_TEST_POOLER=pgbouncer the URL goes through
// the PgBouncer (see EnvPooler), with default_query_exec_mode=exec; Direct
// gives the server's own.
func NewDB(t testing.TB, m pgtestdb.Migrator) string {
	t.Helper()
	if !ready {
		t.Fatalf("pgtest: no server; the package needs func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	u := pgtestdb.Custom(t, baseConf, m).URL()
	if bouncer == nil {
		return u
	}
	releaseOnCleanup(t, bouncer, u)
	return pooledURL(u)
}

// AdminURL returns a superuser (or at least CREATEDB) URL of the server in
// use, for tests that need to create roles or inspect the server.
func AdminURL() string {
	if !ready {
		panic("pgtest: AdminURL before pgtest.Main")
	}
	return adminURL
}

// NewCluster starts a private cluster for tests that stop, restart or kill
// the server (package pgfault); the test's cleanup closes it. It needs no
// TestMain. Its URLs are direct even when the tests run pooled: faults are
// tests of the store's own connections (the log says so when pooled).
func NewCluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	if bouncer != nil {
		t.Logf("pgtest: direct to the server, not through PgBouncer: a private cluster for a fault test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("pgtest: %v\npgtest: %s", err, installHint)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("pgtest: closing cluster: %v", err)
		}
	})
	return c
}
