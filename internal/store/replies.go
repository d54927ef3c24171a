package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// A reply's life in the database. StartReply (or StartChat) appends an
// assistant message with status streaming and empty content, and a
// generations row: the lease of the instance that generates it. Each
// FlushReply inserts the text since the previous flush as one
// message_chunks row and renews the lease, so a reply writes WAL in
// proportion to its size (an UPDATE of the TOASTed content would rewrite
// all of it on every flush). FinishReply moves the chunks into content,
// sets the status and the metadata, and deletes the chunks and the lease,
// in one statement; SweepInterrupted does the same, as interrupted, for
// leases that nobody renews. Thread reads show a streaming reply as its
// chunks (threadHead).
//
// The unique generations.conversation_id allows one generation per
// conversation across every instance on the database; leases are read by
// the database's clock, so instances need no agreement on time.

// ReplyStart says who generates a reply, and with what.
type ReplyStart struct {
	Model    string // the model to ask when the conversation names none; the answer may name another (Final.Model)
	Instance string // the lease holder's name: SweepInterrupted(…, Instance) ends its replies
}

// Chunk is a piece of a streaming reply's text: N counts a reply's flushes
// from 0.
type Chunk struct {
	N    int
	Text string
}

// Final is how a reply ended, for FinishReply.
type Final struct {
	Status string // StatusComplete, StatusStopped or StatusFailed
	Reply         // Model "" keeps the model asked for
}

// RunningError is ErrGenerationRunning with the message that is being
// generated.
type RunningError struct{ MessageID string }

func (e *RunningError) Error() string {
	return fmt.Sprintf("%v (message %s)", ErrGenerationRunning, e.MessageID)
}

func (e *RunningError) Unwrap() error { return ErrGenerationRunning }

// lockForReplySQL locks the conversation (so starts serialise on it, as
// appends do) and reads what a start needs: the generation in flight, if
// any, and the active leaf's seq, role, status and parent. No row: no
// conversation.
const lockForReplySQL = `
SELECT g.message_id, c.active_seq, l.role, l.status, l.parent_seq
FROM conversations c
LEFT JOIN generations g ON g.conversation_id = c.id
LEFT JOIN messages l ON l.conversation_id = c.id AND l.seq = c.active_seq
WHERE c.id = $1
FOR UPDATE OF c`

// targetSQL reads the message an edit, a regeneration or a branch switch
// names: its conversation, seq, parent and role.
const targetSQL = `SELECT conversation_id, seq, parent_seq, role FROM messages WHERE id = $1`

// startReplySQL appends the streaming reply under the parent $4, makes it
// the active leaf and takes the lease, like appendMessageSQL (one seq,
// created_at kept monotonic, forked set when $4 is not the newest
// message); the conversation is locked already.
const startReplySQL = `
WITH c AS (
	UPDATE conversations SET message_count = message_count + 1, active_seq = message_count + 1,
		forked = forked OR (message_count > 0 AND $4::bigint IS DISTINCT FROM message_count)
	WHERE id = $1 RETURNING message_count, model
), m AS (
	INSERT INTO messages (conversation_id, seq, parent_seq, role, content, created_at, status, model)
	SELECT $1, c.message_count, $4, 'assistant', '', greatest(clock_timestamp(),
		(SELECT p.created_at FROM messages p WHERE p.conversation_id = $1 AND p.seq = c.message_count - 1)),
		'streaming', coalesce(nullif(c.model, ''), $2)
	FROM c
	RETURNING id, created_at, model,
		(SELECT p.id FROM messages p WHERE p.conversation_id = $1 AND p.seq = messages.parent_seq) AS parent_id
), g AS (
	INSERT INTO generations (message_id, conversation_id, instance) SELECT m.id, $1, $3 FROM m
)
SELECT id, created_at, model, parent_id FROM m`

// switchBranchSQL makes the newest leaf under message seq $2 the active
// leaf, following the newest child (the highest seq) at each step down.
const switchBranchSQL = `
WITH RECURSIVE d(seq) AS (
	SELECT $2::bigint
	UNION ALL
	SELECT (SELECT max(k.seq) FROM messages k WHERE k.conversation_id = $1 AND k.parent_seq = d.seq)
	FROM d WHERE d.seq IS NOT NULL
)
UPDATE conversations SET active_seq = (SELECT max(seq) FROM d) WHERE id = $1`

