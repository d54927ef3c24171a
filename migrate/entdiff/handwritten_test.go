//go:build integration

package entdiff_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate/entdiff"
)

// handMigration creates one object of every kind by hand, the way a feature's
// migration does for what ent/schema cannot express.
var handMigration = map[entdiff.Object]string{
	{Kind: entdiff.KindExtension, Name: "pg_trgm"}:            `CREATE EXTENSION IF NOT EXISTS pg_trgm;`,
	{Kind: entdiff.KindTextSearchConfig, Name: "hw_test_cfg"}: `CREATE TEXT SEARCH CONFIGURATION hw_test_cfg (COPY = simple);`,
	{Kind: entdiff.KindFunction, Name: "hw_test_fold"}: `CREATE FUNCTION hw_test_fold(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN lower($1);`,
	{Kind: entdiff.KindColumn, Table: "messages", Name: "hw_test_col"}: `ALTER TABLE messages ADD COLUMN hw_test_col text
  GENERATED ALWAYS AS (hw_test_fold(content)) STORED;`,
	{Kind: entdiff.KindIndex, Table: "messages", Name: "hw_test_idx"}:           `CREATE INDEX hw_test_idx ON messages (hw_test_col);`,
	{Kind: entdiff.KindIndex, Table: "conversations", Name: "hw_test_expr_idx"}: `CREATE INDEX hw_test_expr_idx ON conversations (hw_test_fold(title));`,
	{Kind: entdiff.KindCheck, Table: "messages", Name: "hw_test_check"}:         `ALTER TABLE messages ADD CONSTRAINT hw_test_check CHECK (seq < 1000000000);`,
	{Kind: entdiff.KindForeignKey, Table: "messages", Name: "hw_test_fk"}: `ALTER TABLE messages ADD CONSTRAINT hw_test_fk
  FOREIGN KEY (conversation_id) REFERENCES conversations (id);`,
}

// order creates the objects after what they depend on.
var order = []string{"pg_trgm", "hw_test_cfg", "hw_test_fold", "hw_test_col", "hw_test_idx", "hw_test_expr_idx", "hw_test_check", "hw_test_fk"}

// objects returns the test's objects after the registered ones (which the
// committed migrations create), and the SQL that creates the test's
// objects, except the one named except.
func objects(except string) (objs []entdiff.Object, sql string) {
	objs = entdiff.Registered()
	for _, name := range order {
		for o, stmt := range handMigration {
			if o.Name != name {
				continue
			}
			objs = append(objs, o)
			if name != except {
				sql += stmt + "\n"
			}
		}
	}
	return objs, sql
}

