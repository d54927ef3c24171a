package store

import (
	"context"
	"fmt"

	entsql "entgo.io/ent/dialect/sql"

	"git.georgsen.dk/hwlab/ent/conversation"
)

// MaxPageSize is the most conversations one listing returns.
const MaxPageSize = 100

// CreateConversation starts a conversation with the given model name and
// returns its id. The database assigns the id and started_at. A model name
// over MaxModelBytes, or with a NUL byte or invalid UTF-8, is
// ErrInvalidModel.
func (s *Store) CreateConversation(ctx context.Context, model string) (string, error) {
	if err := validModel(model); err != nil {
		return "", err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	c, err := s.client.Conversation.Create().SetModel(model).Save(ctx)
	if err != nil {
		return "", dbError(ctx, "create conversation", err)
	}
	return c.ID.String(), nil
}

// getConversationSQL reads a conversation and its thread in one round trip;
// ent's eager loading would take two; readConversation runs it. The LEFT
// JOIN keeps a conversation without messages (the plan's inner JOIN lost
// it). Order is by seq, which is unique within a conversation, so ties in
// created_at cannot reorder.
const getConversationSQL = `
SELECT c.started_at, c.model, c.title, c.message_count, m.id, m.role, m.content, m.created_at
FROM conversations c
LEFT JOIN messages m ON m.conversation_id = c.id
WHERE c.id = $1
ORDER BY m.seq`

// GetConversation returns the conversation with its messages in append
// order. An unknown or malformed id is ErrNotFound.
func (s *Store) GetConversation(ctx context.Context, id string) (*Conversation, error) {
	uid, err := parseID(id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	c, err := s.readConversation(ctx, uid)
	if err != nil {
		return nil, dbError(ctx, "get conversation", err)
	}
	if c == nil {
		return nil, fmt.Errorf("store: get conversation %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// ListConversations returns up to MaxPageSize summaries, newest started_at
// first (ties broken by id, descending). It reads the maintained
// message_count, so its cost does not grow with the messages table.
func (s *Store) ListConversations(ctx context.Context) ([]ConversationSummary, error) {
	page, err := s.ListConversationsPage(ctx, "", MaxPageSize)
	if err != nil {
		return nil, err
	}
	return page.Conversations, nil
}

// ListConversationsPage returns up to limit (1..MaxPageSize) summaries in
// the order of ListConversations, starting after cursor ("" for the first
// page). Keyset pagination: conversations created meanwhile sort before any
// cursor, so following NextCursor never skips or repeats one. A limit out of
// range is ErrInvalidLimit; a cursor not issued by this store is
// ErrInvalidCursor.
func (s *Store) ListConversationsPage(ctx context.Context, cur string, limit int) (Page, error) {
	if limit < 1 || limit > MaxPageSize {
		return Page{}, fmt.Errorf("%w: %d (want 1..%d)", ErrInvalidLimit, limit, MaxPageSize)
	}
	q := s.client.Conversation.Query().
		Order(conversation.ByStartedAt(entsql.OrderDesc()), conversation.ByID(entsql.OrderDesc())).
		Limit(limit + 1) // one more tells whether a next page exists
	if cur != "" {
		after, err := decodeCursor(cur)
		if err != nil {
			return Page{}, err
		}
		// A row comparison, so PostgreSQL walks conversations_started_at_id_idx
		// from the cursor on instead of filtering.
		q = q.Where(func(sel *entsql.Selector) {
			sel.Where(entsql.P(func(b *entsql.Builder) {
				b.WriteString("(").Ident(sel.C(conversation.FieldStartedAt)).Comma().Ident(sel.C(conversation.FieldID)).
					WriteString(") < (").Arg(after.startedAt).Comma().Arg(after.id).WriteString(")")
			}))
		})
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cs, err := q.All(ctx)
	if err != nil {
		return Page{}, dbError(ctx, "list conversations", err)
	}
	var next string
	if len(cs) > limit {
		cs = cs[:limit]
		last := cs[len(cs)-1]
		next = cursor{startedAt: last.StartedAt, id: last.ID}.encode()
	}
	return Page{Conversations: toSummaries(cs), NextCursor: next}, nil
}

// DeleteConversation deletes the conversation and, by the foreign key's
// ON DELETE CASCADE, its messages, in one statement. An unknown or
// malformed id is ErrNotFound.
func (s *Store) DeleteConversation(ctx context.Context, id string) error {
	uid, err := parseID(id)
	if err != nil {
		return err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	n, err := s.client.Conversation.Delete().Where(conversation.ID(uid)).Exec(ctx)
	if err != nil {
		return dbError(ctx, "delete conversation", err)
	}
	if n == 0 {
		return fmt.Errorf("store: delete conversation %s: %w", id, ErrNotFound)
	}
	return nil
}