// startKind is what a start puts into the tree.
type startKind int

const (
	startChat       startKind = iota // a user message under the active leaf, and a reply to it
	startRetry                       // a reply to the active leaf, or beside it when it is a reply that did not complete
	startEdit                        // a user message beside the target, and a reply to it
	startRegenerate                  // a reply beside the target
)

// StartReply starts a reply in the conversation: to the active leaf when
// it is a user message; when it is a reply that ended stopped, failed or
// interrupted, a fresh reply beside it, under the same user message (the
// retry; the old reply stays, as a sibling). The reply becomes the active
// leaf. It returns the reply, status streaming and empty, with the model to
// ask (the conversation's, else start.Model). Errors: ErrNotFound;
// ErrGenerationRunning (a *RunningError naming the reply in flight);
// ErrNotAwaitingReply; ErrInvalidModel.
func (s *Store) StartReply(ctx context.Context, conversationID string, start ReplyStart) (Message, error) {
	_, reply, err := s.startReply(ctx, "start reply", startRetry, conversationID, "", nil, start)
	return reply, err
}

// StartChat appends the user's message under the active leaf and starts
// the reply to it, in one transaction: while a reply is in flight it
// stores nothing and returns ErrGenerationRunning. Errors as AppendMessage
// and StartReply.
func (s *Store) StartChat(ctx context.Context, conversationID, content string, start ReplyStart) (user, reply Message, err error) {
	if err := s.validContent(content); err != nil {
		return Message{}, Message{}, opError("start chat", err)
	}
	return s.startReply(ctx, "start chat", startChat, conversationID, "", &content, start)
}

// EditMessage is an edit of the user message messageID: a new user message
// with content and the same parent, which becomes the active leaf, and a
// reply started to it, in one transaction; the original and everything
// after it stay, as another branch. Errors as StartChat, and ErrNotFound
// (no such message), ErrOtherConversation, ErrWrongRole (not a user
// message).
func (s *Store) EditMessage(ctx context.Context, conversationID, messageID, content string, start ReplyStart) (user, reply Message, err error) {
	if err := s.validContent(content); err != nil {
		return Message{}, Message{}, opError("edit message", err)
	}
	return s.startReply(ctx, "edit message", startEdit, conversationID, messageID, &content, start)
}

// RegenerateMessage starts a new reply beside the assistant message
// messageID, under the same parent; it becomes the active leaf and the old
// reply stays, as a sibling. Errors as StartReply, and ErrNotFound (no
// such message), ErrOtherConversation, ErrWrongRole (not an assistant
// message).
func (s *Store) RegenerateMessage(ctx context.Context, conversationID, messageID string, start ReplyStart) (Message, error) {
	_, reply, err := s.startReply(ctx, "regenerate message", startRegenerate, conversationID, messageID, nil, start)
	return reply, err
}

// SwitchBranch makes the newest leaf under messageID the active leaf,
// following the newest child at each step, so that the thread becomes the
// branch through messageID. Errors: ErrNotFound (no such conversation or
// message), ErrOtherConversation, ErrGenerationRunning (a *RunningError:
// the thread may not change under a reply in flight).
func (s *Store) SwitchBranch(ctx context.Context, conversationID, messageID string) error {
	const op = "switch branch"
	uid, err := parseID(conversationID)
	if err != nil {
		return opError(op, err)
	}
	mid, err := parseID(messageID)
	if err != nil {
		return opError(op, err)
	}
	ctx, cancel := s.opCtx(ctx, op)
	defer cancel()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := lockForStart(ctx, tx, uid); err != nil {
			return err
		}
		t, err := readTarget(ctx, tx, uid, mid)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, switchBranchSQL, uuidArg(uid), t.seq)
		return err
	})
	return startError(ctx, op, conversationID, err)
}

// leafRow is the active leaf as lockForReplySQL reads it.
type leafRow struct {
	seq, parent  pgtype.Int8
	role, status pgtype.Text
}

