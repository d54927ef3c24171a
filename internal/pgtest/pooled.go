package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/pgcluster"
)

// EnvPooler names the variable that puts a connection pooler between the
// tests and the server. "pgbouncer" is the only value: NewDB's URLs (and so
// Migrated's and Empty's) then go through a PgBouncer in transaction mode
// that Main starts in front of the server. What a transaction pooler
// breaks goes direct: pgtestdb's template set-up (session advisory locks)
// always uses the server itself, and tests that migrate, hold a session,
// or kill the server's backends take Direct of their URL and say why. The
// private clusters of NewCluster (the fault tests) are always direct.
const EnvPooler = "HWLAB_TEST_POOLER"

// ExecModeParam is what a URL through a transaction-mode PgBouncer before
// 1.21 (Debian's is 1.18) needs: pgx's default caches prepared statements
// per connection, and such a pooler hands the next transaction another
// server connection.
const ExecModeParam = "default_query_exec_mode"

// bouncer is the PgBouncer that Main started (HWLAB_TEST_POOLER=pgbouncer),
// nil without a pooler.
var bouncer *pgcluster.Bouncer

// direct is the host part and the extra query of the server's own URLs, so
// that Direct can turn a pooled URL back.
var direct struct {
	host  string
	query url.Values
}

// startPooler starts the PgBouncer of EnvPooler, if asked for, in front of
// the server that admin names.
func startPooler(ctx context.Context, admin string) (*pgcluster.Bouncer, error) {
	switch v := os.Getenv(EnvPooler); v {
	case "":
		return nil, nil
	case "pgbouncer":
	default:
		return nil, fmt.Errorf("%s=%q: the only pooler is pgbouncer", EnvPooler, v)
	}
	return startBouncer(ctx, admin, nil)
}

// startBouncer starts a PgBouncer in front of the server admin names,
// logging in as admin's user to look up the other roles.
func startBouncer(ctx context.Context, admin string, logf func(string, ...any)) (*pgcluster.Bouncer, error) {
	pc, err := pgconn.ParseConfig(admin)
	if err != nil {
		return nil, err // pgconn redacts the password
	}
	return pgcluster.StartBouncer(ctx, pgcluster.BouncerOptions{
		Host: pc.Host, Port: int(pc.Port), AuthUser: pc.User, AuthPassword: pc.Password, Logf: logf,
	})
}

// rememberDirect records how the server's URLs (pgtestdb's, from baseConf)
// name the server.
func rememberDirect() error {
	u, err := url.Parse(baseConf.URL())
	if err != nil {
		return fmt.Errorf("pgtest: the server's URL does not parse")
	}
	direct.host, direct.query = u.Host, url.Values{}
	if h := u.Query().Get("host"); h != "" {
		direct.query.Set("host", h) // a unix socket directory
	}
	return nil
}

// Pooled reports whether NewDB's URLs go through PgBouncer
// (HWLAB_TEST_POOLER=pgbouncer).
func Pooled() bool {
	if !ready {
		panic("pgtest: Pooled before pgtest.Main")
	}
	return bouncer != nil
}

// Direct returns the URL of the same database and role on the server
// itself, bypassing the pooler, for what a transaction pooler breaks:
// migrations (a session advisory lock), other session state, killing
// backends. why says which; when the tests run pooled it is logged, so the
// pooled run shows what went direct. Without a pooler it returns u.
func Direct(t testing.TB, u, why string) string {
	t.Helper()
	if !ready {
		t.Fatal("pgtest: Direct before pgtest.Main")
	}
	if bouncer != nil {
		t.Logf("pgtest: direct to the server, not through PgBouncer: %s", why)
	}
	return directURL(u)
}

// directURL turns a URL through the test PgBouncer into the server's own.
func directURL(u string) string {
	if bouncer == nil {
		return u
	}
	p, err := url.Parse(u)
	if err != nil || p.Host != bouncerHost(bouncer) {
		return u
	}
	q := p.Query()
	q.Del(ExecModeParam)
	for k, v := range direct.query {
		q[k] = v
	}
	p.Host, p.RawQuery = direct.host, q.Encode()
	return p.String()
}

// viaBouncer returns u (a URL of the server) routed through b. The exec
// mode is left as u has it: the test of what happens without it needs it
// absent.
func viaBouncer(b *pgcluster.Bouncer, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic("pgtest: a server URL that does not parse") // never echo u: it holds a password
	}
	q := p.Query()
	q.Del("host") // a unix socket of the server
	p.Host, p.RawQuery = bouncerHost(b), q.Encode()
	return p.String()
}

// pooledURL is u through the test PgBouncer with the exec mode it needs.
func pooledURL(u string) string { return WithExecMode(viaBouncer(bouncer, u)) }

// WithExecMode returns u with default_query_exec_mode=exec, what a URL
// through a transaction-mode PgBouncer before 1.21 needs.
func WithExecMode(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic("pgtest: a URL that does not parse") // never echo u: it holds a password
	}
	q := p.Query()
	q.Set(ExecModeParam, "exec")
	p.RawQuery = q.Encode()
	return p.String()
}

func bouncerHost(b *pgcluster.Bouncer) string { return fmt.Sprintf("127.0.0.1:%d", b.Port()) }

// releaseOnCleanup makes the pooler let go of dbname's server connections
// when the test ends, before pgtestdb drops the database (cleanups run
// last-registered first, and pgtestdb registered the drop already); the
// test's own stores, registered later, are closed by then.
func releaseOnCleanup(t testing.TB, b *pgcluster.Bouncer, dbURL string) {
	p, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal("pgtest: the test database's URL does not parse")
	}
	dbname := strings.TrimPrefix(p.Path, "/")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.KillDB(ctx, dbname); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
}

// ThroughBouncer returns dbURL, a URL from NewDB, routed through a
// PgBouncer in transaction mode exactly as given: without the exec mode
// the pooler needs, unless dbURL has it. It is the shared PgBouncer when
// the tests run pooled, else one started for this test and stopped when
// it ends. For tests of what a pooler does to a client.
func ThroughBouncer(t testing.TB, dbURL string) string {
	t.Helper()
	raw := directURL(dbURL)
	b := bouncer
	if b == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		if b, err = startBouncer(ctx, adminURL, t.Logf); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		// Registered after NewDB's drop, so it runs before it: stopping
		// PgBouncer closes its server connections.
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("pgtest: closing pgbouncer: %v", err)
			}
		})
	}
	// The shared PgBouncer lets go of the database at NewDB's cleanup.
	return viaBouncer(b, raw)
}
