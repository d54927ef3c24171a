package store

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// withConn runs fn on one of the pool's connections as the *pgx.Conn under
// it: every statement of the store goes through here. Through database/sql
// each value would be boxed into a driver.Value and converted again by
// Scan, which made the store's calls allocate 3-10x what hand-written pgx
// code does (docs/performance.md). The pool, its limits and statistics and
// the connection's statement cache are database/sql's either way.
func (s *Store) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		return fn(driverConn.(*stdlib.Conn).Conn())
	})
}

// statement is SQL text. Go converts only constants to it implicitly, so a
// helper that takes a statement cannot be handed text built at run time
// without a conversion that TestNoSQLBuiltFromInput flags.
type statement string

// queryRow runs a statement that returns one row and scans it into dest.
// No row is pgx.ErrNoRows.
func (s *Store) queryRow(ctx context.Context, sqlText statement, args []any, dest ...any) error {
	return s.withConn(ctx, func(c *pgx.Conn) error { return c.QueryRow(ctx, string(sqlText), args...).Scan(dest...) })
}

// queryRows runs a statement and hands its rows to fn; they are closed
// when fn returns.
func (s *Store) queryRows(ctx context.Context, sqlText statement, args []any, fn func(pgx.Rows) error) error {
	return s.withConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, string(sqlText), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return fn(rows)
	})
}

// exec runs a statement and returns how many rows it changed.
func (s *Store) exec(ctx context.Context, sqlText statement, args ...any) (int64, error) {
	var n int64
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, string(sqlText), args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// inTx runs fn in a transaction on one connection: committed if fn returns
// nil, rolled back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.withConn(ctx, func(c *pgx.Conn) error { return pgx.BeginFunc(ctx, c, fn) })
}

// idOrEmpty is a nullable id as text; NULL is "".
func idOrEmpty(id pgtype.UUID) string {
	if !id.Valid {
		return ""
	}
	return uuid.UUID(id.Bytes).String()
}

