//go:build integration

package pgcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/pgcluster/internal/control"
	"git.georgsen.dk/hwlab/internal/pgcluster/internal/proc"
	secretpkg "git.georgsen.dk/hwlab/internal/secret"
)

// logRecorder collects Logf lines so tests can check they hold no password.
type logRecorder struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	r.t.Log(line)
}

func (r *logRecorder) assertNoSecret(secret string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, secret) {
			r.t.Errorf("log line contains the password: %q", l)
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func startTemp(t *testing.T, rec *logRecorder) *Cluster {
	t.Helper()
	c, err := Start(testCtx(t), Options{Logf: rec.logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func execSQL(t *testing.T, c *Cluster, sql string) {
	t.Helper()
	conn := connect(t, c)
	if _, err := conn.Exec(testCtx(t), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	_ = conn.Close(context.Background())
}

func rows(t *testing.T, c *Cluster) []string {
	t.Helper()
	conn := connect(t, c)
	defer conn.Close(context.Background())
	r, err := conn.Query(testCtx(t), "SELECT v FROM t ORDER BY v")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestLifecycle(t *testing.T) {
	rec := &logRecorder{t: t}
	c := startTemp(t, rec)
	base := filepath.Dir(c.DataDir())
	if !strings.HasPrefix(base, "/tmp/hwlab-pg-") {
		t.Errorf("temp dir %s not under /tmp/hwlab-pg-", base)
	}
	if len(c.Password()) != 24 {
		t.Errorf("password length %d, want 24", len(c.Password()))
	}

	var one int
	if err := connect(t, c).QueryRow(testCtx(t), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	execSQL(t, c, "CREATE TABLE t (v text); INSERT INTO t VALUES ('a')")

	// Committed rows survive a clean restart (pgfault.Restart) ...
	port := c.Port()
	if err := c.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(testCtx(t), c.URL("postgres")); err == nil {
		conn.Close(context.Background())
		t.Fatal("connected to a stopped server")
	}
	if err := control.Of(c).Restart(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if c.Port() != port {
		t.Errorf("port changed from %d to %d", port, c.Port())
	}
	if got := rows(t, c); strings.Join(got, ",") != "a" {
		t.Fatalf("after restart rows = %v, want [a]", got)
	}

	// ... and a crash (crash recovery replays the WAL). The open session
	// makes sure Kill (pgfault's) also takes down backends.
	execSQL(t, c, "INSERT INTO t VALUES ('b')")
	held := connect(t, c)
	if err := control.Of(c).Kill(); err != nil {
		t.Fatal(err)
	}
	if err := held.Ping(testCtx(t)); err == nil {
		t.Error("session survived Kill")
	}
	if err := control.Of(c).Restart(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, c); strings.Join(got, ",") != "a,b" {
		t.Fatalf("after kill rows = %v, want [a b]", got)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("temp dir %s still exists after Close (err %v)", base, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	rec.assertNoSecret(c.Password())
}

func TestStartErrorHidesPassword(t *testing.T) {
	const secret = "SecretPassw0rdSecretPass"
	old := newPassword
	newPassword = func() (string, error) { return secret, nil }
	t.Cleanup(func() { newPassword = old })

	rec := &logRecorder{t: t}
	// An invalid value makes the server fail at start and echo the value in
	// its log, which Start quotes in the error: the password must not survive.
	_, err := Start(testCtx(t), Options{Logf: rec.logf, Settings: map[string]string{"max_connections": secret}})
	if err == nil {
		t.Fatal("Start succeeded with an invalid setting")
	}
	t.Logf("Start error:\n%v", err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error contains the password")
	}
	if !strings.Contains(err.Error(), secretpkg.Mask) {
		t.Errorf("error does not show the redacted setting; did the failure change?")
	}
	rec.assertNoSecret(secret)
	// The temp dir of the failed start is gone.
	for _, l := range rec.lines {
		if dir, ok := strings.CutPrefix(l, "pgcluster: initdb "); ok {
			base := filepath.Dir(strings.Fields(dir)[0])
			if _, err := os.Stat(base); !os.IsNotExist(err) {
				t.Errorf("temp dir %s left behind after failed Start", base)
			}
		}
	}
}

func TestBinDirMissing(t *testing.T) {
	if !strings.Contains(errNoBinaries.Error(), "apt-get install postgresql") {
		t.Errorf("message does not say what to install: %v", errNoBinaries)
	}
	_, err := Start(testCtx(t), Options{BinDir: "/nonexistent/bin"})
	if err == nil {
		t.Fatal("Start succeeded without binaries")
	}
}

func TestPersistentDir(t *testing.T) {
	parent, err := os.MkdirTemp("/tmp", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	if os.Geteuid() == 0 {
		// MkdirTemp makes a 0700 dir the dropped user cannot enter.
		_, err := Start(testCtx(t), Options{Dir: filepath.Join(parent, "c")})
		if err == nil || !strings.Contains(err.Error(), "/var/tmp") {
			t.Fatalf("Start in an unreachable dir: err = %v, want hint at /var/tmp", err)
		}
		if err := os.Chmod(parent, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(parent, "c")
	rec := &logRecorder{t: t}

	c1, err := Start(testCtx(t), Options{Dir: dir, Logf: rec.logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c1.Close() })
	execSQL(t, c1, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')")

	// A second Start while the server runs adopts it.
	c2, err := Start(testCtx(t), Options{Dir: dir, Logf: rec.logf})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Port() != c1.Port() || c2.Password() != c1.Password() {
		t.Errorf("adopted cluster differs: port %d vs %d", c2.Port(), c1.Port())
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	// c1 still uses the server: c2's Close left it running.
	if !c2.LeftRunning() || c1.Adopted() || !c2.Adopted() {
		t.Errorf("c2 left running %v, c1 adopted %v, c2 adopted %v", c2.LeftRunning(), c1.Adopted(), c2.Adopted())
	}
	execSQL(t, c1, "SELECT 1")
	if err := c1.Close(); err != nil { // the last user out stops it
		t.Fatal(err)
	}
	if c1.LeftRunning() {
		t.Error("the last user out left the server running")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("persistent dir removed by Close: %v", err)
	}

	// Starting again reuses the cluster, its password and its data.
	c3, err := Start(testCtx(t), Options{Dir: dir, Logf: rec.logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c3.Close() })
	if c3.Password() != c1.Password() {
		t.Error("password changed on reuse")
	}
	if got := rows(t, c3); strings.Join(got, ",") != "kept" {
		t.Fatalf("rows = %v, want [kept]", got)
	}
	rec.assertNoSecret(c1.Password())
}

// TestStalePidFileOfAnotherCluster: a postmaster.pid whose pid is now
// another cluster's live postmaster (a reused pid) is not taken for this
// cluster's server: Start starts its own, and the other one is untouched.
func TestStalePidFileOfAnotherCluster(t *testing.T) {
	parent, err := os.MkdirTemp("/tmp", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	other, err := Start(testCtx(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	otherPid, _, ok := other.runningServer()
	if !ok {
		t.Fatal("the other cluster's server is not found running")
	}

	dir := filepath.Join(parent, "c")
	c, err := Start(testCtx(t), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	pidFile, err := os.ReadFile(filepath.Join(other.DataDir(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.DataDir(), "postmaster.pid"), pidFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if servesDataDir(otherPid, c.DataDir()) || !servesDataDir(otherPid, other.DataDir()) || servesDataDir(os.Getpid(), other.DataDir()) {
		t.Error("servesDataDir does not tell the postmaster of a data directory from other processes")
	}

	again, err := Start(testCtx(t), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close() })
	pid, _, ok := again.runningServer()
	if again.Adopted() || !ok || pid == otherPid || again.Port() == other.Port() {
		t.Errorf("Start took the other cluster's server (pid %d) for its own: adopted %v, pid %d, port %d", otherPid, again.Adopted(), pid, again.Port())
	}
	execSQL(t, again, "SELECT 1")
	execSQL(t, other, "SELECT 1")
}

func TestReapOrphans(t *testing.T) {
	rec := &logRecorder{t: t}
	orphan := startTemp(t, rec)
	base := filepath.Dir(orphan.DataDir())
	pid, _, ok := orphan.runningServer()
	if !ok {
		t.Fatal("no running server")
	}
	// Pretend the owner died: a pid that cannot exist.
	if err := os.WriteFile(filepath.Join(base, ownerFileName), []byte("999999999 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startTemp(t, rec) // reaps on start
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("orphan dir %s not removed", base)
	}
	if proc.Alive(pid) {
		t.Errorf("orphan postmaster %d still runs", pid)
	}
}
