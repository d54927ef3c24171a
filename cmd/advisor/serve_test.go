//go:build integration

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// logWatch is a log destination a test can wait on, without sleeping.
type logWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// record is one line of the JSON log: tests match its attributes, not the
// wording of a line.
type record map[string]any

// find returns the first record holding every attribute of want.
func (l *logWatch) find(want record) (record, bool) {
	for _, r := range l.records() {
		if r.has(want) {
			return r, true
		}
	}
	return nil, false
}

func (l *logWatch) records() []record {
	var out []record
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var r record
		if json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func (r record) has(want record) bool {
	for k, v := range want {
		if r[k] != v {
			return false
		}
	}
	return true
}

// waitFor blocks until the log holds a record with the attributes of want,
// or the serve call returned.
func (l *logWatch) waitFor(t *testing.T, want record, done <-chan error) {
	t.Helper()
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if _, ok := l.find(want); ok {
			return
		}
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("serve returned %v before logging %v:\n%s", err, want, l.String())
		}
	}
}

// The records tests wait for.
var (
	servingRecord  = record{"msg": "serving"}
	shutdownRecord = record{"msg": "shutting down: finishing in-flight requests"}
)

type running struct {
	base     string
	logs     *logWatch
	stop     context.CancelFunc
	done     chan error
	client   *http.Client
	lnClosed <-chan struct{} // closed once serve closed its listener
}

// closeWatch is a listener that reports its Close, so a test can wait for
// it instead of sleeping.
type closeWatch struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeWatch) Close() error {
	// Signal only once the socket is really closed: signalled earlier, a
	// dial could still land in the backlog and be reset instead of refused.
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// startServe runs serve on a loopback listener of the test's own and
// returns once it is accepting requests (it logged "serving").
func startServe(t *testing.T, o serveOptions) *running {
	t.Helper()
	r := launchServe(t, o)
	r.logs.waitFor(t, servingRecord, r.done)
	return r
}

// launchServe starts serve and returns at once.
func launchServe(t *testing.T, o serveOptions) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.addr == "" {
		o.addr = ln.Addr().String()
	}
	if o.shutdownGrace == 0 {
		o.shutdownGrace = time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	cw := &closeWatch{Listener: ln, closed: make(chan struct{})}
	r := &running{base: "http://" + ln.Addr().String(), logs: newLogWatch(), stop: cancel, done: make(chan error, 1), client: &http.Client{}, lnClosed: cw.closed}
	log := slog.New(slog.NewJSONHandler(r.logs, nil))
	go func() { r.done <- serve(ctx, log, cw, o) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		r.client.CloseIdleConnections()
	})
	return r
}

func (r *running) post(t *testing.T, path, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func idOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `"id":"`)
	if i < 0 {
		t.Fatalf("no id in %s", body)
	}
	return body[i+6 : i+6+36]
}

