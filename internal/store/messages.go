package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// appendMessageSQL appends a message in one statement and one round trip:
// it bumps the conversation's message_count, takes the new count as the
// message's seq, and inserts. An UPDATE and an INSERT in a transaction
// would take three round trips. Appends to one conversation serialise on
// its row lock, so seq has no gaps or duplicates, and an unknown
// conversation updates no row, inserts nothing and returns no row:
// ErrNotFound, without a foreign-key race.
//
// created_at is clock_timestamp(), read once the row lock is held, not the
// column's default now(), which is the time the statement began: an append
// that began first but waited for the lock would get a later seq and an
// earlier time. greatest() with the previous message's created_at keeps the
// order when the clock steps back or an imported message is dated ahead;
// it reads the (conversation_id, seq) index the insert touches anyway.
//
// The message goes into the tree under the active leaf ($4 true), or under
// the parent $5 (a start that has locked the conversation and chosen it),
// and becomes the active leaf. The active leaf is read by o, which locks
// the row first: the UPDATE's own RETURNING shows only new values, and a
// read without the lock could see an active leaf that a concurrent append
// has just replaced, forking the thread where nobody asked.
//
// The UPDATE also marks the conversation forked when the new message's
// parent is not the message before it (conversations.forked, which lets
// the thread reads skip the tree for a chain).
//
// The same UPDATE gives an untitled conversation its default title from a
// user message (see SetTitle), so naming costs no extra round trip and
// cannot race another append; the conversation_title migration backfills
// older rows with the same expression.
const appendMessageSQL = `
WITH o AS (
	SELECT active_seq FROM conversations WHERE id = $1 FOR NO KEY UPDATE
), c AS (
	UPDATE conversations SET message_count = message_count + 1, active_seq = message_count + 1,
		forked = forked OR (message_count > 0
			AND CASE WHEN $4::boolean THEN o.active_seq ELSE $5::bigint END IS DISTINCT FROM message_count),
		title = CASE WHEN title = '' AND $2 = 'user'
			THEN rtrim(left(btrim(regexp_replace(left($3, 240), '\s+', ' ', 'g')), 60))
			ELSE title END
	FROM o
	WHERE conversations.id = $1
	RETURNING message_count, o.active_seq
)
INSERT INTO messages (conversation_id, seq, parent_seq, role, content, created_at)
SELECT $1, c.message_count, CASE WHEN $4::boolean THEN c.active_seq ELSE $5::bigint END, $2, $3,
	greatest(clock_timestamp(),
		(SELECT p.created_at FROM messages p WHERE p.conversation_id = $1 AND p.seq = c.message_count - 1))
FROM c
RETURNING id, created_at, seq,
	(SELECT p.id FROM messages p WHERE p.conversation_id = $1 AND p.seq = messages.parent_seq)`

// AddMessage appends a message to the conversation, under its active leaf,
// makes it the active leaf, and returns its id.
// Errors: ErrNotFound for an unknown or malformed conversation id,
// ErrInvalidRole, ErrInvalidContent (NUL byte, invalid UTF-8) and
// ErrContentTooLarge. A rejected message stores nothing.
func (s *Store) AddMessage(ctx context.Context, conversationID, role, content string) (string, error) {
	m, err := s.AppendMessage(ctx, conversationID, role, content)
	return m.ID, err
}

// AppendMessage is AddMessage returning the stored message, created_at
// included, from the same statement. Errors as AddMessage. Within a
// conversation, created_at never decreases as seq grows.
func (s *Store) AppendMessage(ctx context.Context, conversationID, role, content string) (Message, error) {
	uid, err := parseID(conversationID)
	if err != nil {
		return Message{}, opError("add message", err)
	}
	if err := validRole(role); err != nil {
		return Message{}, opError("add message", err)
	}
	if err := s.validContent(content); err != nil {
		return Message{}, opError("add message", err)
	}
	ctx, cancel := s.opCtx(ctx, "add message")
	defer cancel()
	var (
		id, parent pgtype.UUID
		created    time.Time
	)
	err = s.queryRow(ctx, appendMessageSQL, []any{uuidArg(uid), role, content, true, nil}, &id, &created, nil, &parent)
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, fmt.Errorf("store: add message to %s: %w", conversationID, ErrNotFound)
	}
	if err != nil {
		return Message{}, dbError(ctx, "add message", err)
	}
	return Message{ID: uuid.UUID(id.Bytes).String(), ConversationID: uid.String(), Role: role, Content: content,
		CreatedAt: created.UTC(), Status: StatusComplete, ParentID: idOrEmpty(parent)}, nil
}

const messageOwnersSQL = `SELECT id, conversation_id FROM messages WHERE id = ANY($1::uuid[])`

// MessageOwners reports which of ids are already stored, mapping each to
// the id of the conversation it belongs to; ids not stored are absent. An
// importer uses it to find, before importing anything, a message id that a
// file gives to one conversation while the database holds it under
// another (ImportConversation would fail with ErrIDConflict half-way).
// One query; callers batch large sets. Errors: ErrInvalidRecord for an id
// that is not a UUID, else a database error.
func (s *Store) MessageOwners(ctx context.Context, ids []string) (map[string]string, error) {
	if len(ids) == 0 {
		return map[string]string{}, nil
	}
	arg := make([]pgtype.UUID, len(ids)) // see uuidArg
	for i, id := range ids {
		u, err := parseID(id)
		if err != nil {
			return nil, opError("message owners", fmt.Errorf("%w: message id %q is not a UUID", ErrInvalidRecord, truncate(id, 40)))
		}
		arg[i] = uuidArg(u)
	}
	ctx, cancel := s.opCtx(ctx, "message owners")
	defer cancel()
	out := make(map[string]string)
	err := s.queryRows(ctx, messageOwnersSQL, []any{arg}, func(rows pgx.Rows) error {
		var id, conv pgtype.UUID
		_, err := pgx.ForEachRow(rows, []any{&id, &conv}, func() error {
			out[uuid.UUID(id.Bytes).String()] = uuid.UUID(conv.Bytes).String()
			return nil
		})
		return err
	})
	if err != nil {
		return nil, dbError(ctx, "message owners", err)
	}
	return out, nil
}
