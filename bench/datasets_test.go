//go:build bench

package bench

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"git.georgsen.dk/hwlab/bench/baseline"
	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
)

// Schemas a benchmark database can hold.
const (
	schemaMigrated = "migrated" // the embedded migrations: what internal/store runs on
	schemaOriginal = "original" // the original schema (v1, baseline.Schema): what the baseline runs on
	// schemaOriginalIndexed is the original schema plus an index on
	// messages(conversation_id), the one index a hand-tuned baseline would
	// add for its reads; it separates the cost of the code from the cost of
	// the original schema's missing index.
	schemaOriginalIndexed = "original-indexed"
	// schemaPreSearch is the migrated schema without the search migration's
	// table objects (undoSearch): today's schema before issue 13, which the
	// store's AddMessage is paired against.
	schemaPreSearch = "presearch"
	// schemaPreSearchIndexed is schemaPreSearch plus the (created_at, id)
	// index: it separates the cost of that index from the vector's.
	schemaPreSearchIndexed = "presearch-indexed"
)

// The read data sets: 10k and 100k conversations of 10 messages, the
// latter with the long threads the GetConversation benchmarks read.
var (
	spec10k  = benchdata.Spec{Conversations: 10_000, MessagesPer: 10}
	spec100k = benchdata.Spec{Conversations: 100_000, MessagesPer: 10, Threads: []int{2, 100, 10_000}, Branched: []int{10_000}}
)

// dataVersion names the generator's output; a database loaded by another
// version is reloaded rather than reused.
const dataVersion = "hwlab-bench-data-v5" // v5: conversations.forked (v4: parents, the search migration)

var (
	dbMu    sync.Mutex
	dbCache = map[string]string{}
)

// readDB returns the URL of a database holding schema and spec's data. It
// is built once per process, and on a server named by
// HWLAB_TEST_DATABASE_URL it is kept and reused by later runs (like
// pgtestdb's templates). It is read-only: only reads may use it.
func readDB(tb testing.TB, schema string, spec benchdata.Spec) string {
	tb.Helper()
	name := fmt.Sprintf("hwlab_bench_%s_%dx%d", dbIdent(schema), spec.Conversations, spec.MessagesPer)
	marker := fmt.Sprintf("%s %s %+v %+v", dataVersion, schema, spec.Threads, spec.Branched)
	return cachedDB(tb, name, func(ctx context.Context, admin *pgx.Conn) (bool, error) {
		var comment *string
		err := admin.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name).Scan(&comment)
		if err == nil && comment != nil && *comment == marker {
			return true, nil // loaded by an earlier run
		}
		return false, nil
	}, func(ctx context.Context, conn *pgx.Conn) error {
		start := time.Now()
		if err := applySchema(ctx, conn, schema); err != nil {
			return err
		}
		if err := benchdata.Load(ctx, conn, spec); err != nil {
			return err
		}
		if schema == schemaOriginalIndexed {
			if _, err := conn.Exec(ctx, "CREATE INDEX messages_conversation_id_idx ON messages (conversation_id); ANALYZE messages"); err != nil {
				return err
			}
		}
		tb.Logf("loaded %s (%d conversations x %d messages, threads %v) in %s",
			name, spec.Conversations, spec.MessagesPer, spec.Threads, time.Since(start).Round(time.Millisecond))
		// Read-only from now on, so a benchmark that writes by mistake fails
		// instead of skewing every later read.
		_, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET default_transaction_read_only = on; COMMENT ON DATABASE %s IS '%s'", name, name, marker))
		return err
	})
}

// writeSpec is the data a write database starts with. An empty database
// would measure a state no deployment stays in: ANALYZE of empty tables
// makes the planner choose sequential scans, and the generic plans that a
// pooled connection keeps (the append's subqueries, the foreign keys'
// checks) stay sequential while the benchmark grows one conversation to
// thousands of messages, until autovacuum's first ANALYZE, a minute later,
// replans them. The appends then cost O(messages) each: the paired
// AddMessage ratios read 2.0–4.2 against the baseline, growing with the
// number of rounds. A database that has seen some use has statistics.
var writeSpec = benchdata.Spec{Conversations: 1_000, MessagesPer: 10}

// writeDB returns the URL of a database with schema and writeSpec's data,
// made afresh by each process and shared by its write benchmarks.
func writeDB(tb testing.TB, schema string) string {
	tb.Helper()
	name := "hwlab_bench_write_" + dbIdent(schema)
	return cachedDB(tb, name, func(context.Context, *pgx.Conn) (bool, error) { return false, nil }, fillWrite(schema))
}

// fillWrite fills a write database: schema, then drops (statements that
// take objects away from it), then writeSpec's data.
func fillWrite(schema string, drops ...string) func(context.Context, *pgx.Conn) error {
	return func(ctx context.Context, conn *pgx.Conn) error {
		if err := applySchema(ctx, conn, schema); err != nil {
			return err
		}
		for _, q := range drops {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return benchdata.Load(ctx, conn, writeSpec)
	}
}

func dbIdent(schema string) string {
	switch schema {
	case schemaOriginalIndexed:
		return "originalidx"
	case schemaPreSearchIndexed:
		return "presearchidx"
	default:
		return schema
	}
}

// cachedDB creates database name with fill unless this process already has
// it or reuse says an existing one will do.
func cachedDB(tb testing.TB, name string,
	reuse func(context.Context, *pgx.Conn) (bool, error),
	fill func(context.Context, *pgx.Conn) error,
) string {
	tb.Helper()
	dbMu.Lock()
	defer dbMu.Unlock()
	if u, ok := dbCache[name]; ok {
		return u
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close(context.Background())
	u := dbURL(tb, name)
	ok, err := reuse(ctx, admin)
	if err != nil {
		tb.Fatal(err)
	}
	if !ok {
		for _, q := range []string{
			"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)",
			"CREATE DATABASE " + name,
		} {
			if _, err := admin.Exec(ctx, q); err != nil {
				tb.Fatalf("%s: %v", q, err)
			}
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			tb.Fatal(err)
		}
		err = fill(ctx, conn)
		conn.Close(context.Background())
		if err != nil {
			tb.Fatalf("filling %s: %v", name, err)
		}
	}
	dbCache[name] = u
	return u
}

func applySchema(ctx context.Context, conn *pgx.Conn, schema string) error {
	switch schema {
	case schemaMigrated, schemaPreSearch, schemaPreSearchIndexed:
		db := stdlib.OpenDB(*conn.Config())
		defer db.Close()
		if _, err := migrate.Apply(ctx, db, migrate.Options{}); err != nil || schema == schemaMigrated {
			return err
		}
		undo := undoSearch
		if schema == schemaPreSearchIndexed {
			undo = undoSearch[:len(undoSearch)-1]
		}
		for _, q := range undo {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	case schemaOriginal, schemaOriginalIndexed:
		for _, q := range baseline.Schema {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown schema %q", schema)
}

// dbURL is the admin URL pointed at another database.
func dbURL(tb testing.TB, name string) string {
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		tb.Fatal("admin URL does not parse") // never print it: it holds the password
	}
	u.Path = "/" + name
	return u.String()
}