// scratch is the committed directory plus extra migrations, re-hashed.
func scratch(t *testing.T, extra ...string) string {
	t.Helper()
	dir := pgtest.ScratchMigrations(t)
	files := pgtest.MigrationFiles(t)
	last, err := strconv.ParseInt(files[len(files)-1].Version(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Versions right after the last committed one, so that a file Write
	// adds (named by the clock) sorts after them.
	for i, sql := range extra {
		name := filepath.Join(dir, fmt.Sprintf("%d_hand.sql", last+int64(i)+1))
		if err := os.WriteFile(name, []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hashDir(t, dir)
	return dir
}

// TestHandWrittenObjects: registered objects are invisible to the diff, and
// without the registry the same objects are drift (so the registry, not
// luck, is what hides them).
func TestHandWrittenObjects(t *testing.T) {
	t.Parallel()
	objs, sql := objects("")
	dir := scratch(t, sql)
	ctx := context.Background()
	if err := entdiff.CheckWith(ctx, pgtest.Empty(t), dir, objs); err != nil {
		t.Fatalf("Check with the objects registered = %v, want nil", err)
	}
	for _, o := range objs {
		if o.Kind == entdiff.KindExtension || o.Kind == entdiff.KindFunction || o.Kind == entdiff.KindTextSearchConfig ||
			!strings.HasPrefix(o.Name, "hw_test") {
			continue // ent does not inspect the database-wide kinds, so they never reach the diff
		}
		t.Run(o.Name, func(t *testing.T) {
			t.Parallel()
			var fewer []entdiff.Object
			for _, p := range objs {
				if p != o {
					fewer = append(fewer, p)
				}
			}
			if err := entdiff.CheckWith(ctx, pgtest.Empty(t), dir, fewer); !errors.Is(err, entdiff.ErrDrift) {
				t.Fatalf("Check without %s registered = %v, want ErrDrift", o, err)
			}
		})
	}
}

// TestHandWrittenObjectMissing: deleting a registered object from the
// migrations is drift, and the error names it.
func TestHandWrittenObjectMissing(t *testing.T) {
	t.Parallel()
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs, sql := objects(name)
			if name == "hw_test_fold" {
				// What used the function uses lower() instead.
				sql = strings.NewReplacer("hw_test_fold(content)", "lower(content)", "hw_test_fold(title)", "lower(title)").Replace(sql)
			}
			if name == "hw_test_col" {
				sql = strings.Replace(sql, handMigration[find(objs, "hw_test_idx")], "CREATE INDEX hw_test_idx ON messages (content);", 1)
			}
			err := entdiff.CheckWith(context.Background(), pgtest.Empty(t), scratch(t, sql), objs)
			if !errors.Is(err, entdiff.ErrDrift) || !strings.Contains(err.Error(), `"`+name+`"`) {
				t.Fatalf("Check = %v, want ErrDrift naming %q", err, name)
			}
		})
	}
}

// TestPlantedDriftWithHandWrittenObjects: with objects registered, a real
// difference from ent/schema is still drift, and the migration Write
// produces for it repairs that difference and does not touch them.
func TestPlantedDriftWithHandWrittenObjects(t *testing.T) {
	t.Parallel()
	objs, sql := objects("")
	ctx := context.Background()
	for _, tc := range []struct{ name, drift, want string }{
		{"dropped check", `ALTER TABLE messages DROP CONSTRAINT messages_duration_ms_check;`, "messages_duration_ms_check"},
		{"dropped index", `DROP INDEX conversations_started_at_id_idx;`, "conversations_started_at_id_idx"},
		{"extra column", `ALTER TABLE conversations ADD COLUMN stray integer;`, `"stray"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := scratch(t, sql, tc.drift)
			if err := entdiff.CheckWith(ctx, pgtest.Empty(t), dir, objs); !errors.Is(err, entdiff.ErrDrift) {
				t.Fatalf("Check = %v, want ErrDrift", err)
			}
			before, _ := os.ReadDir(dir)
			wrote, err := entdiff.WriteWith(ctx, pgtest.Empty(t), dir, "repair", objs)
			if err != nil || !wrote {
				t.Fatalf("Write = %v, %v", wrote, err)
			}
			after, _ := os.ReadDir(dir)
			written := newFile(t, dir, before, after)
			if !strings.Contains(written, tc.want) || strings.Contains(written, "hw_test") || strings.Contains(written, "pg_trgm") {
				t.Fatalf("the written migration should repair %s and leave the hand-written objects alone:\n%s", tc.want, written)
			}
			if err := entdiff.CheckWith(ctx, pgtest.Empty(t), dir, objs); err != nil {
				t.Fatalf("Check after Write = %v", err)
			}
		})
	}
}

func find(objs []entdiff.Object, name string) entdiff.Object {
	for _, o := range objs {
		if o.Name == name {
			return o
		}
	}
	panic(name)
}

func newFile(t *testing.T, dir string, before, after []os.DirEntry) string {
	t.Helper()
	old := map[string]bool{}
	for _, e := range before {
		old[e.Name()] = true
	}
	for _, e := range after {
		if !old[e.Name()] && strings.HasSuffix(e.Name(), ".sql") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatal("Write wrote no new .sql file")
	return ""
}