// uuidArg passes an id as pgx's own UUID type, which it encodes without
// reflection. Arrays of ids are []pgtype.UUID too: in the exec mode that a
// transaction pooler needs (docs/performance.md) pgx learns no parameter
// types from the server and must know the Go type, and a []uuid.UUID it
// does not know ("cannot find encode plan").
func uuidArg(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

// summaryColumns are a conversation's own columns, in summaryRow's order.
const summaryColumns = `c.id, c.started_at, c.model, c.title, c.message_count`

// summaryRow scans summaryColumns, the one way a conversation row is read.
// model and title reuse the previous row's string when the bytes are the
// same. started_at and message_count are nullable types only because a
// thread's message rows (threadRow) carry NULL there.
type summaryRow struct {
	id           pgtype.UUID
	startedAt    pgtype.Timestamptz
	model, title textScanner
	count        pgtype.Int8
}

func (r *summaryRow) dest() []any {
	return []any{&r.id, &r.startedAt, &r.model, &r.title, &r.count}
}

func (r *summaryRow) summary() ConversationSummary {
	return ConversationSummary{
		ID: uuid.UUID(r.id.Bytes).String(), Model: string(r.model), Title: string(r.title),
		StartedAt: r.startedAt.Time.UTC(), MessageCount: int(r.count.Int64),
	}
}

func (r *summaryRow) cursor() cursor { return cursor{startedAt: r.startedAt.Time, id: r.id.Bytes} }

// A thread read returns each conversation as rows of threadColumns of two
// kinds, in order: its head row, then one row per message in append order.
// The head row holds the conversation's own columns and, in the message
// columns, the id of its reply in flight (NULL when there is none), the
// text that reply has flushed so far (its chunks: while a reply streams,
// its content is empty), and, as the parent, the active leaf. A message
// row has NULL in the conversation's columns. Sending the conversation's
// columns once instead of on every message row, and reading the chunks
// once per conversation (through its one generations row) instead of
// testing every message for them, keeps a thread read as cheap as it was
// before replies had a status and metadata, which widened every message
// row (docs/performance.md).
//
// A message row's last two columns are its parent's id and NULL. A read of
// the active path sends NULL as the parent: its rows run from the root to
// the leaf, each the child of the row before (scanMode). The head row's
// last column is, for a read of the active path, the conversation's forks
// (text[], NULL for a chain): for each parent with more than one child,
// its children's ids in seq order, joined by commas. Each message on the
// path finds its siblings there by its own id; the few forks travel once,
// where a join to every message row would cost a lookup per message.
//
// threadHead is the head row's SELECT list, for a conversation c LEFT
// JOINed with its generations g and its active leaf a, without the last
// column; threadMessage is a message row's, for messages m, without the
// last two.
const (
	threadHead = summaryColumns + `, g.message_id, NULL::text,
	(SELECT string_agg(k.content, '' ORDER BY k.n) FROM message_chunks k WHERE k.message_id = g.message_id),
	NULL::timestamptz, NULL::text, NULL::text, NULL::text, NULL::int, NULL::int, NULL::int, NULL::int, a.id`
	threadHeadJoins = `LEFT JOIN generations g ON g.conversation_id = c.id
	LEFT JOIN messages a ON a.conversation_id = c.id AND a.seq = c.active_seq`
	threadMessage = `NULL::uuid, NULL::timestamptz, NULL::text, NULL::text, NULL::bigint, m.id, m.role, m.content,
	m.created_at, m.status, m.model, m.finish_reason, m.prompt_tokens, m.completion_tokens, m.first_token_ms, m.duration_ms`
)

// threadColumns names a thread read's columns: the derived table of its
// UNION ALL is aliased with them, plus its sort keys, so that the outer
// SELECT returns these and not the keys.
const threadColumns = `c_id, c_started_at, c_model, c_title, c_message_count, m_id, m_role, m_content,
	m_created_at, m_status, m_model, m_finish_reason, m_prompt_tokens, m_completion_tokens, m_first_token_ms, m_duration_ms,
	m_parent_id, m_siblings`

// errNoHead is a thread read whose first row is not a head row, which the
// queries rule out.
var errNoHead = errors.New("thread read: a message row before its conversation's head row")

// scanMode says where a thread read's messages get their parent.
type scanMode bool

const (
	pathRows scanMode = false // the active path: each row's parent is the row before
	treeRows scanMode = true  // every message: the parent is the row's column
)

// threadRow scans a thread read's rows (threadHead, threadMessage), the one
// way a message is read. A message row costs two allocations: the message
// id's text and the content; the role and status are constants.
type threadRow struct {
	conv     summaryRow
	msgID    pgtype.UUID
	role     roleScanner
	content  textScanner
	created  pgtype.Timestamptz
	status   statusScanner
	reply    replyRow
	parentID pgtype.UUID
	siblings []string
}

func (r *threadRow) dest() []any {
	d := append(r.conv.dest(), &r.msgID, &r.role, &r.content, &r.created, &r.status)
	return append(append(d, r.reply.dest()...), &r.parentID, &r.siblings)
}

// isHead reports whether the row is a conversation's head row.
func (r *threadRow) isHead() bool { return r.conv.id.Valid }

// threadState is what a head row says about the message rows after it.
type threadState struct {
	forks      map[string][]string // a message on the path → its siblings
	convID     string
	inFlightID pgtype.UUID // the reply in flight, whose text is inFlight
	inFlight   string
	activeID   string // the active leaf
	mode       scanMode
	prevID     string // the previous message row's id (pathRows)
}

func (r *threadRow) state(mode scanMode) threadState {
	st := threadState{convID: uuid.UUID(r.conv.id.Bytes).String(), inFlightID: r.msgID, inFlight: string(r.content), mode: mode}
	st.activeID = idOrEmpty(r.parentID)
	for _, f := range r.siblings {
		ids := strings.Split(f, ",")
		if st.forks == nil {
			st.forks = make(map[string][]string)
		}
		for _, id := range ids {
			st.forks[id] = ids
		}
	}
	return st
}

// message is a message row's message; st is its conversation's state.
func (r *threadRow) message(st *threadState) Message {
	content := string(r.content)
	if st.inFlightID.Valid && st.inFlightID.Bytes == r.msgID.Bytes {
		content += st.inFlight
	}
	m := Message{
		ID: uuid.UUID(r.msgID.Bytes).String(), ConversationID: st.convID,
		Role: string(r.role), Content: content, CreatedAt: r.created.Time.UTC(),
		Status: string(r.status), Reply: r.reply.reply(),
	}
	switch {
	case st.mode == pathRows:
		m.ParentID, st.prevID = st.prevID, m.ID
		m.Siblings = st.forks[m.ID]
	default:
		m.ParentID = idOrEmpty(r.parentID)
	}
	return m
}

// replyColumns are a message's reply metadata, in replyRow's order.
const replyColumns = `model, finish_reason, prompt_tokens, completion_tokens, first_token_ms, duration_ms`

// replyRow scans replyColumns. The model's name repeats on every reply of
// a thread and is allocated once (textScanner).
type replyRow struct {
	model, finish          textScanner
	prompt, completion     pgtype.Int4
	firstToken, durationMS pgtype.Int4
}

func (r *replyRow) dest() []any {
	return []any{&r.model, &r.finish, &r.prompt, &r.completion, &r.firstToken, &r.durationMS}
}

func (r *replyRow) reply() Reply {
	return Reply{
		Model: string(r.model), FinishReason: string(r.finish),
		PromptTokens: intOrNil(r.prompt), CompletionTokens: intOrNil(r.completion),
		FirstTokenMS: intOrNil(r.firstToken), DurationMS: intOrNil(r.durationMS),
	}
}

func intOrNil(v pgtype.Int4) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int32)
	return &n
}

