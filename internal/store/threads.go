package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// activePath is the WITH list of a read of conversation $1's active path.
// chain says whether the conversation is a chain (not forked: one branch
// start, its root, or none; the append statements keep the flag, so a
// chain's read does not probe the branch starts to find that out): then
// the path is simply its messages up to the leaf, a plain range of the
// (conversation_id, seq) index, as before messages had parents. Otherwise
// path is the seqs of the path, from the function hwlab_active_path,
// which climbs from the leaf one run of consecutive seq at a time between
// the branch starts (the messages whose parent is not the message before
// them, which a partial index holds): a path through 100 branch points is
// 101 runs, found by 202 index look-ups, not a walk of every message. The walks live in functions (the message_tree migration)
// rather than in this statement because the executor sets up every node of
// a statement's plan on each run: inline, the walks' nodes cost a chain's
// read more than the read itself, though they never run for it.
const activePath = `WITH
chain AS (
	SELECT NOT c.forked AS yes, c.active_seq AS leaf FROM conversations c WHERE c.id = $1
),
path AS MATERIALIZED (
	SELECT hwlab_active_path($1, leaf) AS runs FROM chain WHERE NOT yes
)`

// pathMessages are the active path's message rows, for a thread read after
// activePath: the conversation's messages up to the leaf, all of them for a
// chain (chain.yes: the path is not computed), else those whose seq is in
// one of the path's runs (a multirange, so the test is one binary search
// per row). For a branched conversation that reads the messages of other
// branches below the leaf too, and drops them. Joining each run to its
// range of the index instead would read only the path, but the planner
// then multiplies its guesses of both, estimates millions of rows, and
// spends half a second compiling the query (JIT) for a read of
// milliseconds.
const pathMessages = `messages m
	WHERE m.conversation_id = $1 AND m.seq <= (SELECT leaf FROM chain)
		AND ((SELECT yes FROM chain) OR m.seq <@ (SELECT runs FROM path))`

// pathForks is the head row's last column in a read of the active path:
// the forks (hwlab_forks), for a conversation that has any.
const pathForks = `CASE WHEN NOT (SELECT yes FROM chain) THEN hwlab_forks($1) END`

// getConversationSQL reads a conversation and its active path in one round
// trip (the rows threadHead describes): the head row, then the path by
// seq, root first (a parent's seq is below its children's). An unknown id
// has no head row, and no messages.
const getConversationSQL = activePath + `
SELECT ` + threadColumns + ` FROM (
	SELECT ` + threadHead + `, ` + pathForks + `, -1::bigint
	FROM conversations c ` + threadHeadJoins + `
	WHERE c.id = $1
	UNION ALL
	SELECT ` + threadMessage + `, NULL::uuid, NULL::text[], m.seq
	FROM ` + pathMessages + `
) t(` + threadColumns + `, seq)
ORDER BY seq`

// GetConversation returns the conversation with its thread: the active
// path, from the root to the active leaf, each message with its ParentID
// and Siblings. For a conversation without branches that is every message
// in append order. An unknown or malformed id is ErrNotFound.
func (s *Store) GetConversation(ctx context.Context, id string) (*Conversation, error) {
	return s.readWhole(ctx, "get conversation", getConversationSQL, id, pathRows)
}

// GetConversationTree returns the conversation with every message of every
// branch, in append order, each with its ParentID, and its ActiveID. An
// unknown or malformed id is ErrNotFound.
func (s *Store) GetConversationTree(ctx context.Context, id string) (*Conversation, error) {
	return s.readWhole(ctx, "get conversation tree", treeSQL, id, treeRows)
}

