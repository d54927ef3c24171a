package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// lockName is the Atlas CLI's lock for `migrate apply`; the postgres driver
// takes pg_try_advisory_lock(fnv32(lockName)) = 2686470616 on a dedicated
// connection, so we and the CLI exclude each other.
const lockName = "atlas_migrate_execute"

// OperatorVersion is recorded in every revision row we write.
const OperatorVersion = "hwlab-advisor"

// Options tune Apply. The zero value applies the embedded directory.
type Options struct {
	// Dir is the migration directory; nil means EmbeddedDir.
	Dir Dir
	// Baseline marks a non-empty database without revision history as being
	// at this version; only later files are applied.
	Baseline string
	// LockTimeout bounds the wait for another migrator; default 1 minute.
	LockTimeout time.Duration
	// Logf, when set, receives one line of progress per file.
	Logf func(format string, args ...any)
	// BeforeApply, when set, runs once the lock is held and before anything
	// is read or written under it (the revisions table, a baseline row,
	// the files): a check that must see the schema the files will be
	// applied to, such as CheckBaseline, which a concurrent migrator could
	// otherwise change between the check and the apply. An error aborts
	// Apply or DryRun with nothing changed, and is returned as it is.
	BeforeApply func(ctx context.Context) error
}

// ErrNotClean is returned (wrapped) when the database already holds tables
// but no revision history, and no Baseline was given.
var ErrNotClean = errors.New("migrate: database is not empty and has no migration history")

// FileError reports a migration file that failed. Its transaction was rolled
// back, so none of its statements and no revision row remain.
type FileError struct {
	File string // file name, e.g. 20261127162457_message_seq_and_count.sql
	Stmt string // the statement that failed, if any
	Err  error  // the database's error
}

