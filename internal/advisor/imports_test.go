package advisor

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// driverImports are the packages only internal/store may import: the HTTP
// layer learns of database trouble from store.ErrUnavailable and
// Store.Health, never from the driver.
var driverImports = []string{"database/sql", "github.com/jackc/pgx", "entgo.io/ent", "git.georgsen.dk/hwlab/ent"}

// forbiddenImports returns the imports of src that name a driver package.
func forbiddenImports(t *testing.T, name, src string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		for _, p := range driverImports {
			if path == p || strings.HasPrefix(path, p+"/") {
				bad = append(bad, name+": "+path)
			}
		}
	}
	return bad
}

// TestNoDriverImports: no non-test file of this package imports the
// database driver, database/sql or ent; and the check flags planted ones.
func TestNoDriverImports(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, bad := range forbiddenImports(t, p, string(src)) {
			t.Errorf("imports a driver package: %s", bad)
		}
	}
	if files < 5 {
		t.Fatalf("checked only %d files: wrong directory?", files)
	}
	planted := "package p\nimport (\n\t\"database/sql/driver\"\n\t\"github.com/jackc/pgx/v5/pgconn\"\n\t\"database/sql\"\n\t\"net/http\"\n)\n"
	if got := forbiddenImports(t, "planted.go", planted); len(got) != 3 {
		t.Errorf("planted imports: flagged %q, want the three driver packages", got)
	}
}
