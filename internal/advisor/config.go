package advisor

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// Defaults for Config's zero values.
const (
	// DefaultMaxBodyBytes is the request body limit for a store with the
	// default content limit; see Config.MaxBodyBytes.
	DefaultMaxBodyBytes = wire.EscapeFactor*store.DefaultMaxContentBytes + wire.EnvelopeBytes
	// DefaultThreadBudget is the default thread budget in characters (about
	// 12k tokens at the usual ~4 characters a token).
	DefaultThreadBudget = 48000
	// DefaultHeartbeat is how often an idle SSE stream gets a ": ping".
	DefaultHeartbeat = 15 * time.Second
)

// Config is what New needs. Store is required; everything else has a
// default or may be left empty.
type Config struct {
	Store *store.Store
	// Model answers chat and reply; nil means no model is configured, and
	// those endpoints answer 503.
	Model Model
	// DefaultModel is the model name new conversations get when the
	// request names none, and the name sent for conversations without one.
	DefaultModel string
	// SystemPrompt, when set, is sent first in every thread and is never
	// trimmed by the budget.
	SystemPrompt string
	// ThreadBudget is the most characters of stored messages sent to the
	// model; the newest messages are kept. 0 means DefaultThreadBudget.
	ThreadBudget int
	// Addr is the address the server listens on (host:port). Host headers
	// are checked against it; see checkHost.
	Addr string
	// AllowedHosts are extra Host names accepted (a reverse proxy's name,
	// a LAN DNS name), with or without a port.
	AllowedHosts []string
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// every /api request.
	Token string
	// MaxBodyBytes bounds request bodies (413 beyond). 0 means room for the
	// store's largest content in the worst JSON escaping (every byte as
	// \u00XX, as Go's encoder writes <, > and &), so content the store
	// accepts is never refused for its encoding: 6 × Store.MaxContentBytes
	// plus 64 KiB (24 MiB + 64 KiB by default).
	MaxBodyBytes int64
	// MemoryBudget bounds the bytes all requests in flight may hold
	// (memory.go); a request beyond it is a 503 with Retry-After. 0 means
	// DefaultMemoryBudget. A request never reserves more than the whole
	// budget, so a small one still lets the largest request through alone.
	MemoryBudget int64
	// Heartbeat is the SSE ping interval. 0 means DefaultHeartbeat.
	Heartbeat time.Duration
	Logger    *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, errors.New("advisor: Config.Store is nil")
	}
	if c.ThreadBudget <= 0 {
		c.ThreadBudget = DefaultThreadBudget
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = wire.MaxMessageJSON(c.Store.MaxContentBytes())
	}
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, errors.New("advisor: Config.Addr must be host:port, got " + strconv.Quote(c.Addr))
	}
	return c, nil
}

// IsLoopback reports whether addr (host:port) binds only to loopback, in
// which case no token is needed. "localhost" counts; an empty host (all
// interfaces) does not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
