package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/ent"
)

// exportBatch is how many conversations one export query reads. Rows are
// streamed and each conversation is handed on as soon as it is complete, so
// memory holds one conversation, whatever the batch size; the batch only
// bounds how long one query runs.
const exportBatch = 200

// exportBatchSQL reads the next batch of conversations after a keyset
// position, oldest first, each with its thread in append order. The LEFT
// JOIN keeps conversations without messages.
const exportBatchSQL = `
SELECT c.id, c.started_at, c.model, c.title, c.message_count, m.id, m.seq, m.role, m.content, m.created_at
FROM (
	SELECT id, started_at, model, title, message_count FROM conversations
	WHERE (started_at, id) > ($1, $2)
	ORDER BY started_at, id
	LIMIT $3
) c
LEFT JOIN messages m ON m.conversation_id = c.id
ORDER BY c.started_at, c.id, m.seq`

// CountConversations returns how many conversations are stored, for progress
// reports.
func (s *Store) CountConversations(ctx context.Context) (int, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM conversations`).Scan(&n); err != nil {
		return 0, dbError(ctx, "count conversations", err)
	}
	return n, nil
}

// ExportConversations calls fn with every conversation and its messages,
// oldest started_at first (ties by id), walking the table by keyset in
// batches so that memory stays constant however many there are. An error
// from fn stops the walk and is returned as it is. Conversations created
// during the walk after its position are included; none is visited twice.
// The walk takes as long as it takes; when ctx has no deadline, the store's
// timeout bounds how long it waits on the server for the next row (time in
// fn does not count), so a hung server yields an error wrapping
// context.DeadlineExceeded.
func (s *Store) ExportConversations(ctx context.Context, fn func(*Conversation) error) error {
	// Before any started_at the store writes (now() or an imported time).
	after := cursor{startedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
	for {
		n, last, err := s.exportBatch(ctx, after, fn)
		if err != nil {
			return err
		}
		if n < exportBatch {
			return nil
		}
		after = last
	}
}

// exportBatch streams one batch to fn and returns how many conversations it
// held and the position of the last one.
func (s *Store) exportBatch(ctx context.Context, after cursor, fn func(*Conversation) error) (_ int, _ cursor, err error) {
	ctx, stall := s.stallWatch(ctx)
	defer stall.stop()
	defer func() { err = stall.explain(err) }()
	rows, err := s.db.QueryContext(ctx, exportBatchSQL, after.startedAt, after.id, exportBatch)
	if err != nil {
		return 0, after, dbError(ctx, "export conversations", err)
	}
	defer rows.Close()
	var (
		n   int
		cur *ent.Conversation
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		n++
		after = cursor{startedAt: cur.StartedAt, id: cur.ID}
		c := toConversation(cur)
		cur = nil
		// The consumer's time is not the server's: a slow writer is fine.
		stall.pause()
		defer stall.resume()
		return fn(c)
	}
	for rows.Next() {
		stall.resume()
		var (
			conv    ent.Conversation
			msgID   uuid.NullUUID
			seq     sql.NullInt64
			role    sql.NullString
			content sql.NullString
			created sql.NullTime
		)
		if err := rows.Scan(&conv.ID, &conv.StartedAt, &conv.Model, &conv.Title, &conv.MessageCount, &msgID, &seq, &role, &content, &created); err != nil {
			return n, after, dbError(ctx, "export conversations", err)
		}
		if cur == nil || cur.ID != conv.ID {
			if err := flush(); err != nil {
				return n, after, err
			}
			cur = &conv
			cur.Edges.Messages = make([]*ent.Message, 0, conv.MessageCount)
		}
		if msgID.Valid {
			cur.Edges.Messages = append(cur.Edges.Messages, &ent.Message{
				ID: msgID.UUID, ConversationID: cur.ID, Seq: seq.Int64,
				Role: role.String, Content: content.String, CreatedAt: created.Time,
			})
		}
	}
	if err := rows.Err(); err != nil {
		return n, after, dbError(ctx, "export conversations", err)
	}
	if err := flush(); err != nil {
		return n, after, err
	}
	return n, after, nil
}
