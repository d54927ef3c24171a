package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// errNoBouncer says what to install when the pgbouncer binary is missing.
var errNoBouncer = errors.New("pgcluster: the pgbouncer binary was not found in $PATH or /usr/sbin; " +
	"install it with: apt-get install pgbouncer")

// BouncerOptions configures StartBouncer.
type BouncerOptions struct {
	// Host and Port are the PostgreSQL server PgBouncer forwards to. A Host
	// starting with "/" is a unix socket directory.
	Host string
	Port int
	// AuthUser and AuthPassword name a superuser of that server. PgBouncer
	// logs in as it to look up the password secret of every other role
	// (auth_query on pg_shadow), so roles that tests create on the fly
	// work without a user list; it is also the admin of the console.
	AuthUser, AuthPassword string
	// Logf, if set, receives progress messages. It never sees the password.
	Logf func(format string, args ...any)
}

// Bouncer is a PgBouncer in pool_mode = transaction in front of a server,
// started from the local pgbouncer binary (Debian's package) with a
// wildcard database entry, so every database of the server is reachable
// through it. It listens on 127.0.0.1 only. The advisor binary does not use
// it: it is how tests run the store through a transaction pooler.
type Bouncer struct {
	dir      string
	port     int
	user     string
	password string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	logf     func(string, ...any)

	closeOnce sync.Once
	closeErr  error
}

// StartBouncer writes the configuration into a fresh temp directory, starts
// pgbouncer in the foreground as a child process (as the unprivileged user
// when root, like the server: pgbouncer refuses to run as root) and waits
// until its console answers. The process gets SIGKILL if this one dies, so
// a killed test binary leaves no pooler behind.
func StartBouncer(ctx context.Context, opts BouncerOptions) (_ *Bouncer, err error) {
	bin, err := bouncerBinary()
	if err != nil {
		return nil, err
	}
	r, err := newRunner(filepath.Dir(bin))
	if err != nil {
		return nil, err
	}
	// /tmp for the same reason as a temp cluster: traversable for the
	// dropped user.
	reapBouncerDirs(opts.Logf)
	dir, err := os.MkdirTemp("/tmp", "hwlab-pgbouncer-")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := writeOwner(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	b := &Bouncer{dir: dir, user: opts.AuthUser, password: opts.AuthPassword, logf: opts.Logf}
	if b.logf == nil {
		b.logf = func(string, ...any) {}
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
			err = redact(err, opts.AuthPassword)
		}
	}()
	for range 3 {
		if b.port, err = freePort(); err != nil {
			return nil, fmt.Errorf("pgcluster: free port: %w", err)
		}
		if err = b.start(ctx, r, bin, opts); err == nil {
			return b, nil
		}
		if !errors.Is(err, errPortInUse) {
			return nil, err
		}
		b.logf("pgcluster: port %d was taken meanwhile, trying another", b.port)
	}
	return nil, err
}

// reapBouncerDirs removes the directories of Bouncers whose owner died
// without Close (the process itself died with it: Pdeathsig); they hold a
// server password in the user list.
func reapBouncerDirs(logf func(string, ...any)) {
	dirs, _ := filepath.Glob("/tmp/hwlab-pgbouncer-*")
	for _, dir := range dirs {
		if !ownerAlive(dir) && os.RemoveAll(dir) == nil && logf != nil {
			logf("pgcluster: removed the directory of a dead owner's PgBouncer, %s", dir)
		}
	}
}

// bouncerBinary finds pgbouncer; Debian installs it in /usr/sbin, which a
// non-root PATH often lacks.
func bouncerBinary() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/sbin/pgbouncer"); err == nil && !fi.IsDir() {
		return "/usr/sbin/pgbouncer", nil
	}
	return "", errNoBouncer
}