func (e *FileError) Error() string {
	if e.Stmt == "" {
		return fmt.Sprintf("migrate: %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("migrate: %s: statement %q: %v", e.File, e.Stmt, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Apply brings db up to the latest version of the directory and returns the
// names of the files it applied. It is idempotent, and safe to run from
// several processes at once: they serialise on the CLI's advisory lock, and
// the ones that come later find nothing pending. A database that holds
// tables but no history is refused with an error wrapping ErrNotClean, unless
// Options.Baseline names the version it is at; see CheckBaseline. A file
// that fails is reported as a *FileError.
func Apply(ctx context.Context, db *sql.DB, opts Options) ([]string, error) {
	dir, unlock, pending, err := lockedPending(ctx, db, opts, false)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	defer unlock()
	var applied []string
	for _, f := range pending {
		opts.logf("applying %s", f.Name())
		start := time.Now()
		if err := applyFile(ctx, db, dir, f, opts); err != nil {
			return applied, err
		}
		applied = append(applied, f.Name())
		opts.logf("applied %s in %s", f.Name(), time.Since(start).Round(time.Millisecond))
	}
	return applied, nil
}

// lockedPending validates the directory, takes the CLI's lock and returns
// the files still to apply. On success with files pending, the caller
// releases the lock with unlock; otherwise it is already released. A dry run
// writes nothing: it neither creates the revisions table nor records a
// baseline.
func lockedPending(ctx context.Context, db *sql.DB, opts Options, dry bool) (_ Dir, _ func(), _ []atlasmigrate.File, err error) {
	dir, err := validDir(opts.Dir)
	if err != nil {
		return nil, nil, nil, err
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("migrate: %w", err)
	}
	release, err := lock(ctx, drv, opts.lockTimeout())
	if err != nil {
		return nil, nil, nil, err
	}
	unlock := func() { _ = release() }
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	if opts.BeforeApply != nil {
		if err := opts.BeforeApply(ctx); err != nil {
			return nil, nil, nil, err
		}
	}
	var rrw atlasmigrate.RevisionReadWriter = &revisions{db}
	if dry {
		rrw, err = readOnlyRevisions(ctx, db)
	} else {
		err = ensureRevisionsTable(ctx, db)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	files, err := pending(ctx, drv, dir, rrw, opts)
	switch {
	case err != nil:
		return nil, nil, nil, pendingError(dir, err)
	case len(files) == 0:
		unlock()
		return dir, nil, nil, nil
	}
	return dir, unlock, files, nil
}

// applyFile runs one file and its revision row in one transaction, as the
// CLI does, unless the file opts out with `-- atlas:txmode none`.
func applyFile(ctx context.Context, db *sql.DB, dir Dir, f atlasmigrate.File, opts Options) error {
	if lf, ok := f.(*atlasmigrate.LocalFile); ok && slices.Contains(lf.Directive("txmode"), "none") {
		// One session for the whole file, so a SET in one statement
		// applies to the next, as under the CLI.
		conn, err := db.Conn(ctx)
		if err != nil {
			return &FileError{File: f.Name(), Err: err}
		}
		defer conn.Close()
		drv, err := postgres.Open(conn)
		if err != nil {
			return &FileError{File: f.Name(), Err: err}
		}
		return execute(ctx, drv, &revisions{conn}, dir, f, opts)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return &FileError{File: f.Name(), Err: err}
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	drv, err := postgres.Open(tx)
	if err != nil {
		return &FileError{File: f.Name(), Err: err}
	}
	if err := execute(ctx, drv, &revisions{tx}, dir, f, opts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return &FileError{File: f.Name(), Err: err}
	}
	return nil
}

func execute(ctx context.Context, drv atlasmigrate.Driver, rrw atlasmigrate.RevisionReadWriter, dir Dir, f atlasmigrate.File, opts Options) error {
	ex, err := atlasmigrate.NewExecutor(drv, dir, rrw, opts.executorOptions()...)
	if err != nil {
		return &FileError{File: f.Name(), Err: err}
	}
	err = ex.Execute(ctx, f)
	if err == nil {
		return nil
	}
	var stmtErr *atlasmigrate.StmtExecError
	if errors.As(err, &stmtErr) {
		// The executor's attempt to record the failure inside the aborted
		// transaction fails too; the statement's own error is what matters.
		return &FileError{File: f.Name(), Stmt: stmtErr.Stmt.Text, Err: stmtErr.Err}
	}
	return &FileError{File: f.Name(), Err: err}
}

func lock(ctx context.Context, drv atlasmigrate.Driver, timeout time.Duration) (schema.UnlockFunc, error) {
	locker, ok := drv.(schema.Locker)
	if !ok {
		return nil, fmt.Errorf("migrate: driver %T cannot lock", drv)
	}
	// Wait no longer than ctx allows; a ctx already past its deadline
	// (its timer may not have fired yet) does not try at all.
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			err := ctx.Err()
			if err == nil {
				err = context.DeadlineExceeded
			}
			return nil, fmt.Errorf("migrate: acquire lock: %w", err)
		}
		timeout = min(timeout, left)
	}
	unlock, err := locker.Lock(ctx, lockName, timeout)
	if errors.Is(err, schema.ErrLocked) {
		return nil, fmt.Errorf("migrate: another migration holds the lock (waited %s): %w", timeout.Round(time.Millisecond), err)
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: acquire lock: %w", err)
	}
	return unlock, nil
}

func pendingError(dir Dir, err error) error {
	var notClean *atlasmigrate.NotCleanError
	if errors.As(err, &notClean) {
		first := "VERSION"
		if files, ferr := dir.Files(); ferr == nil && len(files) > 0 {
			first = files[0].Version()
		}
		return fmt.Errorf("%w (%s). If it holds the original schema (v1), made before "+
			"migrations existed, apply with --baseline %s", ErrNotClean, notClean.Reason, first)
	}
	return fmt.Errorf("migrate: %w", err)
}

// validDir returns dir, or EmbeddedDir when it is nil, once it matches its
// atlas.sum.
func validDir(dir Dir) (Dir, error) {
	if dir == nil {
		var err error
		if dir, err = EmbeddedDir(); err != nil {
			return nil, err
		}
	}
	return dir, Validate(dir)
}

func (o Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return time.Minute
}

func (o Options) executorOptions() []atlasmigrate.ExecutorOption {
	ex := []atlasmigrate.ExecutorOption{atlasmigrate.WithOperatorVersion(OperatorVersion)}
	if o.Baseline != "" {
		ex = append(ex, atlasmigrate.WithBaselineVersion(o.Baseline))
	}
	return ex
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}
