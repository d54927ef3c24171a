//go:build integration

package migrate_test

import (
	"context"
	"slices"
	"testing"

	"git.georgsen.dk/hwlab/migrate"
)

// TestPendingFiles: everything is pending on an empty database and nothing
// after Apply; a missing revision row makes its file pending again, for
// DryRun too; the check itself writes nothing (no revisions table on the
// empty database).
func TestPendingFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := dir.Files()
	var all []string
	for _, f := range files {
		all = append(all, f.Name())
	}
	got, err := migrate.PendingFiles(ctx, db, dir)
	if err != nil || !slices.Equal(got, all) {
		t.Fatalf("empty database: %v, %v; want %v", got, err, all)
	}
	if tableExists(t, db, "atlas_schema_revisions.atlas_schema_revisions") {
		t.Fatal("PendingFiles created the revisions table")
	}
	if _, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := migrate.PendingFiles(ctx, db, dir); err != nil || len(got) != 0 {
		t.Fatalf("after Apply: %v, %v", got, err)
	}
	last := files[len(files)-1]
	mustExec(t, db, `DELETE FROM atlas_schema_revisions.atlas_schema_revisions WHERE version = $1`, last.Version())
	if got, err := migrate.PendingFiles(ctx, db, dir); err != nil || !slices.Equal(got, []string{last.Name()}) {
		t.Fatalf("without the last revision: %v, %v", got, err)
	}
	// What Apply would run is what PendingFiles reports: one computation.
	planned, err := migrate.DryRun(ctx, db, migrate.Options{Dir: dir})
	if err != nil || len(planned) != 1 || planned[0].Name != last.Name() {
		t.Fatalf("DryRun without the last revision: %+v, %v; want %s", planned, err, last.Name())
	}
}
