// Package migrate applies the versioned migration directory that Atlas
// formats and `make migration` writes, in the way the Atlas CLI does: the
// same revisions table, the same advisory lock, one transaction per file and
// atlas.sum validation, so `atlas migrate apply` and this package can take
// turns on one database.
package migrate

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

//go:embed migrations/*.sql migrations/atlas.sum
var migrationsFS embed.FS

// ErrChecksumMismatch reports a migration directory whose files do not match
// its atlas.sum: a file or the sum was edited, added or removed by hand.
var ErrChecksumMismatch = atlasmigrate.ErrChecksumMismatch

// Dir is a migration directory: the embedded one, or a local one for tools
// and tests.
type Dir = atlasmigrate.Dir

// EmbeddedDir returns the migration directory compiled into the binary. The
// committed atlas.sum is copied as it is, not recomputed, so that a tampered
// file is still detected.
func EmbeddedDir() (Dir, error) {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return nil, err
	}
	return memDirFromFS(sub)
}

// memDirFromFS copies every file of fsys into a fresh MemDir. MemDir is used
// directly rather than through OpenMemDir, which is a process-wide registry.
func memDirFromFS(fsys fs.FS) (Dir, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	dir := &atlasmigrate.MemDir{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		if err := dir.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// OpenDir opens the migration directory at path.
func OpenDir(path string) (Dir, error) {
	d, err := atlasmigrate.NewLocalDir(path)
	if err != nil {
		return nil, fmt.Errorf("migrate: open %s: %w", path, err)
	}
	return d, nil
}

// Validate checks dir against its atlas.sum. The error wraps
// ErrChecksumMismatch when they differ.
func Validate(dir Dir) error {
	err := atlasmigrate.Validate(dir)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, atlasmigrate.ErrChecksumNotFound):
		return fmt.Errorf("migrate: atlas.sum is missing from the migration directory "+
			"(run `advisor migrate hash` to create it): %w", ErrChecksumMismatch)
	case errors.Is(err, atlasmigrate.ErrChecksumMismatch):
		return fmt.Errorf("migrate: the migration files do not match atlas.sum; "+
			"a migration file or the sum was changed by hand (after an intended edit, run `advisor migrate hash`): %w", ErrChecksumMismatch)
	default:
		return fmt.Errorf("migrate: validate directory: %w", err)
	}
}

// Hash rewrites the atlas.sum of dir from its files.
func Hash(dir Dir) error {
	files, err := dir.Files()
	if err != nil {
		return err
	}
	sum, err := atlasmigrate.NewHashFile(files)
	if err != nil {
		return err
	}
	return atlasmigrate.WriteSumFile(dir, sum)
}
