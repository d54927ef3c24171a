package entdiff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	atlasschema "ariga.io/atlas/sql/schema"
)

// Kind says what sort of database object a hand-written Object is.
type Kind string

// The kinds of hand-written objects. Extension, Function and
// TextSearchConfig are database-wide (Table is empty); the others belong to
// a table.
const (
	KindExtension        Kind = "extension"
	KindFunction         Kind = "function"
	KindTextSearchConfig Kind = "text search configuration"
	KindIndex            Kind = "index"
	KindColumn           Kind = "column"
	KindCheck            Kind = "check"
	KindForeignKey       Kind = "foreign key"
)

// Object names one database object that a migration file creates by hand
// because ent/schema cannot express it (a generated column, an expression
// index, an IMMUTABLE wrapper function, a composite foreign key, ...).
//
// A registered object is invisible to the diff, so no generated migration
// drops or rewrites it, and Check requires it to exist after the migration
// directory is replayed, so deleting it from the migrations is still drift.
// Nothing else is hidden: every change to an unregistered object, on the same
// table included, is reported as before.
type Object struct {
	Kind  Kind
	Table string // "" for the database-wide kinds
	Name  string
}

func (o Object) String() string {
	if o.Table == "" {
		return fmt.Sprintf("%s %q", o.Kind, o.Name)
	}
	return fmt.Sprintf("%s %q on %q", o.Kind, o.Name, o.Table)
}

var (
	registryMu sync.Mutex
	registry   []Object
)

// Register adds hand-written objects to the registry. Each feature registers
// its own objects from an init function in its own file (handwritten_*.go),
// so features added in parallel do not edit the same lines.
func Register(objs ...Object) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, o := range objs {
		if o.Name == "" || (o.Table == "") != o.global() {
			panic(fmt.Sprintf("entdiff: malformed hand-written object %+v", o))
		}
	}
	registry = append(registry, objs...)
}

// Registered returns the registered hand-written objects.
func Registered() []Object {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]Object(nil), registry...)
}

// handWritten is the registry as a set, for the diff filter.
type handWritten map[Object]bool

func newHandWritten(objs []Object) handWritten {
	h := make(handWritten, len(objs))
	for _, o := range objs {
		h[o] = true
	}
	return h
}

