package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors. Methods return errors that wrap them; match them with
// errors.Is. Their text is bare ("not found"): every error a method returns
// names the store and the operation once, in front ("store: get
// conversation …: not found"; opError and dbError), so no layer repeats. A cancelled or expired context yields an error that wraps
// context.Canceled or context.DeadlineExceeded.
var (
	// ErrNotFound: the conversation (or the message) does not exist, or the
	// id is not a UUID.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the database could not be reached or did not answer
	// in time: connecting failed, the connection broke, the server is
	// shutting down or starting, or the operation's deadline expired
	// (the store's timeout or the caller's). A cancelled context is not
	// ErrUnavailable: the caller gave up, the database did nothing wrong.
	// Retrying later may succeed.
	ErrUnavailable = errors.New("database unavailable")
	// ErrInvalidRole: the role is not "user", "assistant" or "system"
	// (exactly, in lower case, without padding).
	ErrInvalidRole = errors.New("invalid role")
	// ErrInvalidContent: the content holds a NUL byte or invalid UTF-8, or
	// is larger than the configured limit (then ErrContentTooLarge too).
	ErrInvalidContent = errors.New("invalid content")
	// ErrContentTooLarge: the content is over the size limit. Errors that
	// wrap it also wrap ErrInvalidContent.
	ErrContentTooLarge = errors.New("content too large")
	// ErrInvalidModel: the model name is longer than MaxModelBytes, or holds
	// a NUL byte or invalid UTF-8.
	ErrInvalidModel = errors.New("invalid model name")
	// ErrInvalidTitle: the title is longer than MaxTitleBytes, or holds a
	// NUL byte or invalid UTF-8.
	ErrInvalidTitle = errors.New("invalid title")
	// ErrInvalidCursor: a pagination cursor this store did not issue.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrInvalidLimit: a page size outside 1..MaxPageSize.
	ErrInvalidLimit = errors.New("invalid limit")
	// ErrInvalidRecord: an imported conversation or message lacks an id or
	// a time, has a malformed id, repeats a message id, or holds a message
	// that names another conversation.
	ErrInvalidRecord = errors.New("invalid record")
	// ErrIDConflict: an imported message id is already used by a message of
	// another conversation.
	ErrIDConflict = errors.New("id already in use")
	// ErrGenerationRunning: a reply is being generated in the conversation,
	// by this instance or another; errors from StartReply and StartChat are
	// a *RunningError naming it.
	ErrGenerationRunning = errors.New("a reply is being generated")
	// ErrNotAwaitingReply: the thread does not end with a user message or
	// with a reply that did not complete, so there is nothing to answer.
	ErrNotAwaitingReply = errors.New("the thread does not await a reply")
	// ErrNoGeneration: no reply is in flight (RequestStop, InFlight), or
	// the reply flushed or finished no longer holds a lease: it ended, or
	// it was swept as interrupted.
	ErrNoGeneration = errors.New("no reply in flight")
	// ErrWrongRole: the message has the wrong role for the operation: an
	// edit takes a user message, a regeneration an assistant message.
	ErrWrongRole = errors.New("message has the wrong role")
	// ErrOtherConversation: the message exists but belongs to another
	// conversation; also a parent (raw SQL) that is not a message of the
	// conversation (messages_parent_fkey).
	ErrOtherConversation = errors.New("message belongs to another conversation")
	// ErrStatementCache: the server connection does not hold the prepared
	// statements pgx's statement cache expects (42P05 already exists, 26000
	// does not exist). That is a transaction-mode pooler, such as PgBouncer
	// before 1.21, which hands each transaction any server connection; the
	// client cannot tell one is there, so the text names the cure.
	ErrStatementCache = errors.New("prepared statements do not survive between transactions here " +
		"(a transaction-mode pooler such as PgBouncer before 1.21?): " +
		"add default_query_exec_mode=exec to the database URL")
)

// PostgreSQL error codes we translate. Codes, not message text, so a server
// with another lc_messages behaves the same.
const (
	codeForeignKeyViolation  = "23503"
	codeUniqueViolation      = "23505"
	codeCheckViolation       = "23514"
	codeCharacterNotInRepert = "22021"
	codeUntranslatableChar   = "22P05"
	codeProgramLimitExceeded = "54000"
	codeStringDataRightTrunc = "22001"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeDuplicatePrepared    = "42P05"
	codeUndefinedPrepared    = "26000"
	classConnectionException = "08"
)

// generationsConversationKey is the unique index that allows one
// generation per conversation (ent/schema/reply.go).
const generationsConversationKey = "generations_conversation_id_key"

// parentKey is the tree's composite foreign key (migrate/migrations,
// *_message_tree.sql): a message's parent is a message of the same
// conversation.
const parentKey = "messages_parent_fkey"

// roleCheckConstraint is the CHECK on messages.role (ent/schema/message.go).
const roleCheckConstraint = "messages_role_check"

// opError is an error of the operation op that did not reach the database
// (a malformed id, invalid input), named like dbError's.
func opError(op string, err error) error { return fmt.Errorf("store: %s: %w", op, err) }

// dbError maps a database error to a sentinel where one applies and adds
// what the caller was doing.
func dbError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeForeignKeyViolation:
			// By name: a parent outside the conversation is not a
			// conversation that is not there.
			switch pgErr.ConstraintName {
			case parentKey:
				return fmt.Errorf("store: %s: %w", op, ErrOtherConversation)
			}
			return fmt.Errorf("store: %s: %w", op, ErrNotFound)
		case codeUniqueViolation:
			// The backstop behind StartReply's locked check.
			if pgErr.ConstraintName == generationsConversationKey {
				return fmt.Errorf("store: %s: %w", op, ErrGenerationRunning)
			}
		case codeCheckViolation:
			// Only the role CHECK means a bad role; a future CHECK must
			// not be reported as one.
			if pgErr.ConstraintName == roleCheckConstraint {
				return fmt.Errorf("store: %s: %w", op, ErrInvalidRole)
			}
		case codeCharacterNotInRepert, codeUntranslatableChar:
			return fmt.Errorf("store: %s: %w", op, ErrInvalidContent)
		case codeProgramLimitExceeded, codeStringDataRightTrunc:
			return fmt.Errorf("store: %s: %w: %w", op, ErrInvalidContent, ErrContentTooLarge)
		case codeDuplicatePrepared, codeUndefinedPrepared:
			// The store names no statement: these are pgx's cache's.
			return fmt.Errorf("store: %s: %w (SQLSTATE %s)", op, ErrStatementCache, pgErr.Code)
		}
	}
	err = ctxErr(ctx, err)
	if unavailable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// ctxErr prefers the context's error, so a cancelled or timed-out call is
// reported as such rather than as whatever the driver made of it.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// unavailable reports whether err means the database could not be reached
// or did not answer in time (see ErrUnavailable). The driver's and the
// network's error types are known here only: callers match ErrUnavailable.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	// io.ErrUnexpectedEOF: pgx's report of a connection the server (or
	// the network) closed under a query.
	for _, e := range []error{context.DeadlineExceeded, driver.ErrBadConn, pgconn.ErrConnClosed, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	var connErr *pgconn.ConnectError
	var opErr *net.OpError
	if errors.As(err, &connErr) || errors.As(err, &opErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
			return true
		}
		return strings.HasPrefix(pgErr.Code, classConnectionException)
	}
	return false
}