// lockForStart locks the conversation and returns its active leaf, or a
// *RunningError when a reply is in flight (pgx.ErrNoRows: no conversation).
func lockForStart(ctx context.Context, tx pgx.Tx, conv uuid.UUID) (leafRow, error) {
	var (
		running pgtype.UUID
		l       leafRow
	)
	if err := tx.QueryRow(ctx, lockForReplySQL, uuidArg(conv)).Scan(&running, &l.seq, &l.role, &l.status, &l.parent); err != nil {
		return l, err
	}
	if running.Valid {
		return l, &RunningError{MessageID: uuid.UUID(running.Bytes).String()}
	}
	return l, nil
}

// targetRow is a message an operation names, as targetSQL reads it.
type targetRow struct {
	seq    int64
	parent pgtype.Int8
	role   string
}

// readTarget reads message mid, which must be in conversation conv.
func readTarget(ctx context.Context, tx pgx.Tx, conv, mid uuid.UUID) (targetRow, error) {
	var (
		owner pgtype.UUID
		t     targetRow
	)
	err := tx.QueryRow(ctx, targetSQL, uuidArg(mid)).Scan(&owner, &t.seq, &t.parent, &t.role)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errNoTarget
	}
	if err == nil && owner.Bytes != conv {
		return t, ErrOtherConversation
	}
	return t, err
}

// errNoTarget is a target message that does not exist: ErrNotFound, told
// apart from pgx.ErrNoRows (no conversation) only inside startReply.
var errNoTarget = fmt.Errorf("message: %w", ErrNotFound)

func (s *Store) startReply(ctx context.Context, op string, kind startKind, conversationID, messageID string, userContent *string, start ReplyStart) (user, reply Message, err error) {
	uid, err := parseID(conversationID)
	if err != nil {
		return Message{}, Message{}, opError(op, err)
	}
	var mid uuid.UUID
	if kind == startEdit || kind == startRegenerate {
		if mid, err = parseID(messageID); err != nil {
			return Message{}, Message{}, opError(op, err)
		}
	}
	if err := validModel(start.Model); err != nil {
		return Message{}, Message{}, opError(op, err)
	}
	ctx, cancel := s.opCtx(ctx, op)
	defer cancel()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		leaf, err := lockForStart(ctx, tx, uid)
		if err != nil {
			return err
		}
		// Where the user message (if any) and the reply go.
		var userParent, replyParent pgtype.Int8
		switch kind {
		case startChat:
			userParent = leaf.seq
		case startRetry:
			switch {
			case leaf.role.String == RoleUser:
				replyParent = leaf.seq
			case awaitsRetry(leaf.role, leaf.status):
				replyParent = leaf.parent
			default:
				return ErrNotAwaitingReply
			}
		case startEdit, startRegenerate:
			t, err := readTarget(ctx, tx, uid, mid)
			if err != nil {
				return err
			}
			want := RoleUser // an edit replaces a question, a regeneration an answer
			if kind == startRegenerate {
				want = RoleAssistant
			}
			if t.role != want {
				return ErrWrongRole
			}
			userParent, replyParent = t.parent, t.parent
		}
		var (
			id, parent pgtype.UUID
			created    time.Time
		)
		if userContent != nil {
			var seq int64
			if err := tx.QueryRow(ctx, appendMessageSQL, uuidArg(uid), RoleUser, *userContent, false, userParent).Scan(&id, &created, &seq, &parent); err != nil {
				return err
			}
			user = Message{ID: uuid.UUID(id.Bytes).String(), ConversationID: uid.String(), Role: RoleUser,
				Content: *userContent, CreatedAt: created.UTC(), Status: StatusComplete, ParentID: idOrEmpty(parent)}
			replyParent = pgtype.Int8{Int64: seq, Valid: true}
		}
		var model textScanner
		if err := tx.QueryRow(ctx, startReplySQL, uuidArg(uid), textArg(start.Model), start.Instance, replyParent).Scan(&id, &created, &model, &parent); err != nil {
			return err
		}
		reply = Message{ID: uuid.UUID(id.Bytes).String(), ConversationID: uid.String(), Role: RoleAssistant,
			CreatedAt: created.UTC(), Status: StatusStreaming, Reply: Reply{Model: string(model)}, ParentID: idOrEmpty(parent)}
		return nil
	})
	return user, reply, startError(ctx, op, conversationID, err)
}

