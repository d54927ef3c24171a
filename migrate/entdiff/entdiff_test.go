//go:build integration

package entdiff_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
	"git.georgsen.dk/hwlab/migrate/entdiff"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestCommittedMigrationsAreInSync is the drift check: replaying
// migrate/migrations yields exactly what ent/schema describes.
func TestCommittedMigrationsAreInSync(t *testing.T) {
	t.Parallel()
	if err := entdiff.Check(context.Background(), pgtest.Empty(t), "../migrations"); err != nil {
		t.Fatal(err)
	}
}

// TestMissingMigrationIsDrift: without the last file, the check fails and
// Write produces a file that carries the missing change.
func TestMissingMigrationIsDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"20261127162448_plan_schema.sql"} {
		b, err := os.ReadFile(filepath.Join("../migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "atlas.sum"), []byte("h1:x\n"), 0o644)
	hashDir(t, dir)
	before, _ := os.ReadDir(dir)
	if err := entdiff.Check(ctx, pgtest.Empty(t), dir); !errors.Is(err, entdiff.ErrDrift) {
		t.Fatalf("Check = %v, want ErrDrift", err)
	}
	if after, _ := os.ReadDir(dir); len(after) != len(before) {
		t.Fatalf("Check wrote files: %d → %d", len(before), len(after))
	}
	wrote, err := entdiff.Write(ctx, pgtest.Empty(t), dir, "catch_up")
	if err != nil || !wrote {
		t.Fatalf("Write = %v, %v", wrote, err)
	}
	// The hand-written objects are not ent's to write: the directory lacks
	// them still, which Check reports, and nothing else.
	err = entdiff.Check(ctx, pgtest.Empty(t), dir)
	if err := entdiff.CheckWith(ctx, pgtest.Empty(t), dir, nil); err != nil {
		t.Fatalf("Check after Write, without hand-written objects = %v", err)
	}
	if len(entdiff.Registered()) > 0 && !errors.Is(err, entdiff.ErrDrift) {
		t.Fatalf("Check after Write = %v, want ErrDrift for the missing hand-written objects", err)
	}
}

func hashDir(t *testing.T, path string) {
	t.Helper()
	d, err := migrate.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Hash(d); err != nil {
		t.Fatal(err)
	}
}
