// Package baseline is the original chat store, hand-written with pgx before
// internal/store existed: a pgxpool pool, the two CREATE TABLE IF NOT EXISTS
// statements of the original schema (v1) and their literal queries. It exists only as the yardstick for the benchmarks in
// package bench; production code uses internal/store.
//
// It keeps the original's known faults on purpose (an empty conversation reads
// as not found, order is by created_at only, the list aggregates the whole
// messages table), because that is what the repository is measured against.
package baseline

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"git.georgsen.dk/hwlab/internal/store"
)

// Schema is the original schema's (v1) DDL, statement by statement.
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS conversations (
	id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
	started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	model TEXT NOT NULL DEFAULT ''
)`,
	`CREATE TABLE IF NOT EXISTS messages (
	id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
	conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('user','assistant','system')),
	content TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
}

// The original queries.
const (
	insertConversationSQL = `INSERT INTO conversations (model) VALUES ($1) RETURNING id`
	insertMessageSQL      = `INSERT INTO messages (conversation_id, role, content) VALUES ($1, $2, $3) RETURNING id`
	getConversationSQL    = `
SELECT c.id, c.started_at, c.model, m.id, m.role, m.content, m.created_at
FROM conversations c
JOIN messages m ON m.conversation_id = c.id
WHERE c.id = $1
ORDER BY m.created_at`
	listSummariesSQL = `
SELECT c.id, c.started_at, c.model, COUNT(m.id)
FROM conversations c
LEFT JOIN messages m ON m.conversation_id = c.id
GROUP BY c.id
ORDER BY c.started_at DESC`
	listConversationsSQL = listSummariesSQL + `
LIMIT 100`
	// The original has no pagination; OFFSET on its list query is what one
	// would add by hand.
	listConversationsOffsetSQL = listSummariesSQL + `
LIMIT $1 OFFSET $2`
)

// GetConversationSQL and ListConversationsSQL are exported for EXPLAIN.
const (
	GetConversationSQL   = getConversationSQL
	ListConversationsSQL = listConversationsSQL
)

// Store is the original repository over a pgxpool pool.
type Store struct {
	pool *pgxpool.Pool
}

// New opens a pool of at most maxConns connections and pings it. configure,
// if not nil, adjusts the pool config (a tracer, say) before it opens.
func New(ctx context.Context, dsn string, maxConns int32, configure func(*pgxpool.Config)) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Migrate runs the original schema's DDL; it is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	for _, q := range Schema {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("baseline: migrate: %w", err)
		}
	}
	return nil
}

// CreateConversation inserts a conversation and returns its id.
func (s *Store) CreateConversation(ctx context.Context, model string) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, insertConversationSQL, model).Scan(&id); err != nil {
		return "", fmt.Errorf("baseline: create conversation: %w", err)
	}
	return id, nil
}

// AddMessage inserts a message and returns its id. The database's CHECK
// rejects a bad role.
func (s *Store) AddMessage(ctx context.Context, conversationID, role, content string) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, insertMessageSQL, conversationID, role, content).Scan(&id); err != nil {
		return "", fmt.Errorf("baseline: add message: %w", err)
	}
	return id, nil
}

// GetConversation reads a conversation with the original single JOIN. A
// conversation without messages reads as store.ErrNotFound (the original's
// fault, kept).
func (s *Store) GetConversation(ctx context.Context, id string) (*store.Conversation, error) {
	rows, err := s.pool.Query(ctx, getConversationSQL, id)
	if err != nil {
		return nil, fmt.Errorf("baseline: get conversation: %w", err)
	}
	defer rows.Close()
	var c *store.Conversation
	for rows.Next() {
		var (
			conv store.Conversation
			m    store.Message
		)
		if err := rows.Scan(&conv.ID, &conv.StartedAt, &conv.Model, &m.ID, &m.Role, &m.Content, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("baseline: get conversation: %w", err)
		}
		if c == nil {
			conv.StartedAt = conv.StartedAt.UTC()
			c = &conv
		}
		m.ConversationID = c.ID
		m.CreatedAt = m.CreatedAt.UTC()
		c.Messages = append(c.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("baseline: get conversation: %w", err)
	}
	if c == nil {
		return nil, fmt.Errorf("baseline: get conversation %s: %w", id, store.ErrNotFound)
	}
	return c, nil
}

// ListConversations returns the newest 100 conversations with their message
// counts, aggregated by the original GROUP BY.
func (s *Store) ListConversations(ctx context.Context) ([]store.ConversationSummary, error) {
	return s.list(ctx, listConversationsSQL)
}

// ListConversationsOffset is the original list query paged by OFFSET.
func (s *Store) ListConversationsOffset(ctx context.Context, limit, offset int) ([]store.ConversationSummary, error) {
	return s.list(ctx, listConversationsOffsetSQL, limit, offset)
}

func (s *Store) list(ctx context.Context, query string, args ...any) ([]store.ConversationSummary, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("baseline: list conversations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ConversationSummary, error) {
		var c store.ConversationSummary
		err := row.Scan(&c.ID, &c.StartedAt, &c.Model, &c.MessageCount)
		c.StartedAt = c.StartedAt.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("baseline: list conversations: %w", err)
	}
	return out, nil
}