// startError maps the error of a start or a branch switch.
func startError(ctx context.Context, op, conversationID string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoTarget):
		return fmt.Errorf("store: %s in %s: %w", op, conversationID, err)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("store: %s in %s: %w", op, conversationID, ErrNotFound)
	case errors.Is(err, ErrGenerationRunning), errors.Is(err, ErrNotAwaitingReply),
		errors.Is(err, ErrWrongRole), errors.Is(err, ErrOtherConversation):
		return opError(op, err)
	}
	return dbError(ctx, op, err)
}

// awaitsRetry: the message is a reply that did not complete.
func awaitsRetry(role, status pgtype.Text) bool {
	if role.String != RoleAssistant {
		return false
	}
	switch status.String {
	case StatusStopped, StatusFailed, StatusInterrupted:
		return true
	}
	return false
}

// flushReplySQL stores chunk $2 of the reply and renews its lease, in one
// round trip, and says whether a stop was asked for. A chunk already
// stored (a retry after a lost acknowledgement) is left as it is, so no
// text is stored twice; an empty $3 only renews the lease. No row: the
// reply has no lease (it ended, was swept, or its conversation deleted).
const flushReplySQL = `
WITH g AS (
	UPDATE generations SET heartbeat_at = now() WHERE message_id = $1 RETURNING stop_requested
), k AS (
	INSERT INTO message_chunks (message_id, n, content)
	SELECT $1, $2, $3 FROM g WHERE $3 <> ''
	ON CONFLICT (message_id, n) DO NOTHING
)
SELECT stop_requested FROM g`

// FlushReply stores c, the reply's text since its previous chunk, and
// renews the reply's lease; an empty c.Text only renews it. It reports
// whether a stop was requested (RequestStop). A retry with the same c
// after an error is safe: a chunk is stored once. The caller keeps the
// reply within the content limit; a chunk holding NUL or invalid UTF-8 is
// ErrInvalidContent. Errors: ErrNoGeneration when the reply holds no
// lease any more (it was ended elsewhere); ErrNotFound for a malformed id.
func (s *Store) FlushReply(ctx context.Context, messageID string, c Chunk) (stop bool, err error) {
	uid, err := parseID(messageID)
	if err != nil {
		return false, opError("flush reply", err)
	}
	if err := validText(ErrInvalidContent, c.Text); err != nil {
		return false, opError("flush reply", err)
	}
	ctx, cancel := s.opCtx(ctx, "flush reply")
	defer cancel()
	err = s.queryRow(ctx, flushReplySQL, []any{uuidArg(uid), int32(c.N), c.Text}, &stop)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("store: flush reply %s: %w", messageID, ErrNoGeneration)
	}
	if err != nil {
		return false, dbError(ctx, "flush reply", err)
	}
	return stop, nil
}

// finishReplySQL ends a streaming reply in one statement: the chunks, with
// the pending ones not yet stored ($2, $3), become its content; status and
// metadata are set; chunks and lease are deleted. Every part reads the
// statement's one snapshot, so no chunk is lost or counted twice. No row:
// the reply is not streaming (it ended already, or was swept).
const finishReplySQL = `
WITH p AS (
	SELECT * FROM unnest($2::int[], $3::text[]) AS p(n, content)
), chunks AS (
	SELECT k.n, k.content FROM message_chunks k WHERE k.message_id = $1
	UNION ALL
	SELECT p.n, p.content FROM p
	WHERE NOT EXISTS (SELECT 1 FROM message_chunks k WHERE k.message_id = $1 AND k.n = p.n)
), d AS (
	DELETE FROM message_chunks WHERE message_id = $1
), g AS (
	DELETE FROM generations WHERE message_id = $1
)
UPDATE messages m SET
	content = m.content || coalesce((SELECT string_agg(chunks.content, '' ORDER BY chunks.n) FROM chunks), ''),
	status = $4, model = coalesce($5, m.model), finish_reason = $6,
	prompt_tokens = $7, completion_tokens = $8, first_token_ms = $9, duration_ms = $10
WHERE m.id = $1 AND m.status = 'streaming'
RETURNING m.id, m.conversation_id, m.content, m.created_at, m.model, m.finish_reason, m.prompt_tokens, m.completion_tokens, m.first_token_ms, m.duration_ms,
	(SELECT p.id FROM messages p WHERE p.conversation_id = m.conversation_id AND p.seq = m.parent_seq)`

