//go:build integration

package pgtest_test

import (
	"net/url"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestPooledAndDirect: NewDB's URL and its Direct reach the same database
// as the same role. Run pooled (make test-pgbouncer), the URL goes through
// PgBouncer with the exec mode it needs and Direct bypasses it; without a
// pooler Direct is the URL itself. ThroughBouncer reaches the database
// through PgBouncer in both runs, without the exec mode.
func TestPooledAndDirect(t *testing.T) {
	t.Parallel()
	u := pgtest.NewDB(t, itemsMigrator{})
	direct := pgtest.Direct(t, u, "the test compares the two URLs")
	through := pgtest.ThroughBouncer(t, u)
	if q := query(t, u); pgtest.Pooled() != (q.Get(pgtest.ExecModeParam) == "exec") {
		t.Errorf("pooled %v, but NewDB's URL has %s=%q", pgtest.Pooled(), pgtest.ExecModeParam, q.Get(pgtest.ExecModeParam))
	}
	if pgtest.Pooled() == (direct == u) {
		t.Errorf("pooled %v, but Direct(u) == u is %v", pgtest.Pooled(), direct == u)
	}
	if q := query(t, through); q.Has(pgtest.ExecModeParam) {
		t.Errorf("ThroughBouncer's URL has %s", pgtest.ExecModeParam)
	}
	var want [2]string
	if err := open(t, direct).QueryRow(t.Context(), `SELECT current_database(), current_user`).Scan(&want[0], &want[1]); err != nil {
		t.Fatal(err)
	}
	// The exec mode, or the statement cache collides on PgBouncer.
	for name, v := range map[string]string{"NewDB": u, "ThroughBouncer": pgtest.WithExecMode(through)} {
		var got [2]string
		if err := open(t, v).QueryRow(t.Context(), `SELECT current_database(), current_user`).Scan(&got[0], &got[1]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s reaches %v, Direct %v", name, got, want)
		}
	}
}

func query(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal("a URL that does not parse")
	}
	return p.Query()
}