// readWhole runs a thread read of one conversation into memory.
func (s *Store) readWhole(ctx context.Context, op string, sqlText statement, id string, mode scanMode) (*Conversation, error) {
	uid, err := parseID(id)
	if err != nil {
		return nil, opError(op, err)
	}
	ctx, cancel := s.opCtx(ctx, op)
	defer cancel()
	var conv *Conversation
	err = s.queryRows(ctx, sqlText, []any{uuidArg(uid)}, func(rows pgx.Rows) error {
		_, _, err := scanThreads(rows, mode, nil, func(c *Conversation) error { conv = c; return nil })
		return err
	})
	if err != nil {
		return nil, dbError(ctx, op, err)
	}
	if conv == nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, id, ErrNotFound)
	}
	return conv, nil
}

// recentThreadSQL reads a conversation (its head row) and the newest of
// the messages on its active path whose newer messages hold fewer than $2
// bytes of content, in append order: the newest always, then older ones
// while the bytes after them stay under the bound. octet_length reads a
// TOASTed value's header, not the value, so older messages cost nothing to
// pass over; only the rows returned are fetched whole.
const recentThreadSQL = activePath + `
SELECT ` + threadColumns + ` FROM (
	SELECT ` + threadHead + `, NULL::text[], -1::bigint
	FROM conversations c ` + threadHeadJoins + `
	WHERE c.id = $1
	UNION ALL
	SELECT ` + threadMessage + `, NULL::uuid, NULL::text[], m.seq FROM (
		SELECT m.*, sum(octet_length(m.content)) OVER (ORDER BY m.seq DESC) - octet_length(m.content) AS newer_bytes
		FROM ` + pathMessages + `
	) m WHERE m.newer_bytes < $2
) t(` + threadColumns + `, seq)
ORDER BY seq`

// GetRecentThread is the tail of a conversation's active path for a model:
// the summary (its MessageCount counts every branch) and the path's newest
// messages, in order, the newest always and older ones while the messages
// after them hold fewer than maxBytes bytes of content. Their ParentID is
// the message before them ("" for the first returned) and Siblings nil: a
// model needs neither. Memory is bounded by
// maxBytes plus one message, however long the thread. One round trip. An
// unknown or malformed id is ErrNotFound.
func (s *Store) GetRecentThread(ctx context.Context, id string, maxBytes int) (ConversationSummary, []Message, error) {
	var (
		sum  ConversationSummary
		msgs = []Message{}
	)
	err := s.readThread(ctx, "get recent thread", recentThreadSQL, id, []any{maxBytes},
		func(c ConversationSummary) error { sum = c; return nil },
		func(m Message) error { msgs = append(msgs, m); return nil })
	if err != nil {
		return ConversationSummary{}, nil, err
	}
	return sum, msgs, nil
}

// ReadConversation is GetConversation one row at a time, for a caller that
// streams the thread on (the API's GET): head gets the conversation's
// summary first (ActiveID set; MessageCount counts every branch), then msg
// each message of the active path, root first, and nothing holds more than
// one message. It is the same single query. An unknown or
// malformed id is ErrNotFound, before head is called; an error from head
// or msg stops the read and is returned as it is.
func (s *Store) ReadConversation(ctx context.Context, id string, head func(ConversationSummary) error, msg func(Message) error) error {
	return s.readThread(ctx, "read conversation", getConversationSQL, id, nil, head, msg)
}

