// Package atlasclitest reproduces, for tests, what the Atlas CLI writes to a
// database when it migrates it, so that tests can show the advisor takes
// over a CLI-migrated database. The CLI cannot be installed here; every
// value below is taken from its source (github.com/ariga/atlas, files named
// at each function; library files at the module version in go.mod). Import
// it only from _test.go files.
package atlasclitest

import (
	"context"
	"database/sql"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
)

// Operator is what the CLI records as operator_version ("Atlas CLI " and
// its version, cmd/atlas/internal/cmdapi); no logic reads it.
const Operator = "Atlas CLI v0.32.1"

// RevisionsTable is the table the CLI's ent code migrates, copied from
// cmd/atlas/internal/migrate/ent/migrate/schema.go (generated from
// ent/schema/revision.go: String → varchar, Uint/Int/Int64 → bigint,
// Text → text, Strings → jsonb, Time → timestamptz).
func RevisionsTable() *entschema.Table {
	cols := []*entschema.Column{
		{Name: "version", Type: field.TypeString},
		{Name: "description", Type: field.TypeString},
		{Name: "type", Type: field.TypeUint, Default: 2},
		{Name: "applied", Type: field.TypeInt, Default: 0},
		{Name: "total", Type: field.TypeInt, Default: 0},
		{Name: "executed_at", Type: field.TypeTime},
		{Name: "execution_time", Type: field.TypeInt64},
		{Name: "error", Type: field.TypeString, Nullable: true, Size: 2147483647},
		{Name: "error_stmt", Type: field.TypeString, Nullable: true, Size: 2147483647},
		{Name: "hash", Type: field.TypeString},
		{Name: "partial_hashes", Type: field.TypeJSON, Nullable: true},
		{Name: "operator_version", Type: field.TypeString},
	}
	return &entschema.Table{Name: "atlas_schema_revisions", Columns: cols, PrimaryKey: cols[:1]}
}

// CreateRevisionsTable creates the revisions table the way the CLI does:
// the schema first (NewEntRevisions), then ent's migration on a connection
// bound to it by search_path (EntRevisions.Migrate), both in
// cmd/atlas/internal/migrate/migrate.go.
func CreateRevisionsTable(t testing.TB, url string) {
	t.Helper()
	db := pgtest.Open(t, url)
	if _, err := db.Exec(`CREATE SCHEMA IF NOT EXISTS atlas_schema_revisions`); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	bound := pgtest.Open(t, url+sep+"search_path=atlas_schema_revisions")
	m, err := entschema.NewMigrate(entsql.OpenDB(dialect.Postgres, bound), entschema.WithDropColumn(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(context.Background(), RevisionsTable()); err != nil {
		t.Fatalf("ent migrate of the CLI's revisions table: %v", err)
	}
}

// InsertIdentifier adds the row EntRevisions.ID writes
// (cmd/atlas/internal/migrate/migrate.go): version ".atlas_cloud_identifier",
// a UUID as description, the defaults for type, applied and total, an empty
// hash, and neither error nor partial hashes set (NULL).
func InsertIdentifier(t testing.TB, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO atlas_schema_revisions.atlas_schema_revisions
  (version, description, executed_at, execution_time, hash, operator_version)
VALUES ('.atlas_cloud_identifier', gen_random_uuid()::text, now(), 0, '', $1)`, Operator); err != nil {
		t.Fatal(err)
	}
}

// Sums returns the atlas.sum entries of dir, file name → hash without
// "h1:", as the executor reads them (HashFile.SumByName).
func Sums(t testing.TB, dir migrate.Dir) atlasmigrate.HashFile {
	t.Helper()
	f, err := dir.Open(atlasmigrate.HashFileName)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	var hf atlasmigrate.HashFile
	if err := hf.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	return hf
}

// Apply migrates the database at url with the embedded directory the way
// `atlas migrate apply` would: the revisions table from the CLI's ent
// schema; each file and its revision row in one transaction (a txmode none
// file's statements outside it); the row as
// Executor.Execute (sql/migrate/migrate.go) fills it and SetRevision
// (cmd/atlas/internal/migrate/ent/convert.go) stores it — type 2,
// applied = total, the atlas.sum hash, error and error_stmt empty strings,
// partial_hashes the JSON null after success; plus the identifier row.
func Apply(t testing.TB, url string) {
	t.Helper()
	CreateRevisionsTable(t, url)
	db := pgtest.Open(t, url)
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	sums := Sums(t, dir)
	for _, f := range files {
		stmts, err := f.Stmts()
		if err != nil {
			t.Fatal(err)
		}
		hash, err := sums.SumByName(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// A `-- atlas:txmode none` file runs its statements outside the
		// transaction (CREATE INDEX CONCURRENTLY cannot run in one).
		var exec interface {
			Exec(string, ...any) (sql.Result, error)
		} = tx
		if lf, ok := f.(*atlasmigrate.LocalFile); ok && slices.Contains(lf.Directive("txmode"), "none") {
			exec = db
		}
		start := time.Now()
		for _, s := range stmts {
			if _, err := exec.Exec(s); err != nil {
				t.Fatalf("%s: %v", f.Name(), err)
			}
		}
		if _, err := tx.Exec(`INSERT INTO atlas_schema_revisions.atlas_schema_revisions
  (version, description, type, applied, total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, operator_version)
VALUES ($1, $2, 2, $3, $3, $4, $5, '', '', $6, 'null', $7)`,
			f.Version(), f.Desc(), len(stmts), start, int64(time.Since(start)), hash, Operator); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	InsertIdentifier(t, db)
}