// FinishReply ends a streaming reply with f: pending are the chunks not
// yet acknowledged by FlushReply (a chunk that was stored after all is not
// stored twice). It returns the stored reply. As with FlushReply, the
// caller keeps the reply within the content limit. Errors:
// ErrNoGeneration when the reply is not streaming; ErrInvalidContent for
// a pending chunk with NUL or invalid UTF-8.
func (s *Store) FinishReply(ctx context.Context, messageID string, pending []Chunk, f Final) (Message, error) {
	uid, err := parseID(messageID)
	if err != nil {
		return Message{}, opError("finish reply", err)
	}
	switch f.Status {
	case StatusComplete, StatusStopped, StatusFailed, StatusInterrupted:
	default:
		return Message{}, opError("finish reply", fmt.Errorf("%w: status %q", ErrInvalidRecord, truncate(f.Status, 32)))
	}
	if err := validReply(f.Reply); err != nil {
		return Message{}, opError("finish reply", err)
	}
	ns := make([]int32, len(pending))
	texts := make([]string, len(pending))
	for i, c := range pending {
		if err := validText(ErrInvalidContent, c.Text); err != nil {
			return Message{}, opError("finish reply", err)
		}
		ns[i], texts[i] = int32(c.N), c.Text
	}
	ctx, cancel := s.opCtx(ctx, "finish reply")
	defer cancel()
	var (
		id, conv, parent pgtype.UUID
		content          string
		created          time.Time
		r                replyRow
	)
	dest := append(append([]any{&id, &conv, &content, &created}, r.dest()...), &parent)
	err = s.queryRow(ctx, finishReplySQL, []any{uuidArg(uid), ns, texts, f.Status, textArg(f.Model), textArg(f.FinishReason),
		intArg(f.PromptTokens), intArg(f.CompletionTokens), intArg(f.FirstTokenMS), intArg(f.DurationMS)}, dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, fmt.Errorf("store: finish reply %s: %w", messageID, ErrNoGeneration)
	}
	if err != nil {
		return Message{}, dbError(ctx, "finish reply", err)
	}
	return Message{ID: uuid.UUID(id.Bytes).String(), ConversationID: uuid.UUID(conv.Bytes).String(), Role: RoleAssistant,
		Content: content, CreatedAt: created.UTC(), Status: f.Status, Reply: r.reply(), ParentID: idOrEmpty(parent)}, nil
}

// requestStopSQL marks the conversation's generation to stop; its
// generator sees it at its next flush. The second column tells an unknown
// conversation from one with nothing in flight.
const requestStopSQL = `
WITH g AS (
	UPDATE generations SET stop_requested = true WHERE conversation_id = $1 RETURNING message_id
)
SELECT (SELECT message_id FROM g), EXISTS (SELECT 1 FROM conversations WHERE id = $1)`

// RequestStop asks the generation in flight on the conversation, on
// whichever instance, to stop, and returns its reply's id. The reply ends
// stopped, with its text so far, when its generator next flushes.
// Errors: ErrNotFound; ErrNoGeneration when nothing is in flight.
func (s *Store) RequestStop(ctx context.Context, conversationID string) (string, error) {
	uid, err := parseID(conversationID)
	if err != nil {
		return "", opError("request stop", err)
	}
	ctx, cancel := s.opCtx(ctx, "request stop")
	defer cancel()
	var (
		msg    pgtype.UUID
		exists bool
	)
	if err := s.queryRow(ctx, requestStopSQL, []any{uuidArg(uid)}, &msg, &exists); err != nil {
		return "", dbError(ctx, "request stop", err)
	}
	if !exists {
		return "", fmt.Errorf("store: request stop in %s: %w", conversationID, ErrNotFound)
	}
	if !msg.Valid {
		return "", fmt.Errorf("store: request stop in %s: %w", conversationID, ErrNoGeneration)
	}
	return uuid.UUID(msg.Bytes).String(), nil
}