// TestServeGracefulShutdown: a stream in flight when the signal comes is
// finished and stored; while it is held, the listener is already closed and
// a new connection is refused; serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	stub := modelstub.New()
	t.Cleanup(stub.Close)
	t.Cleanup(stub.Release)
	dsn := pgtest.Migrated(t)
	r := startServe(t, serveOptions{dsn: dsn, modelURL: stub.BaseURL(), model: "stub"})
	_, body := r.post(t, "/api/conversations", `{}`)
	id := idOf(t, body)

	stub.SetMode(modelstub.HoldFirstToken)
	type result struct {
		body string
		err  error
	}
	streamed := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", r.base+"/api/conversations/"+id+"/chat", strings.NewReader(`{"content":"finish me"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		res, err := r.client.Do(req)
		if err != nil {
			streamed <- result{"", err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		streamed <- result{string(b), err}
	}()
	<-stub.Held() // the model has the request: it is in flight
	r.stop()      // SIGINT/SIGTERM
	r.logs.waitFor(t, shutdownRecord, r.done)
	select {
	case <-r.lnClosed:
	case err := <-r.done:
		t.Fatalf("serve returned %v with a request in flight", err)
	}
	// Still inside the grace period: the model holds the request, so the
	// in-flight connection keeps the port bound and the kernel will not
	// hand it to another test's listener; a dial can only be refused.
	if c, err := net.Dial("tcp", strings.TrimPrefix(r.base, "http://")); err == nil {
		c.Close()
		t.Error("a new connection was accepted during the grace period")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("new connection during the grace period: %v, want connection refused", err)
	}
	stub.Release()
	res := <-streamed
	if res.err != nil || !strings.Contains(res.body, "event: done") || !strings.Contains(res.body, "echo: finish me") {
		t.Fatalf("in-flight stream: %v\n%s", res.err, res.body)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	r.done <- nil // for the cleanup
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'assistant'`, id).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored replies: %d, %v", n, err)
	}
}

// TestServeNoMigrate: on a schema that is behind, --no-migrate refuses to
// start and says what to run, without changing the database; on a current
// one it serves.
func TestServeNoMigrate(t *testing.T) {
	t.Parallel()
	empty := pgtest.Empty(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := newLogWatch()
	err = serve(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)), ln, serveOptions{dsn: empty, noMigrate: true, addr: ln.Addr().String()})
	if !errors.Is(err, errSchemaBehind) || !strings.Contains(err.Error(), "advisor migrate apply") || !strings.Contains(err.Error(), "20261127162448_plan_schema.sql") {
		t.Fatalf("serve --no-migrate on an empty database = %v", err)
	}
	db, err := sql.Open("pgx", empty)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("--no-migrate changed the database: %d tables, %v", tables, err)
	}

	r := startServe(t, serveOptions{dsn: pgtest.Migrated(t), noMigrate: true})
	if status, body := r.post(t, "/api/conversations", `{}`); status != http.StatusCreated {
		t.Fatalf("create on a current schema: %d %s", status, body)
	}
	if _, ok := r.logs.find(record{"msg": "schema is current", "check_only": true}); !ok {
		t.Errorf("log:\n%s", r.logs.String())
	}
}

// TestServeMigrationRole: HWLAB_MIGRATE_DATABASE_URL (the owner) migrates;
// HWLAB_DATABASE_URL (an app role without DDL rights) serves. Without the
// migration URL, the app role alone cannot migrate a fresh database, which
// shows the migrations really went through the other URL.
func TestServeMigrationRole(t *testing.T) {
	t.Parallel()
	ownerURL := pgtest.Empty(t)
	appURL := appRole(t, ownerURL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), ln, serveOptions{dsn: appURL, addr: ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "HWLAB_DATABASE_URL") || strings.Contains(err.Error(), "app-pw") {
		t.Fatalf("app role migrating alone = %v; want a failure naming HWLAB_DATABASE_URL, without the password", err)
	}

	r := startServe(t, serveOptions{dsn: appURL, migrateDSN: ownerURL})
	if _, ok := r.logs.find(record{"msg": "schema is current", "via": "HWLAB_MIGRATE_DATABASE_URL"}); !ok {
		t.Errorf("log:\n%s", r.logs.String())
	}
	status, body := r.post(t, "/api/conversations", `{}`)
	if status != http.StatusCreated {
		t.Fatalf("create as the app role: %d %s", status, body)
	}
	if status, body := r.post(t, "/api/conversations/"+idOf(t, body)+"/messages", `{"role":"user","content":"hi"}`); status != http.StatusCreated {
		t.Fatalf("append as the app role: %d %s", status, body)
	}
	ownerPassword, _ := mustParse(t, ownerURL).User.Password()
	if ownerPassword == "" {
		t.Fatalf("the owner's URL has no password, so the check below would test nothing: %s", ownerURL)
	}
	if strings.Contains(r.logs.String(), "app-pw") || strings.Contains(r.logs.String(), ownerPassword) {
		t.Errorf("a password in the log:\n%s", r.logs.String())
	}
}

// TestServeConcurrentStarts: two services starting at once on an empty
// database both come up; the migration lock lets one migrate while the
// other waits and then finds nothing to do.
func TestServeConcurrentStarts(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Empty(t)
	a := launchServe(t, serveOptions{dsn: dsn})
	b := launchServe(t, serveOptions{dsn: dsn})
	a.logs.waitFor(t, servingRecord, a.done)
	b.logs.waitFor(t, servingRecord, b.done)
	// Each logs how many files it applied: together, each file once.
	var applied []float64
	for _, r := range []*running{a, b} {
		rec, ok := r.logs.find(record{"msg": "schema is current"})
		if !ok {
			t.Fatalf("no schema record:\n%s", r.logs.String())
		}
		applied = append(applied, rec["applied"].(float64))
	}
	if n := len(versions(t)); applied[0]+applied[1] != float64(n) || applied[0]*applied[1] != 0 {
		t.Errorf("applied %v files, want %d by one of them and 0 by the other:\n%s\n%s", applied, n, a.logs.String(), b.logs.String())
	}
	for _, r := range []*running{a, b} {
		if status, body := r.post(t, "/api/conversations", `{}`); status != http.StatusCreated {
			t.Errorf("create: %d %s", status, body)
		}
	}
}

// appRole creates a login role that may read and write the tables the
// owner creates later, but not change the schema, and returns its URL.
func appRole(t *testing.T, ownerURL string) string {
	t.Helper()
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	dbname := strings.TrimPrefix(u.Path, "/")
	role := "app_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	for _, q := range []string{
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'app-pw'`, role),
		fmt.Sprintf(`GRANT CONNECT ON DATABASE %s TO %s`, dbname, role),
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	owner, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for _, q := range []string{
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
		fmt.Sprintf(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %s`, role),
	} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Runs before pgtestdb drops the database (cleanups are LIFO).
		if o, err := sql.Open("pgx", ownerURL); err == nil {
			o.Exec(fmt.Sprintf(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM %s`, role))
			o.Exec(fmt.Sprintf(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %s`, role))
			o.Close()
		}
		if a, err := sql.Open("pgx", pgtest.AdminURL()); err == nil {
			a.Exec(fmt.Sprintf(`REVOKE ALL ON DATABASE %s FROM %s`, dbname, role))
			a.Exec(fmt.Sprintf(`DROP ROLE IF EXISTS %s`, role))
			a.Close()
		}
	})
	u.User = url.UserPassword(role, "app-pw")
	return u.String()
}
