package store

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The threat model promises that no SQL is built from input: every query
// is a constant and takes its values as parameters. These tests enforce it
// on the code that talks to the database (this package, migrate and the
// advisor command) with a syntactic check, and prove on planted code that
// the check can fail.

// sqlDirs are the packages whose non-test files are checked.
var sqlDirs = []string{".", "../../migrate", "../../migrate/entdiff", "../../cmd/advisor"}

// queryArg maps a method that takes SQL text to the index of that argument.
var queryArg = map[string]int{
	"QueryContext": 1, "QueryRowContext": 1, "ExecContext": 1, "PrepareContext": 1,
	"Query": 0, "QueryRow": 0, "Exec": 0, "Prepare": 0,
	// ent's raw expressions. No checked package uses a SQL builder any
	// more (the store runs constant statements only), so WriteString is
	// not in the list: it would flag every strings.Builder.
	"Raw": 0, "Expr": 0, "ExprP": 0,
	// the store's helpers (sql.go)
	"queryRow": 0, "exec": 0, "queryRows": 0,
}

var sqlKeyword = regexp.MustCompile(`\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|GRANT|WHERE|FROM|VALUES)\b`)

func TestNoSQLBuiltFromInput(t *testing.T) {
	files := 0
	for _, dir := range sqlDirs {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		srcs := map[string]string{}
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			srcs[p] = string(src)
		}
		files += len(srcs)
		for _, problem := range checkSQLConst(t, srcs) {
			t.Errorf("%s", problem)
		}
	}
	if files < 10 {
		t.Fatalf("checked only %d files: wrong directories?", files)
	}
}

// TestSQLConstCheckCatchesPlantedCode: the check flags each way of building
// SQL from input, and passes the constant forms the real code uses.
func TestSQLConstCheckCatchesPlantedCode(t *testing.T) {
	const planted = `package p
const q = "SELECT 1 FROM t WHERE id = $1"
const table = "t"
var ddl = []string{"CREATE TABLE x (id int)", "CREATE INDEX ON x (id)"}
func f(ctx context.Context, db *sql.DB, id, name string, b *strings.Builder) {
	db.QueryContext(ctx, "SELECT * FROM t WHERE id = '" + id + "'")  // BAD concat
	db.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s", name))         // BAD Sprintf
	query := "SELECT 1"
	db.QueryRowContext(ctx, query)                                   // BAD variable
	db.Exec(strings.Join([]string{"DROP", name}, " "))               // BAD call
	s := fmt.Sprintf("UPDATE t SET a = '%s'", name)                  // BAD Sprintf even unused
	_ = s
	w := "WHERE name = '" + name + "'"                               // BAD concat even unused
	_ = w
	db.QueryContext(ctx, q, id)                                      // ok: constant
	db.QueryContext(ctx, "SELECT a FROM " + table + " WHERE id = $1", id) // ok: constant concat
	db.ExecContext(ctx, ` + "`" + `INSERT INTO t VALUES ($1)` + "`" + `, id) // ok: literal
	for _, stmt := range ddl {
		db.ExecContext(ctx, stmt)                                    // ok: range over constant list
	}
	b.WriteString(name)                                              // ok: not SQL
	_ = fmt.Sprintf("store: %s: %v", name, id)                      // ok: no SQL
	client.Conversation.Delete().Exec(ctx)                           // ok: ent builder, no SQL text
	pgxConn.Query(ctx, query, id)                                    // BAD pgx variable
	pgxConn.QueryRow(ctx, q, id)                                     // ok: pgx constant
	sqlConn.Raw(func(dc any) error { return nil })                   // ok: no SQL text
}
func g(ctx context.Context, sqlText statement, name string) {
	pgxConn.Query(ctx, sqlText)                                      // ok: a statement parameter
	st.queryRow(ctx, q, nil)                                         // ok: the helper with a constant
	st.queryRow(ctx, statement(name), nil)                           // BAD conversion
	st.exec(ctx, name)                                               // BAD helper with a variable
	_ = statement("SELECT 1")                                        // ok: a constant conversion
}
`
	problems := checkSQLConst(t, map[string]string{"planted.go": planted})
	bad := strings.Count(planted, "// BAD")
	if len(problems) != bad {
		t.Errorf("flagged %d places, want the %d marked BAD:\n%s", len(problems), bad, strings.Join(problems, "\n"))
	}
	lines := strings.Split(planted, "\n")
	for _, p := range problems {
		// problems read "planted.go:LINE:COL: …"
		n, _ := strconv.Atoi(strings.Split(p, ":")[1])
		if !strings.Contains(lines[n-1], "// BAD") {
			t.Errorf("flagged a good line: %s\n\t%s", p, lines[n-1])
		}
	}
}

