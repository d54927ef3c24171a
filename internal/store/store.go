package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"git.georgsen.dk/hwlab/internal/secret"
)

// Store is the repository. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	cfg config

	closeOnce sync.Once
	closeErr  error
}

// NewStore opens a pool on dsn with the pgx stdlib driver and pings the
// server. Errors never contain the DSN's password; a server that cannot be
// reached is ErrUnavailable. It does not migrate; see RunMigrations. The
// ping is bounded like every operation (WithTimeout), so a caller that
// chose a short timeout for queries gives NewStore a context with a
// deadline of its own.
func NewStore(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxIdleConns == 0 || cfg.maxIdleConns > cfg.maxOpenConns {
		// database/sql keeps only 2 idle connections by default, which makes
		// a busy pool reconnect all the time.
		cfg.maxIdleConns = cfg.maxOpenConns
	}
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, secret.Error(fmt.Errorf("store: invalid DSN: %w", err), dsn)
	}
	for _, fn := range cfg.connConfig {
		fn(connCfg)
	}
	db := stdlib.OpenDB(*connCfg)
	db.SetMaxOpenConns(cfg.maxOpenConns)
	db.SetMaxIdleConns(cfg.maxIdleConns)
	db.SetConnMaxLifetime(cfg.connMaxLifetime)
	db.SetConnMaxIdleTime(cfg.connMaxIdleTime)
	s := &Store{db: db, cfg: cfg}
	if err := s.ping(ctx, "connect"); err != nil {
		db.Close()
		return nil, secret.Error(err, dsn)
	}
	return s, nil
}

// Health reports whether the database answers, within the store's timeout
// or ctx's deadline: nil, or an error wrapping ErrUnavailable (or
// context.Canceled when ctx was).
func (s *Store) Health(ctx context.Context) error { return s.ping(ctx, "health") }

func (s *Store) ping(ctx context.Context, op string) error {
	ctx, cancel := s.opCtx(ctx, op)
	defer cancel()
	return dbError(ctx, op, s.db.PingContext(ctx))
}

// Close closes the pool. It is safe to call more than once.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// DB returns the pool, for RunMigrations, tools and the pool's statistics
// (DB().Stats()).
func (s *Store) DB() *sql.DB { return s.db }

// opCtx is the context for one store operation: ctx itself if it carries a
// deadline, else ctx bounded by the store's timeout. Call the returned
// cancel when the operation is done; it also tells the observer
// (WithObserver) how long operation op took. op is the name the
// operation's errors carry, so a latency and an error name it alike.
func (s *Store) opCtx(ctx context.Context, op string) (context.Context, context.CancelFunc) {
	ctx, cancel := withTimeout(ctx, s.cfg.timeout)
	if s.cfg.observe == nil {
		return ctx, cancel
	}
	began := time.Now()
	return ctx, func() {
		cancel()
		s.cfg.observe(op, time.Since(began))
	}
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