// start writes the configuration for b.port, starts the process and waits
// until the console accepts a login.
func (b *Bouncer) start(ctx context.Context, r *runner, bin string, opts BouncerOptions) error {
	conf := filepath.Join(b.dir, "pgbouncer.ini")
	logFile := filepath.Join(b.dir, "pgbouncer.log")
	if err := b.writeConf(conf, logFile, opts); err != nil {
		return err
	}
	if err := r.chownTree(b.dir); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	offset := logSize(logFile)
	// Not ctx: the process outlives Start; Close ends it.
	cmd := r.command(context.Background(), b.dir, filepath.Base(bin), conf)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	b.logf("pgcluster: starting PgBouncer (transaction pooling) on 127.0.0.1:%d in front of %s:%d",
		b.port, opts.Host, opts.Port)
	// The parent-death signal fires when the thread that forked the child
	// ends, not the process, so that thread stays locked to the goroutine
	// that waits for the child until it exits.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(exited)
		err := cmd.Start()
		started <- err
		if err == nil {
			_ = cmd.Wait()
		}
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgcluster: start pgbouncer: %w", err)
	}
	b.cmd, b.exited = cmd, exited
	err := b.waitReady(ctx)
	if err == nil {
		b.logf("pgcluster: PgBouncer ready on 127.0.0.1:%d", b.port)
		return nil
	}
	b.stop()
	log := logSince(logFile, offset)
	err = fmt.Errorf("pgcluster: pgbouncer on port %d: %w\npgbouncer log %s:\n%s", b.port, err, logFile, lastLines(log, 20))
	if strings.Contains(string(log), "Address already in use") {
		err = fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

// writeConf writes pgbouncer.ini and the user list that holds the auth
// user's password (0600, read by pgbouncer only).
func (b *Bouncer) writeConf(conf, logFile string, opts BouncerOptions) error {
	users := filepath.Join(b.dir, "userlist.txt")
	if err := os.WriteFile(users, []byte(quoteIni(opts.AuthUser)+" "+quoteIni(opts.AuthPassword)+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	settings := [][2]string{
		{"listen_addr", "127.0.0.1"},
		{"listen_port", strconv.Itoa(b.port)},
		{"unix_socket_dir", ""}, // TCP only: nothing to clean up
		{"logfile", logFile},
		{"pool_mode", "transaction"},
		{"auth_type", "scram-sha-256"},
		{"auth_file", users},
		{"auth_user", opts.AuthUser},
		{"auth_query", "SELECT usename, passwd FROM pg_shadow WHERE usename=$1"},
		{"admin_users", opts.AuthUser},
		// Tests run many stores side by side; the server allows 200.
		{"max_client_conn", "1000"},
		{"default_pool_size", "20"},
		// No server_reset_query in transaction mode (PgBouncer's default),
		// and no TLS on loopback.
		{"server_tls_sslmode", "disable"},
	}
	var sb strings.Builder
	sb.WriteString("[databases]\n")
	// The wildcard entry: every database name the client asks for, on the
	// server; the auth user's login looks up the client's role there.
	fmt.Fprintf(&sb, "* = host=%s port=%d\n", opts.Host, opts.Port)
	sb.WriteString("\n[pgbouncer]\n")
	for _, kv := range settings {
		fmt.Fprintf(&sb, "%s = %s\n", kv[0], kv[1])
	}
	if err := os.WriteFile(conf, []byte(sb.String()), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// quoteIni quotes a name or password for pgbouncer's user list: in double
// quotes, a double quote doubled.
func quoteIni(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// waitReady logs into the console until it answers, or the process exits.
func (b *Bouncer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := b.Console(ctx, "SHOW VERSION")
		if err == nil {
			return nil
		}
		select {
		case <-b.exited:
			return fmt.Errorf("pgbouncer exited: %v", b.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Port returns the TCP port PgBouncer listens on (127.0.0.1).
func (b *Bouncer) Port() int { return b.port }

// Dir returns the directory of pgbouncer.ini and pgbouncer.log.
func (b *Bouncer) Dir() string { return b.dir }

// Console runs one command on PgBouncer's admin console (the "pgbouncer"
// database), which speaks the simple query protocol only.
func (b *Bouncer) Console(ctx context.Context, command string) error {
	u := url.URL{
		Scheme: "postgres", User: url.UserPassword(b.user, b.password),
		Host: "127.0.0.1:" + strconv.Itoa(b.port), Path: "/pgbouncer", RawQuery: "sslmode=disable",
	}
	conn, err := pgconn.Connect(ctx, u.String())
	if err != nil {
		return redact(err, b.password)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, command).ReadAll()
	return redact(err, b.password)
}

// KillDB drops every client and server connection PgBouncer holds for the
// database (KILL on the console), so that it can be dropped: PgBouncer
// keeps idle server connections in its pool after the clients left. A
// database PgBouncer never saw is not an error.
func (b *Bouncer) KillDB(ctx context.Context, dbname string) error {
	err := b.Console(ctx, "KILL "+quoteIdent(dbname))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.Contains(pgErr.Message, "no such database") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: pgbouncer KILL %s: %w", dbname, err)
	}
	return nil
}

// quoteIdent quotes a database name for the console, which parses
// identifiers like PostgreSQL does.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Close stops PgBouncer (SIGTERM: immediate shutdown, clients are cut
// off) and removes its directory. Calling it again does nothing.
func (b *Bouncer) Close() error {
	b.closeOnce.Do(func() {
		b.stop()
		b.closeErr = os.RemoveAll(b.dir)
	})
	return b.closeErr
}

// stop ends the process: SIGTERM, then SIGKILL if it has not exited
// within 10 s.
func (b *Bouncer) stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	b.logf("pgcluster: PgBouncer on 127.0.0.1:%d stopped", b.port)
}
