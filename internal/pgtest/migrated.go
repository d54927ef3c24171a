package pgtest

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/peterldowns/pgtestdb"

	"git.georgsen.dk/hwlab/migrate"
)

// Migrated returns the URL of a fresh database of this test's own, migrated
// with the embedded migration directory the way production migrates.
func Migrated(t testing.TB) string {
	t.Helper()
	return NewDB(t, embeddedMigrator{})
}

// Empty returns the URL of a fresh database with no schema at all.
func Empty(t testing.TB) string {
	t.Helper()
	return NewDB(t, emptyMigrator{})
}

// embeddedMigrator applies migrate.EmbeddedDir; its hash is atlas.sum's, so
// the template database is rebuilt whenever the migrations change.
type embeddedMigrator struct{}

func (embeddedMigrator) Hash() (string, error) {
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		return "", err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return "", err
	}
	return "embedded-" + sum.Sum(), nil
}

func (embeddedMigrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	_, err := migrate.Apply(ctx, db, migrate.Options{})
	return err
}

type emptyMigrator struct{}

func (emptyMigrator) Hash() (string, error) { return "empty-v1", nil }

func (emptyMigrator) Migrate(context.Context, *sql.DB, pgtestdb.Config) error { return nil }

// MigrationFiles returns the embedded migration files in order, so tests
// follow the directory as migrations are added instead of hard-coding it.
func MigrationFiles(t testing.TB) []atlasmigrate.File {
	t.Helper()
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ScratchMigrations writes a copy of the embedded migration directory, its
// atlas.sum included, into a temp dir for a test to edit.
func ScratchMigrations(t testing.TB) string {
	t.Helper()
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	sum, err := fs.ReadFile(dir, "atlas.sum")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "atlas.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range MigrationFiles(t) {
		if err := os.WriteFile(filepath.Join(dst, f.Name()), f.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// OriginalSchemaDDL is the original schema (v1) as its CREATE TABLE IF NOT
// EXISTS code made it: what a database made before migrations existed
// holds, and what the first migration file equals.
const OriginalSchemaDDL = `
CREATE TABLE IF NOT EXISTS conversations (
	id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
	started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	model TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS messages (
	id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
	conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('user','assistant','system')),
	content TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);`