// checkSQLConst parses one package's files (name → source) and reports
// every place where SQL text may be built from something other than
// constants.
func checkSQLConst(t *testing.T, srcs map[string]string) []string {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for name, src := range srcs {
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		files = append(files, f)
	}
	// Package-level constants first, then var lists of constant strings
	// (the revisions DDL). Identifiers are matched by name, which is
	// enough in these small packages.
	c := constScope{consts: map[string]bool{}, constLists: map[string]bool{}}
	for _, pass := range []token.Token{token.CONST, token.VAR} {
		for _, f := range files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != pass {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						switch {
						case pass == token.CONST:
							c.consts[n.Name] = true
						case i < len(vs.Values):
							if cl, ok := vs.Values[i].(*ast.CompositeLit); ok && c.allConst(cl.Elts) {
								c.constLists[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	// Parameters of type statement (sql.go) hold constants: Go converts
	// only constants to it implicitly, and explicit conversions are
	// checked below.
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if ft, ok := n.(*ast.FuncType); ok {
				for _, p := range ft.Params.List {
					if id, ok := p.Type.(*ast.Ident); ok && id.Name == "statement" {
						for _, n := range p.Names {
							c.consts[n.Name] = true
						}
					}
				}
			}
			return true
		})
	}
	var problems []string
	report := func(n ast.Node, what string) {
		problems = append(problems, fmt.Sprint(fset.Position(n.Pos()), ": ", what))
	}
	inspect := func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.RangeStmt:
			if id, ok := n.X.(*ast.Ident); ok && c.constLists[id.Name] {
				if v, ok := n.Value.(*ast.Ident); ok {
					c.consts[v.Name] = true
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.ADD && mentionsSQL(n) && !c.isConst(n) {
				report(n, "SQL text concatenated with a non-constant")
				return false
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "statement" && len(n.Args) == 1 && !c.isConst(n.Args[0]) {
				report(n, "conversion of a non-constant to statement")
				return false
			}
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Sprint") {
				if len(n.Args) > 0 && mentionsSQL(n.Args[0]) {
					report(n, "SQL text formatted with fmt."+sel.Sel.Name)
				}
				return true
			}
			i, ok := queryArg[sel.Sel.Name]
			if !ok || len(n.Args) <= i {
				return true
			}
			if id, ok := n.Args[i].(*ast.Ident); ok && id.Name == "ctx" {
				if len(n.Args) == i+1 {
					return true // an ent builder's Exec(ctx): no SQL text
				}
				i++ // pgx's Query(ctx, sql, …): the SQL follows the context
			}
			if _, ok := n.Args[i].(*ast.FuncLit); ok {
				return true // database/sql's Conn.Raw(func…): no SQL text
			}
			if !c.isConst(n.Args[i]) {
				report(n, sel.Sel.Name+" with SQL text that is not a constant")
				return false
			}
		}
		return true
	}
	for _, f := range files {
		ast.Inspect(f, inspect)
	}
	return problems
}

type constScope struct {
	consts     map[string]bool // constants, and range variables over constant lists
	constLists map[string]bool // package vars holding only constant strings
}

func (c constScope) isConst(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.Ident:
		return c.consts[e.Name]
	case *ast.ParenExpr:
		return c.isConst(e.X)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && c.isConst(e.X) && c.isConst(e.Y)
	case *ast.CallExpr: // string(x) or statement(x) of a constant
		id, ok := e.Fun.(*ast.Ident)
		return ok && (id.Name == "string" || id.Name == "statement") && len(e.Args) == 1 && c.isConst(e.Args[0])
	}
	return false
}

func (c constScope) allConst(es []ast.Expr) bool {
	for _, e := range es {
		if !c.isConst(e) {
			return false
		}
	}
	return true
}

// mentionsSQL reports whether a string literal inside e holds a SQL keyword.
func mentionsSQL(e ast.Node) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && sqlKeyword.MatchString(lit.Value) {
			found = true
		}
		return !found
	})
	return found
}
