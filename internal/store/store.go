// Package store is the advisor's chat history in PostgreSQL: conversations
// and their messages. It is the only package that touches the generated ent
// client; callers get plain types and documented sentinel errors.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"git.georgsen.dk/hwlab/ent"
	"git.georgsen.dk/hwlab/internal/secret"
)

// Defaults for the Options.
const (
	// DefaultMaxContentBytes is the largest message content accepted by
	// default: 4 MiB, room for pasted logs and configs.
	DefaultMaxContentBytes = 4 << 20
	// MaxModelBytes is the longest model name accepted, in bytes.
	MaxModelBytes = 256
	// DefaultMaxOpenConns is the pool size by default.
	DefaultMaxOpenConns = 10
)

// Store is the repository. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	client *ent.Client
	cfg    config

	closeOnce sync.Once
	closeErr  error
}

type config struct {
	maxContentBytes int
	maxOpenConns    int
	maxIdleConns    int
	connMaxLifetime time.Duration
	connMaxIdleTime time.Duration
	timeout         time.Duration           // per operation, when the caller sets no deadline; 0: none
	connConfig      []func(*pgx.ConnConfig) // WithConnConfig
}

// Option configures NewStore.
type Option func(*config)

// WithMaxContentBytes sets the largest content AddMessage accepts; larger
// content is rejected with ErrContentTooLarge.
func WithMaxContentBytes(n int) Option { return func(c *config) { c.maxContentBytes = n } }

// WithPool sets the pool's limits. Zero values keep the defaults. They are
// options rather than DSN keys because the pgx stdlib driver would send
// unknown DSN keys to the server as runtime parameters.
func WithPool(maxOpen, maxIdle int, maxLifetime, maxIdleTime time.Duration) Option {
	return func(c *config) {
		if maxOpen > 0 {
			c.maxOpenConns = maxOpen
		}
		if maxIdle > 0 {
			c.maxIdleConns = maxIdle
		}
		if maxLifetime > 0 {
			c.connMaxLifetime = maxLifetime
		}
		if maxIdleTime > 0 {
			c.connMaxIdleTime = maxIdleTime
		}
	}
}

// NewStore opens a pool on dsn with the pgx stdlib driver and pings the
// server. Errors never contain the DSN's password. It does not migrate; see
// RunMigrations. The ping is bounded like every operation (WithTimeout).
func NewStore(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := config{
		maxContentBytes: DefaultMaxContentBytes,
		maxOpenConns:    DefaultMaxOpenConns,
		connMaxLifetime: 30 * time.Minute,
		connMaxIdleTime: 5 * time.Minute,
		timeout:         DefaultTimeout,
	}
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
		return nil, fmt.Errorf("store: invalid DSN: %s", secret.Redact(dsn, err.Error()))
	}
	for _, fn := range cfg.connConfig {
		fn(connCfg)
	}
	db := stdlib.OpenDB(*connCfg)
	db.SetMaxOpenConns(cfg.maxOpenConns)
	db.SetMaxIdleConns(cfg.maxIdleConns)
	db.SetConnMaxLifetime(cfg.connMaxLifetime)
	db.SetConnMaxIdleTime(cfg.connMaxIdleTime)
	ctx, cancel := withTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("store: connect: %w", ctx.Err())
		}
		return nil, fmt.Errorf("store: connect: %s", secret.Redact(dsn, err.Error()))
	}
	return &Store{
		db:     db,
		client: ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db))),
		cfg:    cfg,
	}, nil
}

// Close closes the pool. It is safe to call more than once.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// DB returns the pool, for RunMigrations and tools.
func (s *Store) DB() *sql.DB { return s.db }

// ctxErr prefers the context's error, so a cancelled or timed-out call is
// reported as such rather than as whatever the driver made of it.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
