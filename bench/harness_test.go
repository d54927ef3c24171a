//go:build bench

package bench

import (
	"context"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"git.georgsen.dk/hwlab/bench/baseline"
	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/store"
)

// poolSize is the pool limit of both implementations: at least the 16
// goroutines of the concurrent benchmarks, and equal for fairness.
const poolSize = 16

// content is the message every AddMessage benchmark appends, as long as the
// generated data's messages.
var content = strings.Repeat("homelab ", benchdata.ContentBytes/len("homelab "))

// queryCounter is a pgx.QueryTracer that counts the statements sent
// (Query, QueryRow and Exec, transaction control included). With classify
// on (the streaming benchmarks) it also counts the writes among them
// (isWrite) and the reply flushes (FlushReply's chunk insert); it is off
// elsewhere, since reading the SQL allocates, and the store's benchmarks
// are compared by their allocations.
type queryCounter struct {
	n, writes, flushes atomic.Int64
	classify           atomic.Bool
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	if !c.classify.Load() {
		return ctx
	}
	if isWrite(d.SQL) {
		c.writes.Add(1)
	}
	if strings.Contains(d.SQL, "INSERT INTO message_chunks") {
		c.flushes.Add(1)
	}
	return ctx
}

func (c *queryCounter) reset() {
	c.n.Store(0)
	c.writes.Store(0)
	c.flushes.Store(0)
}

// writeKeyword finds a data-modifying keyword; rowLock is a SELECT's row
// lock, which is not one.
var (
	writeKeyword = regexp.MustCompile(`(?i)\b(INSERT|UPDATE|DELETE|MERGE)\b`)
	rowLock      = regexp.MustCompile(`(?i)\bFOR\s+(NO\s+KEY\s+)?UPDATE\b`)
)

// isWrite reports whether a statement modifies rows: an INSERT, UPDATE,
// DELETE or MERGE, at the top or in a WITH. It reads the SQL text, so a
// keyword inside a string literal would count; the store's statements
// have none.
func isWrite(sql string) bool {
	return writeKeyword.MatchString(rowLock.ReplaceAllString(sql, ""))
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// repo is what both implementations offer.
type repo interface {
	CreateConversation(ctx context.Context, model string) (string, error)
	AddMessage(ctx context.Context, conversationID, role, content string) (string, error)
	GetConversation(ctx context.Context, id string) (*store.Conversation, error)
	ListConversations(ctx context.Context) ([]store.ConversationSummary, error)
}

// impl is one side of a comparison: a name for the benchmark's /impl= key
// and the schema its database holds.
type impl struct {
	name   string
	schema string
}

var (
	implBaseline = impl{"baseline", schemaOriginal}
	implStore    = impl{"store", schemaMigrated}
	// implBaselineIndexed is the baseline on the original schema plus an
	// index on messages(conversation_id); only the read benchmarks use it.
	implBaselineIndexed = impl{"baseline-idx", schemaOriginalIndexed}
)

// both is the order of every comparison: baseline first, so benchstat
// reports the store relative to it.
var both = []impl{implBaseline, implStore}

// opened is an implementation connected to a database, with its counter.
type opened struct {
	repo
	dsn     string // the database, for pgCPU's monitor connection
	queries *queryCounter
	st      *store.Store    // when impl is the store
	base    *baseline.Store // when impl is a baseline
}

// open connects impl to dsn with a pool of poolSize; b's cleanup closes it.
func open(b testing.TB, im impl, dsn string, opts ...store.Option) opened {
	b.Helper()
	ctx := context.Background()
	qc := &queryCounter{}
	o := opened{dsn: dsn, queries: qc}
	if im.schema == schemaMigrated {
		opts = append([]store.Option{
			store.WithPool(poolSize, poolSize, time.Hour, time.Hour),
			store.WithConnConfig(func(c *pgx.ConnConfig) { c.Tracer = qc }),
		}, opts...)
		s, err := store.NewStore(ctx, dsn, opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		o.repo, o.st = s, s
		return o
	}
	s, err := baseline.New(ctx, dsn, poolSize, func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = qc
		c.MaxConnLifetime, c.MaxConnIdleTime = time.Hour, time.Hour
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	o.repo, o.base = s, s
	return o
}

// measure runs op b.N times under the timer, after one untimed call that
// warms the connection and its statement cache, and reports queries/op.
func measure(b *testing.B, o opened, op func(ctx context.Context) error) {
	b.Helper()
	ctx := context.Background()
	if err := op(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	o.queries.n.Store(0)
	pg := newPGCPU(b, o.dsn)
	b.ResetTimer()
	pg.start()
	for range b.N {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	pg.stop()
	pg.report(b.N, "pg-cpu-µs/op")
	reportQueries(b, o)
}

func reportQueries(b *testing.B, o opened) {
	b.ReportMetric(float64(o.queries.n.Load())/float64(b.N), "queries/op")
}