// readThread runs a thread read (threadHead) for conversation id ($1, then
// args) and hands its rows on one at a time: head once, then msg for each
// message. Like the export, it is bounded by how long the server sends
// nothing (stallWatch), not by its total time: a slow client may take
// minutes over a long thread.
func (s *Store) readThread(ctx context.Context, op string, sqlText statement, id string, args []any, head func(ConversationSummary) error, msg func(Message) error) error {
	uid, err := parseID(id)
	if err != nil {
		return opError(op, err)
	}
	ctx, stall := s.stallWatch(ctx, op)
	defer stall.stop()
	found := false
	// consume hands a row on; the consumer's time is not the server's.
	consume := func(fn func() error) error {
		stall.pause()
		defer stall.resume()
		if err := fn(); err != nil {
			return fnError{err}
		}
		return nil
	}
	err = s.queryRows(ctx, sqlText, append([]any{uuidArg(uid)}, args...), func(rows pgx.Rows) error {
		var (
			r    threadRow
			dest = r.dest()
			st   threadState
		)
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if r.isHead() {
				found = true
				sum := r.conv.summary()
				st = r.state(pathRows)
				sum.ActiveID = st.activeID
				if err := consume(func() error { return head(sum) }); err != nil {
					return err
				}
				continue
			}
			if !found {
				return errNoHead
			}
			if err := consume(func() error { return msg(r.message(&st)) }); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if fe := (fnError{}); errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		return stall.explain(op, dbError(ctx, op, err))
	}
	if !found {
		return fmt.Errorf("store: %s %s: %w", op, id, ErrNotFound)
	}
	return nil
}

// exportBatch is how many conversations one export query reads. Rows are
// streamed and each conversation is handed on as soon as it is complete, so
// memory holds one conversation, whatever the batch size; the batch only
// bounds how long one query runs.
const exportBatch = 200

// exportBatchSQL reads the next batch of conversations after a keyset
// position, oldest first, each as its head row and every message of its
// tree in append order, with its parent's id.
const exportBatchSQL = `
WITH c AS (
	SELECT id, started_at, model, title, message_count, active_seq FROM conversations
	WHERE (started_at, id) > ($1, $2)
	ORDER BY started_at, id
	LIMIT $3
)
SELECT ` + threadColumns + ` FROM (
	SELECT ` + threadHead + `, NULL::text[], c.started_at, c.id, -1::bigint
	FROM c ` + threadHeadJoins + `
	UNION ALL
	SELECT ` + threadMessage + `, p.id, NULL::text[], c.started_at, c.id, m.seq
	FROM c JOIN messages m ON m.conversation_id = c.id
	LEFT JOIN messages p ON p.conversation_id = m.conversation_id AND p.seq = m.parent_seq
) t(` + threadColumns + `, k_started_at, k_id, seq)
ORDER BY k_started_at, k_id, seq`

// treeSQL reads one conversation like exportBatchSQL: its head row and
// every message of its tree in append order, with its parent's id.
const treeSQL = `
SELECT ` + threadColumns + ` FROM (
	SELECT ` + threadHead + `, NULL::text[], -1::bigint
	FROM conversations c ` + threadHeadJoins + `
	WHERE c.id = $1
	UNION ALL
	SELECT ` + threadMessage + `, p.id, NULL::text[], m.seq
	FROM messages m
	LEFT JOIN messages p ON p.conversation_id = m.conversation_id AND p.seq = m.parent_seq
	WHERE m.conversation_id = $1
) t(` + threadColumns + `, seq)
ORDER BY seq`

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

// fnError marks an error of the export's consumer, returned as it is.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// exportBatch streams one batch to fn and returns how many conversations it
// held and the position of the last one.
func (s *Store) exportBatch(ctx context.Context, after cursor, fn func(*Conversation) error) (n int, last cursor, err error) {
	ctx, stall := s.stallWatch(ctx, "export conversations")
	defer stall.stop()
	err = s.queryRows(ctx, exportBatchSQL, []any{after.startedAt, uuidArg(after.id), exportBatch}, func(rows pgx.Rows) error {
		n, last, err = scanThreads(rows, treeRows, stall.resume, func(c *Conversation) error {
			// The consumer's time is not the server's: a slow writer is fine.
			stall.pause()
			defer stall.resume()
			if err := fn(c); err != nil {
				return fnError{err}
			}
			return nil
		})
		return err
	})
	if fe := (fnError{}); errors.As(err, &fe) {
		return n, last, fe.err
	}
	if err != nil {
		return n, last, stall.explain("export conversations", dbError(ctx, "export conversations", err))
	}
	return n, last, nil
}
