//go:build integration

package migrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
)

// embeddedFiles returns the committed file names, so tests follow the
// directory as migrations are added.
func embeddedFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, f := range pgtest.MigrationFiles(t) {
		names = append(names, f.Name())
	}
	return names
}

func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	all := embeddedFiles(t)
	latest := versionOf(all[len(all)-1])

	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		db := openEmpty(t)
		st, err := migrate.Status(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Current != "" || strings.Join(st.Pending, " ") != strings.Join(all, " ") || st.NotClean != "" || st.UpToDate() {
			t.Errorf("status = %+v", st)
		}
		if tableExists(t, db, "atlas_schema_revisions.atlas_schema_revisions") {
			t.Error("Status created the revisions table")
		}
	})
	t.Run("migrated", func(t *testing.T) {
		t.Parallel()
		db := openEmpty(t)
		if _, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil {
			t.Fatal(err)
		}
		st, err := migrate.Status(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !st.UpToDate() || st.Current != latest || len(st.Applied) != len(all) || len(st.Failed) != 0 {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("original database", func(t *testing.T) {
		t.Parallel()
		db := openEmpty(t)
		mustExec(t, db, originalDDL)
		st, err := migrate.Status(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.NotClean == "" || st.BaselineHint != v1 || st.UpToDate() {
			t.Errorf("status = %+v, want NotClean with hint %s", st, v1)
		}
	})
	t.Run("partial CLI revision", func(t *testing.T) {
		t.Parallel()
		db := openEmpty(t)
		if _, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil {
			t.Fatal(err)
		}
		// What a CLI run of a `txmode none` file that broke at its second
		// statement leaves behind.
		mustExec(t, db, `UPDATE atlas_schema_revisions.atlas_schema_revisions
SET applied = 1, error = 'pq: boom', error_stmt = 'ALTER TABLE x' WHERE version = $1`, latest)
		st, err := migrate.Status(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Failed) != 1 || st.Failed[0].Error != "pq: boom" || st.Failed[0].ErrorStmt != "ALTER TABLE x" || len(st.Pending) != 1 {
			t.Errorf("status = %+v, want the failed revision and its file pending", st)
		}
	})
}

// TestDryRunChangesNothing: a dry run lists the pending files with their
// statements and leaves the database exactly as it was: no revisions
// schema, no baseline row, no tables.
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	all := embeddedFiles(t)

	db := openEmpty(t)
	planned, err := migrate.DryRun(ctx, db, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) != len(all) || planned[0].Name != all[0] || !strings.HasPrefix(planned[0].Stmts[0], `CREATE TABLE "conversations"`) {
		t.Fatalf("planned = %+v", planned)
	}
	for _, table := range []string{"conversations", "atlas_schema_revisions.atlas_schema_revisions"} {
		if tableExists(t, db, table) {
			t.Errorf("dry run created %s", table)
		}
	}

	original := openEmpty(t)
	mustExec(t, original, originalDDL)
	if _, err := migrate.DryRun(ctx, original, migrate.Options{}); !errors.Is(err, migrate.ErrNotClean) {
		t.Errorf("dry run on an original (v1) database without --baseline = %v, want ErrNotClean", err)
	}
	planned, err = migrate.DryRun(ctx, original, migrate.Options{Baseline: v1})
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) != len(all)-1 || planned[0].Name != all[1] {
		t.Errorf("planned after baseline = %+v, want every file after %s", planned, v1)
	}
	if tableExists(t, original, "atlas_schema_revisions.atlas_schema_revisions") {
		t.Error("dry run recorded the baseline")
	}
	var cols int
	mustQueryRow(t, original, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'messages' AND column_name = 'seq'`, &cols)
	if cols != 0 {
		t.Error("dry run executed a statement")
	}
}

// TestCheckBaseline: a database of the original schema equals version 1; one with a
// missing CHECK or an extra column does not, and the error says what
// differs; an empty database is not version 1 either.
func TestCheckBaseline(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup string
		want  string // "" = equal; else a fragment of the difference
	}{
		{"original schema", originalDDL, ""},
		{"missing check", originalDDL + `ALTER TABLE messages DROP CONSTRAINT messages_role_check;`, "messages_role_check"},
		{"extra column", originalDDL + `ALTER TABLE conversations ADD COLUMN title text;`, `"title"`},
		{"empty database", ``, `CREATE TABLE "public"."conversations"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			live := openEmpty(t)
			if tc.setup != "" {
				mustExec(t, live, tc.setup)
			}
			dev := pgtest.Open(t, pgtest.Empty(t))
			err := migrate.CheckBaseline(context.Background(), live, dev, nil, v1)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckBaseline = %v, want equal", err)
				}
				return
			}
			var mm *migrate.BaselineMismatchError
			if !errors.As(err, &mm) || !errors.Is(err, migrate.ErrBaselineMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckBaseline = %v, want a mismatch mentioning %s", err, tc.want)
			}
			if tableExists(t, dev, "conversations") {
				t.Error("the dev database was left with the replayed schema")
			}
		})
	}
	t.Run("unknown version", func(t *testing.T) {
		t.Parallel()
		err := migrate.CheckBaseline(context.Background(), openEmpty(t), pgtest.Open(t, pgtest.Empty(t)), nil, "123")
		if err == nil || !strings.Contains(err.Error(), "not in the migration directory") {
			t.Errorf("CheckBaseline(123) = %v", err)
		}
	})
}