// sweepSQL ends as interrupted every reply whose lease is older than $1
// milliseconds by the database's clock, or is held by instance $2: its
// chunks become its content, and duration_ms is the time to its last
// renewal. A lease deleted by a concurrent sweep or FinishReply is skipped
// (the DELETE and the UPDATE's status check see the winner's commit).
const sweepSQL = `
WITH g AS (
	DELETE FROM generations
	WHERE heartbeat_at < now() - $1 * interval '1 millisecond' OR instance = $2
	RETURNING message_id, started_at, heartbeat_at
), agg AS (
	SELECT k.message_id, string_agg(k.content, '' ORDER BY k.n) AS text
	FROM message_chunks k JOIN g ON g.message_id = k.message_id
	GROUP BY k.message_id
), d AS (
	DELETE FROM message_chunks k USING g WHERE k.message_id = g.message_id
), u AS (
	UPDATE messages m SET content = m.content || coalesce(agg.text, ''), status = 'interrupted',
		duration_ms = least(greatest(extract(epoch FROM g.heartbeat_at - g.started_at) * 1000, 0), 2147483647)::int
	FROM g LEFT JOIN agg ON agg.message_id = g.message_id
	WHERE m.id = g.message_id AND m.status = 'streaming'
	RETURNING m.id
)
SELECT count(*) FROM u`

// SweepInterrupted ends as interrupted, with their text up to the last
// flush, the replies whose lease was not renewed for olderThan (their
// instance died), and every reply whose lease instance holds (a restart
// of that instance: none of them can be running). instance "" matches
// none. It returns how many it ended.
func (s *Store) SweepInterrupted(ctx context.Context, olderThan time.Duration, instance string) (int, error) {
	ctx, cancel := s.opCtx(ctx, "sweep interrupted replies")
	defer cancel()
	var n int64
	if err := s.queryRow(ctx, sweepSQL, []any{olderThan.Milliseconds(), instance}, &n); err != nil {
		return 0, dbError(ctx, "sweep interrupted replies", err)
	}
	return int(n), nil
}

// inFlightSQL reads the conversation's reply in flight, its text so far
// and its last chunk's number (-1 before the first flush); the second
// column tells an unknown conversation from one with nothing in flight.
const inFlightSQL = `
SELECT c.id IS NOT NULL, m.id, m.created_at, m.status, m.model, m.finish_reason, m.prompt_tokens, m.completion_tokens, m.first_token_ms, m.duration_ms,
	coalesce((SELECT string_agg(k.content, '' ORDER BY k.n) FROM message_chunks k WHERE k.message_id = m.id), ''),
	coalesce((SELECT max(k.n) FROM message_chunks k WHERE k.message_id = m.id), -1)
FROM (SELECT $1::uuid AS id) q
LEFT JOIN conversations c ON c.id = q.id
LEFT JOIN generations g ON g.conversation_id = q.id
LEFT JOIN messages m ON m.id = g.message_id`

// InFlight returns the conversation's reply in flight, with its text so far
// (Content), and the number of its last chunk (-1 before the first), for
// a reader on any instance (FollowReply goes on from there). Errors:
// ErrNotFound; ErrNoGeneration when nothing is in flight.
func (s *Store) InFlight(ctx context.Context, conversationID string) (Message, int, error) {
	uid, err := parseID(conversationID)
	if err != nil {
		return Message{}, 0, opError("read reply in flight", err)
	}
	ctx, cancel := s.opCtx(ctx, "read reply in flight")
	defer cancel()
	var (
		exists  bool
		id      pgtype.UUID
		created pgtype.Timestamptz
		status  statusScanner
		r       replyRow
		text    string
		last    int32
	)
	dest := append(append([]any{&exists, &id, &created, &status}, r.dest()...), &text, &last)
	if err := s.queryRow(ctx, inFlightSQL, []any{uuidArg(uid)}, dest...); err != nil {
		return Message{}, 0, dbError(ctx, "read reply in flight", err)
	}
	if !exists {
		return Message{}, 0, fmt.Errorf("store: read reply in flight in %s: %w", conversationID, ErrNotFound)
	}
	if !id.Valid || status != StatusStreaming {
		return Message{}, 0, fmt.Errorf("store: read reply in flight in %s: %w", conversationID, ErrNoGeneration)
	}
	return Message{ID: uuid.UUID(id.Bytes).String(), ConversationID: uid.String(), Role: RoleAssistant, Content: text,
		CreatedAt: created.Time.UTC(), Status: StatusStreaming, Reply: r.reply()}, int(last), nil
}

