package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// createConversationSQL lets the database assign the id and started_at.
const createConversationSQL = `INSERT INTO conversations (model) VALUES ($1) RETURNING id`

// CreateConversation starts a conversation with the given model name and
// returns its id. The database assigns the id and started_at. A model name
// over MaxModelBytes, or with a NUL byte or invalid UTF-8, is
// ErrInvalidModel.
func (s *Store) CreateConversation(ctx context.Context, model string) (string, error) {
	if err := validModel(model); err != nil {
		return "", opError("create conversation", err)
	}
	ctx, cancel := s.opCtx(ctx, "create conversation")
	defer cancel()
	var id pgtype.UUID
	if err := s.queryRow(ctx, createConversationSQL, []any{model}, &id); err != nil {
		return "", dbError(ctx, "create conversation", err)
	}
	return uuid.UUID(id.Bytes).String(), nil
}

const getSummarySQL = `SELECT ` + summaryColumns + ` FROM conversations c WHERE c.id = $1`

// GetConversationSummary returns the conversation without its messages:
// one primary-key read of the conversations row, whose maintained
// message_count stands in for the thread, so its cost does not grow with
// the conversation. An unknown or malformed id is ErrNotFound.
func (s *Store) GetConversationSummary(ctx context.Context, id string) (ConversationSummary, error) {
	uid, err := parseID(id)
	if err != nil {
		return ConversationSummary{}, opError("get conversation summary", err)
	}
	ctx, cancel := s.opCtx(ctx, "get conversation summary")
	defer cancel()
	var r summaryRow
	err = s.queryRow(ctx, getSummarySQL, []any{uuidArg(uid)}, r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ConversationSummary{}, fmt.Errorf("store: get conversation summary %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return ConversationSummary{}, dbError(ctx, "get conversation summary", err)
	}
	return r.summary(), nil
}

// MaxPageSize is the most conversations one listing returns.
const MaxPageSize = 100

// The listing's two statements: the first page, and the page after a
// cursor. The row comparison lets PostgreSQL walk
// conversations_started_at_id_idx from the cursor on instead of filtering;
// one statement with an optional cursor would plan worse. Each reads one
// row more than the page, which tells whether a next page exists.
const (
	listFirstPageSQL = `SELECT ` + summaryColumns + ` FROM conversations c
ORDER BY c.started_at DESC, c.id DESC LIMIT $1`
	listPageAfterSQL = `SELECT ` + summaryColumns + ` FROM conversations c
WHERE (c.started_at, c.id) < ($2, $3)
ORDER BY c.started_at DESC, c.id DESC LIMIT $1`
)

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
		return Page{}, opError("list conversations", fmt.Errorf("%w: %d (want 1..%d)", ErrInvalidLimit, limit, MaxPageSize))
	}
	var after cursor
	if cur != "" {
		var err error
		if after, err = decodeCursor(cur); err != nil {
			return Page{}, opError("list conversations", err)
		}
	}
	ctx, cancel := s.opCtx(ctx, "list conversations")
	defer cancel()
	page := Page{Conversations: make([]ConversationSummary, 0, limit)}
	scan := func(rows pgx.Rows) error {
		var (
			r    summaryRow
			last cursor
		)
		_, err := pgx.ForEachRow(rows, r.dest(), func() error {
			if len(page.Conversations) == limit {
				page.NextCursor = last.encode()
				return nil
			}
			page.Conversations = append(page.Conversations, r.summary())
			last = r.cursor()
			return nil
		})
		return err
	}
	var err error
	if cur == "" {
		err = s.queryRows(ctx, listFirstPageSQL, []any{limit + 1}, scan)
	} else {
		err = s.queryRows(ctx, listPageAfterSQL, []any{limit + 1, after.startedAt, uuidArg(after.id)}, scan)
	}
	if err != nil {
		return Page{}, dbError(ctx, "list conversations", err)
	}
	return page, nil
}

const setTitleSQL = `UPDATE conversations SET title = $2 WHERE id = $1`

// SetTitle replaces the conversation's title. The empty title is allowed:
// it means "untitled", and the next user message appended names the
// conversation again. Errors: ErrNotFound for an unknown or malformed id,
// ErrInvalidTitle for a title over MaxTitleBytes or with a NUL byte or
// invalid UTF-8.
func (s *Store) SetTitle(ctx context.Context, id, title string) error {
	uid, err := parseID(id)
	if err != nil {
		return opError("set title", err)
	}
	if err := validTitle(title); err != nil {
		return opError("set title", err)
	}
	ctx, cancel := s.opCtx(ctx, "set title")
	defer cancel()
	n, err := s.exec(ctx, setTitleSQL, uuidArg(uid), title)
	if err != nil {
		return dbError(ctx, "set title", err)
	}
	if n == 0 {
		return fmt.Errorf("store: set title of %s: %w", id, ErrNotFound)
	}
	return nil
}

const deleteConversationSQL = `DELETE FROM conversations WHERE id = $1`

// DeleteConversation deletes the conversation and, by the foreign key's
// ON DELETE CASCADE, its messages, in one statement. An unknown or
// malformed id is ErrNotFound.
func (s *Store) DeleteConversation(ctx context.Context, id string) error {
	uid, err := parseID(id)
	if err != nil {
		return opError("delete conversation", err)
	}
	ctx, cancel := s.opCtx(ctx, "delete conversation")
	defer cancel()
	n, err := s.exec(ctx, deleteConversationSQL, uuidArg(uid))
	if err != nil {
		return dbError(ctx, "delete conversation", err)
	}
	if n == 0 {
		return fmt.Errorf("store: delete conversation %s: %w", id, ErrNotFound)
	}
	return nil
}

const countConversationsSQL = `SELECT count(*) FROM conversations`

// CountConversations returns how many conversations are stored, for progress
// reports.
func (s *Store) CountConversations(ctx context.Context) (int, error) {
	ctx, cancel := s.opCtx(ctx, "count conversations")
	defer cancel()
	var n int
	if err := s.queryRow(ctx, countConversationsSQL, nil, &n); err != nil {
		return 0, dbError(ctx, "count conversations", err)
	}
	return n, nil
}
