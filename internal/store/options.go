package store

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults for the Options.
const (
	// DefaultMaxContentBytes is the largest message content accepted by
	// default: 4 MiB, room for pasted logs and configs.
	DefaultMaxContentBytes = 4 << 20
	// DefaultMaxOpenConns is the pool size by default.
	DefaultMaxOpenConns = 10
	// DefaultTimeout bounds each store operation whose context has no
	// deadline of its own, so that a hung server or a lost connection yields
	// an error (wrapping ErrUnavailable and context.DeadlineExceeded)
	// instead of a goroutine stuck forever. It is generous: a healthy
	// operation takes milliseconds, and one that has to open a connection
	// first (TCP, TLS, SCRAM authentication) takes tens of them.
	DefaultTimeout = 10 * time.Second
)

type config struct {
	maxContentBytes int
	maxOpenConns    int
	maxIdleConns    int
	connMaxLifetime time.Duration
	connMaxIdleTime time.Duration
	timeout         time.Duration                    // per operation, when the caller sets no deadline; 0: none
	connConfig      []func(*pgx.ConnConfig)          // WithConnConfig
	observe         func(op string, d time.Duration) // WithObserver; nil: none
}

func defaultConfig() config {
	return config{
		maxContentBytes: DefaultMaxContentBytes,
		maxOpenConns:    DefaultMaxOpenConns,
		connMaxLifetime: 30 * time.Minute,
		connMaxIdleTime: 5 * time.Minute,
		timeout:         DefaultTimeout,
	}
}

// Option configures NewStore.
type Option func(*config)

// WithMaxContentBytes sets the largest content AddMessage accepts; larger
// content is rejected with ErrContentTooLarge.
func WithMaxContentBytes(n int) Option { return func(c *config) { c.maxContentBytes = n } }

// MaxContentBytes is the largest message content this store accepts
// (WithMaxContentBytes, else DefaultMaxContentBytes). A server sizes its
// request body limit from it.
func (s *Store) MaxContentBytes() int { return s.cfg.maxContentBytes }

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

// WithTimeout sets the per-operation timeout applied when the caller's
// context has no deadline (NewStore's ping included). A caller's own
// deadline always wins, longer or shorter. d <= 0 disables the default, so
// an operation without a deadline may then wait as long as the server does.
// An operation that finds no idle connection opens one within the same
// budget, so a timeout near the cost of connecting fails on a busy machine.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithConnConfig lets the caller adjust the parsed pgx connection config
// before the pool opens: a pgx.QueryTracer (benchmarks count statements with
// one), or settings that have no DSN key. fn must not keep the pointer.
// Several WithConnConfig options apply in order.
func WithConnConfig(fn func(*pgx.ConnConfig)) Option {
	return func(c *config) { c.connConfig = append(c.connConfig, fn) }
}

// WithObserver has fn told, at the end of every operation, its name and
// how long it took: the name its errors carry ("add message", "flush
// reply"; a fixed set, never built from input), and the time from the
// operation's start to its end, waiting for a pool connection included.
// A streaming read (ReadConversation, ExportConversations) counts only
// the store's time, not the consumer's between rows. fn runs on the
// caller's goroutine and must be quick and safe for concurrent use.
//
// It is a hook rather than metrics of the store's own, so the store knows
// no metrics library: the service (internal/advisor) turns it into a
// histogram by operation.
func WithObserver(fn func(op string, d time.Duration)) Option {
	return func(c *config) { c.observe = fn }
}