// intArg passes an optional count: nil is NULL.
func intArg(p *int) pgtype.Int4 {
	if p == nil {
		return pgtype.Int4{}
	}
	return pgtype.Int4{Int32: int32(min(*p, 1<<31-1)), Valid: true}
}

// textArg passes an optional text: "" is NULL.
func textArg(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// statusScanner takes a status without allocating, like roleScanner.
type statusScanner string

func (st *statusScanner) ScanBytes(b []byte) error {
	switch string(b) {
	case StatusComplete:
		*st = StatusComplete
	case StatusStreaming:
		*st = StatusStreaming
	case StatusStopped:
		*st = StatusStopped
	case StatusFailed:
		*st = StatusFailed
	case StatusInterrupted:
		*st = StatusInterrupted
	default:
		*st = statusScanner(b)
	}
	return nil
}

// scanThreads reads a thread read's rows (see threadHead) and calls fn with
// each conversation once its last row is read; an error from fn stops the
// scan and is returned as it is. onRow, if not nil, runs before each row is
// scanned. It returns how many conversations fn got and the position of
// the last one.
func scanThreads(rows pgx.Rows, mode scanMode, onRow func(), fn func(*Conversation) error) (n int, last cursor, err error) {
	var (
		r    threadRow
		dest = r.dest()
		cur  *Conversation
		st   threadState
	)
	for rows.Next() {
		if onRow != nil {
			onRow()
		}
		if err := rows.Scan(dest...); err != nil {
			return n, last, err
		}
		if !r.isHead() {
			if cur == nil {
				return n, last, errNoHead
			}
			cur.Messages = append(cur.Messages, r.message(&st))
			continue
		}
		if cur != nil {
			if err := fn(cur); err != nil {
				return n, last, err
			}
		}
		s := r.conv.summary()
		st = r.state(mode)
		cur = &Conversation{ID: s.ID, Model: s.Model, Title: s.Title, StartedAt: s.StartedAt, ActiveID: st.activeID,
			Messages: make([]Message, 0, s.MessageCount)}
		n, last = n+1, r.conv.cursor()
	}
	if err := rows.Err(); err != nil {
		return n, last, err
	}
	if cur != nil {
		if err := fn(cur); err != nil {
			return n, last, err
		}
	}
	return n, last, nil
}

// roleScanner takes a role without allocating: the CHECK constraint keeps
// it to the three constants.
type roleScanner string

func (r *roleScanner) ScanBytes(b []byte) error {
	switch string(b) {
	case RoleUser:
		*r = RoleUser
	case RoleAssistant:
		*r = RoleAssistant
	case RoleSystem:
		*r = RoleSystem
	default:
		*r = roleScanner(b)
	}
	return nil
}

// textScanner takes nullable text into a string; NULL is "". The same
// bytes as before keep the old string, so a value repeated on every row is
// allocated once.
type textScanner string

func (t *textScanner) ScanBytes(b []byte) error {
	if string(b) != string(*t) {
		*t = textScanner(b)
	}
	return nil
}
