//go:build integration

package migrate_test

// Atlas CLI interop. The Atlas CLI cannot be installed here, so these tests
// pin, from its source, what the CLI writes and reads, and check that we
// write and read the same. Sources (github.com/ariga/atlas; the library files
// are those of the module version in go.mod,
// ariga.io/atlas v0.32.1-0.20250325101103-175b25e1c1b9):
//
//   - cmd/atlas/internal/migrate/ent/schema/revision.go and the code ent
//     generates from it, cmd/atlas/internal/migrate/ent/migrate/schema.go:
//     the revisions table;
//   - cmd/atlas/internal/migrate/ent/convert.go (template
//     ent/template/convert.tmpl): SetRevision sets every field of a
//     migrate.Revision, so an empty error is '' and nil partial hashes are
//     the JSON null;
//   - cmd/atlas/internal/migrate/migrate.go: EntRevisions, which skips the
//     ".atlas_cloud_identifier" row and upserts with UpdateNewValues;
//   - sql/migrate/migrate.go (library): Executor.Execute and Pending, which
//     fill the revision fields (type, applied/total, hash, execution time);
//   - sql/postgres/driver_oss.go (library): Driver.Lock, fnv.New32 of the
//     lock name; cmd/atlas/internal/cmdapi/migrate.go: the name
//     "atlas_migrate_execute" (applyLockValue).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"

	"git.georgsen.dk/hwlab/internal/atlasclitest"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
)

// describeRevisionsTable lists every column's type, default and nullability
// and the primary key, as information_schema sees them.
func describeRevisionsTable(t *testing.T, db *sql.DB) string {
	t.Helper()
	out := queryStrings(t, db, `
SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') ||
       ' null=' || is_nullable || ' default=' || coalesce(column_default, '-')
FROM information_schema.columns
WHERE table_schema = 'atlas_schema_revisions' AND table_name = 'atlas_schema_revisions'
ORDER BY column_name`)
	var pk string
	mustQueryRow(t, db, `
SELECT string_agg(k.column_name, ',' ORDER BY k.ordinal_position)
FROM information_schema.table_constraints c
JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
WHERE c.table_schema = 'atlas_schema_revisions' AND c.table_name = 'atlas_schema_revisions' AND c.constraint_type = 'PRIMARY KEY'`, &pk)
	return strings.Join(out, "\n") + "\nPK(" + pk + ")"
}