// followReplySQL reads a reply's chunks after number $2 while it streams;
// once it has ended, its whole content (the chunks are gone).
const followReplySQL = `
SELECT m.status, k.n, CASE WHEN m.status = 'streaming' THEN k.content ELSE m.content END
FROM messages m
LEFT JOIN message_chunks k ON m.status = 'streaming' AND k.message_id = m.id AND k.n > $2
WHERE m.id = $1
ORDER BY k.n`

// FollowReply is what a reader of a reply polls: while the reply streams,
// its chunks after number after, in order (none if nothing new); once it
// has ended, its status and its whole text as the one chunk's Text, with N
// -1. Errors: ErrNotFound when the message is gone (its conversation was
// deleted).
func (s *Store) FollowReply(ctx context.Context, messageID string, after int) (status string, chunks []Chunk, err error) {
	uid, err := parseID(messageID)
	if err != nil {
		return "", nil, opError("follow reply", err)
	}
	ctx, cancel := s.opCtx(ctx, "follow reply")
	defer cancel()
	found := false
	err = s.queryRows(ctx, followReplySQL, []any{uuidArg(uid), int32(after)}, func(rows pgx.Rows) error {
		var (
			st   statusScanner
			n    pgtype.Int4
			text pgtype.Text
		)
		_, err := pgx.ForEachRow(rows, []any{&st, &n, &text}, func() error {
			found, status = true, string(st)
			if st != StatusStreaming {
				chunks = []Chunk{{N: -1, Text: text.String}}
			} else if n.Valid {
				chunks = append(chunks, Chunk{N: int(n.Int32), Text: text.String})
			}
			return nil
		})
		return err
	})
	if err != nil {
		return "", nil, dbError(ctx, "follow reply", err)
	}
	if !found {
		return "", nil, fmt.Errorf("store: follow reply %s: %w", messageID, ErrNotFound)
	}
	return status, chunks, nil
}

// getMessageSQL reads one message and its conversation's id; a streaming
// reply's text is its chunks.
const getMessageSQL = `
SELECT m.conversation_id, m.id, m.role,
	m.content || CASE WHEN m.status = 'streaming' THEN coalesce((SELECT string_agg(k.content, '' ORDER BY k.n)
		FROM message_chunks k WHERE k.message_id = m.id), '') ELSE '' END,
	m.created_at, m.status, m.model, m.finish_reason, m.prompt_tokens, m.completion_tokens, m.first_token_ms, m.duration_ms,
	p.id, NULL::text[]
FROM messages m
LEFT JOIN messages p ON p.conversation_id = m.conversation_id AND p.seq = m.parent_seq
WHERE m.id = $1`

// GetMessage returns one message (a streaming reply with its text so far),
// with its ParentID.
// An unknown or malformed id is ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, messageID string) (Message, error) {
	uid, err := parseID(messageID)
	if err != nil {
		return Message{}, opError("get message", err)
	}
	ctx, cancel := s.opCtx(ctx, "get message")
	defer cancel()
	var (
		r      threadRow
		convID pgtype.UUID
	)
	// The message's columns of a thread row (after the conversation's five).
	err = s.queryRow(ctx, getMessageSQL, []any{uuidArg(uid)}, append([]any{&convID}, r.dest()[5:]...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, fmt.Errorf("store: get message %s: %w", messageID, ErrNotFound)
	}
	if err != nil {
		return Message{}, dbError(ctx, "get message", err)
	}
	return r.message(&threadState{convID: uuid.UUID(convID.Bytes).String(), mode: treeRows}), nil
}

// StorableText makes model output storable: invalid UTF-8 becomes U+FFFD
// and NUL bytes are dropped, the two things the store refuses in content.
// A model's bytes are not the user's words, so they are repaired, not
// refused: one bad byte must not fail every later flush of a reply.
func StorableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