// Filter removes from changes every change that concerns a registered object
// and nothing else. A ModifyTable left without changes is removed as well.
func (h handWritten) Filter(changes []atlasschema.Change) []atlasschema.Change {
	out := changes[:0:0]
	for _, c := range changes {
		switch c := c.(type) {
		case *atlasschema.ModifyTable:
			var kept []atlasschema.Change
			for _, tc := range c.Changes {
				if !h.concerns(c.T.Name, tc) {
					kept = append(kept, tc)
				}
			}
			if len(kept) == 0 {
				continue
			}
			out = append(out, &atlasschema.ModifyTable{T: c.T, Changes: kept})
		case *atlasschema.AddFunc:
			if !h[Object{Kind: KindFunction, Name: c.F.Name}] {
				out = append(out, c)
			}
		case *atlasschema.DropFunc:
			if !h[Object{Kind: KindFunction, Name: c.F.Name}] {
				out = append(out, c)
			}
		case *atlasschema.ModifyFunc:
			if !h[Object{Kind: KindFunction, Name: c.From.Name}] {
				out = append(out, c)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

// concerns reports whether the table-level change tc touches a registered
// object of table.
func (h handWritten) concerns(table string, tc atlasschema.Change) bool {
	is := func(k Kind, names ...string) bool {
		for _, n := range names {
			if h[Object{Kind: k, Table: table, Name: n}] {
				return true
			}
		}
		return false
	}
	switch tc := tc.(type) {
	case *atlasschema.AddColumn:
		return is(KindColumn, tc.C.Name)
	case *atlasschema.DropColumn:
		return is(KindColumn, tc.C.Name)
	case *atlasschema.ModifyColumn:
		return is(KindColumn, tc.From.Name, tc.To.Name)
	case *atlasschema.RenameColumn:
		return is(KindColumn, tc.From.Name, tc.To.Name)
	case *atlasschema.AddIndex:
		return is(KindIndex, tc.I.Name)
	case *atlasschema.DropIndex:
		return is(KindIndex, tc.I.Name)
	case *atlasschema.ModifyIndex:
		return is(KindIndex, tc.From.Name, tc.To.Name)
	case *atlasschema.RenameIndex:
		return is(KindIndex, tc.From.Name, tc.To.Name)
	case *atlasschema.AddCheck:
		return is(KindCheck, tc.C.Name)
	case *atlasschema.DropCheck:
		return is(KindCheck, tc.C.Name)
	case *atlasschema.ModifyCheck:
		return is(KindCheck, tc.From.Name, tc.To.Name)
	case *atlasschema.AddForeignKey:
		return is(KindForeignKey, tc.F.Symbol)
	case *atlasschema.DropForeignKey:
		return is(KindForeignKey, tc.F.Symbol)
	case *atlasschema.ModifyForeignKey:
		return is(KindForeignKey, tc.From.Symbol, tc.To.Symbol)
	}
	return false
}

// missingTables lists the registered table objects that the replayed
// migrations did not create, looked up in current, the inspected result of
// the replay.
func (h handWritten) missingTables(current *atlasschema.Schema) ([]string, error) {
	var out []string
	for o := range h {
		if o.global() {
			continue
		}
		ok, err := inSchema(current, o)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, o.String())
		}
	}
	sort.Strings(out)
	return out, nil
}

// missingGlobals replays dir on db, which must be clean, and lists the
// registered database-wide objects the replay did not create. ent
// inspects neither, and its replay leaves none behind (normalising the
// desired schema restores the database), so they need a replay of their own.
func (h handWritten) missingGlobals(ctx context.Context, db *sql.DB, dir atlasmigrate.Dir) ([]string, error) {
	var globals []Object
	for o := range h {
		if o.global() {
			globals = append(globals, o)
		}
	}
	if len(globals) == 0 {
		return nil, nil
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, fmt.Errorf("entdiff: open dev database: %w", err)
	}
	ex, err := atlasmigrate.NewExecutor(drv, dir, &atlasmigrate.NopRevisionReadWriter{})
	if err != nil {
		return nil, fmt.Errorf("entdiff: replay: %w", err)
	}
	if err := ex.ExecuteN(ctx, 0); err != nil && !errors.Is(err, atlasmigrate.ErrNoPendingFiles) {
		return nil, fmt.Errorf("entdiff: replay: %w", err)
	}
	var out []string
	for _, o := range globals {
		ok, err := inCatalog(ctx, db, o)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, o.String())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (o Object) global() bool {
	return o.Kind == KindExtension || o.Kind == KindFunction || o.Kind == KindTextSearchConfig
}

// The look-ups of database-wide objects by name.
const (
	extensionExistsSQL = `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)`
	functionExistsSQL  = `SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE p.proname = $1 AND n.nspname NOT IN ('pg_catalog', 'information_schema'))`
	tsConfigExistsSQL = `SELECT EXISTS (SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
		WHERE c.cfgname = $1 AND n.nspname NOT IN ('pg_catalog', 'information_schema'))`
)

func inCatalog(ctx context.Context, db *sql.DB, o Object) (bool, error) {
	var row *sql.Row
	switch o.Kind {
	case KindExtension:
		row = db.QueryRowContext(ctx, extensionExistsSQL, o.Name)
	case KindFunction:
		row = db.QueryRowContext(ctx, functionExistsSQL, o.Name)
	default:
		row = db.QueryRowContext(ctx, tsConfigExistsSQL, o.Name)
	}
	var ok bool
	if err := row.Scan(&ok); err != nil {
		return false, fmt.Errorf("entdiff: look up hand-written objects: %w", err)
	}
	return ok, nil
}

func inSchema(current *atlasschema.Schema, o Object) (bool, error) {
	t, ok := current.Table(o.Table)
	if !ok {
		return false, nil
	}
	switch o.Kind {
	case KindColumn:
		_, ok = t.Column(o.Name)
	case KindIndex:
		_, ok = t.Index(o.Name)
	case KindForeignKey:
		_, ok = t.ForeignKey(o.Name)
	case KindCheck:
		ok = false
		for _, a := range t.Attrs {
			if c, isCheck := a.(*atlasschema.Check); isCheck && c.Name == o.Name {
				ok = true
			}
		}
	default:
		return false, fmt.Errorf("entdiff: unknown kind of hand-written object %q", o.Kind)
	}
	return ok, nil
}

// notBefore fails when a registered extension or function exists in db
// before the replay, so that finding it afterwards would prove nothing.
func (h handWritten) notBefore(ctx context.Context, db *sql.DB) error {
	for o := range h {
		if !o.global() {
			continue
		}
		ok, err := inCatalog(ctx, db, o)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("entdiff: the dev database is not empty: %s exists before the migrations are replayed", o)
		}
	}
	return nil
}

// missingError is drift: a registered object that no migration creates.
func missingError(missing []string) error {
	return fmt.Errorf("%w: hand-written objects registered in migrate/entdiff are missing after replaying the migrations: %s",
		ErrDrift, strings.Join(missing, ", "))
}