// TestRevisionsTableMatchesCLI: the table Apply creates is column for column
// (type, size, nullability, default) and key for key the table the CLI's
// ent schema creates, so the CLI's re-sync on every run finds nothing to
// change.
func TestRevisionsTableMatchesCLI(t *testing.T) {
	t.Parallel()
	ours := openEmpty(t)
	if _, err := migrate.Apply(context.Background(), ours, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	cliURL := pgtest.Empty(t)
	atlasclitest.CreateRevisionsTable(t, cliURL)
	got, want := describeRevisionsTable(t, ours), describeRevisionsTable(t, pgtest.Open(t, cliURL))
	if got != want {
		t.Errorf("revisions table differs from the CLI's\nours:\n%s\nCLI:\n%s", got, want)
	}
	if !strings.Contains(want, "type bigint null=NO default=2") || !strings.Contains(want, "PK(version)") {
		t.Errorf("unexpected CLI table (did ent's mapping change?):\n%s", want)
	}
}

type rawRevision struct {
	version, description                 string
	typ, applied, total, execTime        int64
	executedAt                           time.Time
	errText, errStmt                     sql.NullString
	hash, operator, partialType, partial string
}

func rawRevisions(t *testing.T, db *sql.DB) map[string]rawRevision {
	t.Helper()
	rows, err := db.Query(`SELECT version, description, type, applied, total, executed_at, execution_time,
  error, error_stmt, hash, operator_version, coalesce(jsonb_typeof(partial_hashes), 'SQL NULL'), coalesce(partial_hashes::text, '')
FROM atlas_schema_revisions.atlas_schema_revisions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]rawRevision{}
	for rows.Next() {
		var r rawRevision
		if err := rows.Scan(&r.version, &r.description, &r.typ, &r.applied, &r.total, &r.executedAt, &r.execTime,
			&r.errText, &r.errStmt, &r.hash, &r.operator, &r.partialType, &r.partial); err != nil {
			t.Fatal(err)
		}
		out[r.version] = r
	}
	return out
}

func stmtCount(t *testing.T, f atlasmigrate.File) int64 {
	t.Helper()
	stmts, err := f.Stmts()
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(stmts))
}

// TestExecuteRevisionRowsMatchCLI: each applied file's row holds what the
// CLI's executor and ent code write: type 2 (execute), applied = total =
// the file's statement count, the file's atlas.sum hash without "h1:", the
// description from the file name, executed_at, execution_time in
// nanoseconds, error and error_stmt empty strings (not NULL), partial_hashes JSON null.
func TestExecuteRevisionRowsMatchCLI(t *testing.T) {
	t.Parallel()
	// The revision types the rows carry (sql/migrate/migrate.go).
	if atlasmigrate.RevisionTypeBaseline != 1 || atlasmigrate.RevisionTypeExecute != 2 || atlasmigrate.RevisionTypeResolved != 4 {
		t.Fatal("Atlas changed its revision type values")
	}
	db := openEmpty(t)
	start := time.Now()
	if _, err := migrate.Apply(context.Background(), db, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	dir, _ := migrate.EmbeddedDir()
	files, _ := dir.Files()
	revs, hashes := rawRevisions(t, db), atlasclitest.Sums(t, dir)
	if len(revs) != len(files) {
		t.Fatalf("%d revision rows for %d files", len(revs), len(files))
	}
	for _, f := range files {
		r := revs[f.Version()]
		n := stmtCount(t, f)
		if r.typ != 2 || r.applied != n || r.total != n {
			t.Errorf("%s: type %d applied %d total %d, want 2 %d %d", f.Name(), r.typ, r.applied, r.total, n, n)
		}
		if want, _ := hashes.SumByName(f.Name()); r.hash != want || strings.HasPrefix(r.hash, "h1:") || r.hash == "" {
			t.Errorf("%s: hash %q, want %q (atlas.sum without h1:)", f.Name(), r.hash, want)
		}
		if r.description != f.Desc() {
			t.Errorf("%s: description %q, want %q", f.Name(), r.description, f.Desc())
		}
		if r.operator != migrate.OperatorVersion {
			t.Errorf("%s: operator_version %q", f.Name(), r.operator)
		}
		if r.executedAt.Before(start.Add(-time.Second)) || r.executedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: executed_at %v not during the run", f.Name(), r.executedAt)
		}
		// Nanoseconds: positive and no longer than the whole run.
		if r.execTime <= 0 || r.execTime > int64(elapsed) {
			t.Errorf("%s: execution_time %d, want 0 < ns <= %d", f.Name(), r.execTime, int64(elapsed))
		}
		if !r.errText.Valid || r.errText.String != "" || !r.errStmt.Valid || r.errStmt.String != "" {
			t.Errorf("%s: error %v error_stmt %v, want '' (the CLI's SetRevision sets them)", f.Name(), r.errText, r.errStmt)
		}
		if r.partialType != "null" {
			t.Errorf("%s: partial_hashes is %s, want the JSON null", f.Name(), r.partialType)
		}
	}
}

// TestBaselineRevisionRowMatchesCLI: a baseline row is type 1 with
// applied = total = 0, no hash and no execution time, as Pending writes it
// (sql/migrate/migrate.go).
func TestBaselineRevisionRowMatchesCLI(t *testing.T) {
	t.Parallel()
	db := openEmpty(t)
	mustExec(t, db, originalDDL)
	if _, err := migrate.Apply(context.Background(), db, migrate.Options{Baseline: v1}); err != nil {
		t.Fatal(err)
	}
	r := rawRevisions(t, db)[v1]
	if r.typ != 1 || r.applied != 0 || r.total != 0 ||
		r.hash != "" || r.execTime != 0 || r.description != "plan_schema" || r.errText.String != "" || r.partialType != "null" {
		t.Errorf("baseline row = %+v", r)
	}
}

// TestCloudIdentifierRowIsSkipped: the CLI's identifier row is not a
// revision: status does not count it, apply neither trips over it nor
// removes it.
func TestCloudIdentifierRowIsSkipped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	if _, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	atlasclitest.InsertIdentifier(t, db)
	st, err := migrate.Status(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := embeddedFiles(t)
	if latest := versionOf(all[len(all)-1]); !st.UpToDate() || len(st.Applied) != len(all) || st.Current != latest {
		t.Errorf("status = %+v, want up to date at %s with %d revisions", st, latest, len(all))
	}
	for _, r := range st.Applied {
		if strings.HasPrefix(r.Version, ".") {
			t.Errorf("identifier row read as a revision: %+v", r)
		}
	}
	if applied, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil || len(applied) != 0 {
		t.Errorf("Apply = %v, %v; want nothing to do", applied, err)
	}
	if _, ok := rawRevisions(t, db)[".atlas_cloud_identifier"]; !ok {
		t.Error("identifier row removed")
	}
}

// TestLockKeyMatchesCLI: the advisory lock is fnv.New32 (FNV-1, not 1a) of
// "atlas_migrate_execute" = 2686470616, and Apply holds it in pg_locks, on a
// connection of its own, for the whole run.
func TestLockKeyMatchesCLI(t *testing.T) {
	t.Parallel()
	h := fnv.New32()
	h.Write([]byte("atlas_migrate_execute"))
	const cliKey = 2686470616
	if h.Sum32() != cliKey {
		t.Fatalf("fnv32(atlas_migrate_execute) = %d, want %d", h.Sum32(), cliKey)
	}
	ctx := context.Background()
	// A third file that waits for a lock the test holds: Apply is then
	// provably mid-run while the test looks at pg_locks.
	path := scratchDir(t)
	os.WriteFile(filepath.Join(path, "20991231000000_wait.sql"), []byte("SELECT pg_advisory_xact_lock(4242);\n"), 0o644)
	rehash(t, path)
	url := pgtest.Empty(t)
	db, observer := pgtest.Open(t, url), pgtest.Open(t, url)
	gate, err := observer.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	if _, err := gate.ExecContext(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var applyErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, applyErr = migrate.Apply(ctx, db, migrate.Options{Dir: mustOpen(t, path)})
	}()
	const thisDB = ` AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
	waitFor(t, observer, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted`+thisDB)
	var holders int
	var samePID bool
	// Advisory locks are per database, and other tests migrate other
	// databases of the same server meanwhile: look at this one only.
	mustQueryRow(t, observer, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND objsubid = 1 AND granted`+thisDB, &holders, int64(cliKey))
	mustQueryRow(t, observer, `SELECT EXISTS (SELECT 1 FROM pg_locks a JOIN pg_locks w USING (pid)
  WHERE a.objid = $1 AND a.database = w.database AND w.objid = 4242 AND NOT w.granted)`, &samePID, int64(cliKey))
	if _, err := gate.ExecContext(ctx, `SELECT pg_advisory_unlock(4242)`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if applyErr != nil {
		t.Fatal(applyErr)
	}
	if holders != 1 {
		t.Errorf("%d sessions hold advisory lock %d during Apply, want 1", holders, cliKey)
	}
	if samePID {
		t.Error("the lock is held by the connection running the migration; the CLI holds it on a dedicated one")
	}
	var after int
	mustQueryRow(t, observer, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1`+thisDB, &after, int64(cliKey))
	if after != 0 {
		t.Error("lock still held after Apply returned")
	}
}

func versionOf(file string) string { return strings.SplitN(file, "_", 2)[0] }

// waitFor polls query until it returns a positive count: a wait on a
// condition the test observes, bounded by a deadline, not a sleep.
func waitFor(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		mustQueryRow(t, db, query, &n)
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition never held: %s", query)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCLIAppliedFirst: a database the CLI migrated is up to date for us.
func TestCLIAppliedFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Empty(t)
	atlasclitest.Apply(t, url)
	db := pgtest.Open(t, url)
	st, err := migrate.Status(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := embeddedFiles(t)
	if !st.UpToDate() || st.Current != versionOf(all[len(all)-1]) || len(st.Applied) != len(all) {
		t.Errorf("status after the CLI = %+v", st)
	}
	if applied, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil || len(applied) != 0 {
		t.Errorf("Apply after the CLI = %v, %v; want nothing to do", applied, err)
	}
}

// cliRevisions reads the history the way the CLI's ent-generated code scans
// it (cmd/atlas/internal/migrate/ent/revision.go: NullString/NullInt64/
// NullTime, JSON fields unmarshalled only when non-empty) and skips the
// identifier row (EntRevisions.ReadRevisions).
type cliRevisions struct{ db *sql.DB }

func (c cliRevisions) Ident() *atlasmigrate.TableIdent {
	return &atlasmigrate.TableIdent{Name: "atlas_schema_revisions", Schema: "atlas_schema_revisions"}
}

func (c cliRevisions) ReadRevisions(ctx context.Context) ([]*atlasmigrate.Revision, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT version, description, type, applied, total, executed_at, execution_time,
  error, error_stmt, hash, partial_hashes, operator_version
FROM atlas_schema_revisions.atlas_schema_revisions WHERE version <> '.atlas_cloud_identifier' ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*atlasmigrate.Revision
	for rows.Next() {
		var (
			version, desc, errText, errStmt, hash, op sql.NullString
			typ, applied, total, execTime             sql.NullInt64
			executedAt                                sql.NullTime
			partial                                   []byte
		)
		if err := rows.Scan(&version, &desc, &typ, &applied, &total, &executedAt, &execTime, &errText, &errStmt, &hash, &partial, &op); err != nil {
			return nil, err
		}
		r := &atlasmigrate.Revision{
			Version: version.String, Description: desc.String, Type: atlasmigrate.RevisionType(typ.Int64),
			Applied: int(applied.Int64), Total: int(total.Int64), ExecutedAt: executedAt.Time,
			ExecutionTime: time.Duration(execTime.Int64), Error: errText.String, ErrorStmt: errStmt.String,
			Hash: hash.String, OperatorVersion: op.String,
		}
		if len(partial) > 0 {
			if err := json.Unmarshal(partial, &r.PartialHashes); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (c cliRevisions) ReadRevision(ctx context.Context, v string) (*atlasmigrate.Revision, error) {
	revs, err := c.ReadRevisions(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range revs {
		if r.Version == v {
			return r, nil
		}
	}
	return nil, atlasmigrate.ErrRevisionNotExist
}

func (cliRevisions) WriteRevision(context.Context, *atlasmigrate.Revision) error {
	return errors.New("read only")
}

func (cliRevisions) DeleteRevision(context.Context, string) error { return errors.New("read only") }

// TestCLIReadsOurHistory: our rows, decoded as the CLI decodes them and fed
// to the executor the CLI uses, leave nothing pending, with the hashes and
// counts the CLI would have written itself.
func TestCLIReadsOurHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	if _, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	dir, _ := migrate.EmbeddedDir()
	drv, err := postgres.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := atlasmigrate.NewExecutor(drv, dir, cliRevisions{db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Pending(ctx); !errors.Is(err, atlasmigrate.ErrNoPendingFiles) {
		t.Errorf("the CLI's executor over our history: Pending = %v, want ErrNoPendingFiles", err)
	}
	revs, err := cliRevisions{db}.ReadRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hashes := atlasclitest.Sums(t, dir)
	files, _ := dir.Files()
	for i, r := range revs {
		if want, _ := hashes.SumByName(files[i].Name()); r.Hash != want || r.Applied != r.Total || r.PartialHashes != nil || r.Error != "" {
			t.Errorf("revision %s as the CLI reads it: %+v", r.Version, r)
		}
	}
}
