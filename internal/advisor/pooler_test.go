//go:build integration

package advisor_test

import (
	"net/http"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestPoolerWithoutExecMode: two advisors on one database through a
// PgBouncer in transaction mode, their URL without
// default_query_exec_mode=exec. Their statement caches collide on the
// server connections they share, and every second request fails; the
// failure is a 503 that names the setting, never a 500, while /healthz
// still answers 200.
func TestPoolerWithoutExecMode(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Migrated(t)
	pooled := pgtest.ThroughBouncer(t, dsn)
	via := func(string) string { return pooled }
	fixtures := []*fixture{
		newFixtureOn(t, dsn, via, modelstub.New(), nil),
		newFixtureOn(t, dsn, via, modelstub.New(), nil),
	}
	const requests = 20
	failed := 0
	for i := range requests {
		r := fixtures[i%len(fixtures)].do("GET", "/api/conversations", "")
		switch r.status {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			failed++
			if msg := r.errorMsg(t); !strings.Contains(msg, "default_query_exec_mode=exec") {
				t.Errorf("request %d: 503 %q does not name default_query_exec_mode=exec", i, msg)
			}
		default:
			t.Errorf("request %d: %d %s, want 200 or 503", i, r.status, r.body)
		}
	}
	if failed == 0 {
		t.Errorf("none of %d requests failed: the two advisors did not share PgBouncer's server connections", requests)
	}
	t.Logf("%d of %d requests answered 503", failed, requests)
	// A ping prepares nothing, so health does not see the mistake
	// (docs/api.md says so).
	if r := fixtures[0].do("GET", "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("/healthz: %d %s", r.status, r.body)
	}
}
