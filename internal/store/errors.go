package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors. Methods return errors that wrap them; match them with
// errors.Is. A cancelled or expired context yields an error that wraps
// context.Canceled or context.DeadlineExceeded.
var (
	// ErrNotFound: the conversation does not exist, or the id is not a UUID.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalidRole: the role is not "user", "assistant" or "system"
	// (exactly, in lower case, without padding).
	ErrInvalidRole = errors.New("store: invalid role")
	// ErrInvalidContent: the content holds a NUL byte or invalid UTF-8, or
	// is larger than the configured limit (then ErrContentTooLarge too).
	ErrInvalidContent = errors.New("store: invalid content")
	// ErrContentTooLarge: the content is over the size limit. Errors that
	// wrap it also wrap ErrInvalidContent.
	ErrContentTooLarge = errors.New("store: content too large")
	// ErrInvalidModel: the model name is longer than MaxModelBytes, or holds
	// a NUL byte or invalid UTF-8.
	ErrInvalidModel = errors.New("store: invalid model name")
	// ErrInvalidTitle: the title is longer than MaxTitleBytes, or holds a
	// NUL byte or invalid UTF-8.
	ErrInvalidTitle = errors.New("store: invalid title")
	// ErrInvalidCursor: a pagination cursor this store did not issue.
	ErrInvalidCursor = errors.New("store: invalid cursor")
	// ErrInvalidLimit: a page size outside 1..MaxPageSize.
	ErrInvalidLimit = errors.New("store: invalid limit")
)

// PostgreSQL error codes we translate. Codes, not message text, so a server
// with another lc_messages behaves the same.
const (
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeCharacterNotInRepert = "22021"
	codeUntranslatableChar   = "22P05"
	codeProgramLimitExceeded = "54000"
	codeStringDataRightTrunc = "22001"
)

// roleCheckConstraint is the CHECK on messages.role (ent/schema/message.go).
const roleCheckConstraint = "messages_role_check"

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
			return fmt.Errorf("store: %s: %w", op, ErrNotFound)
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
		}
	}
	return fmt.Errorf("store: %s: %w", op, ctxErr(ctx, err))
}
