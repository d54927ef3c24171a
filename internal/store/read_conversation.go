package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// readConversation runs getConversationSQL through pgx (withPgx) and scans
// each row straight into a plan Message. It
// returns nil, nil when the conversation does not exist.
//
// Why not database/sql: there every row cost about 21 allocations (driver
// values boxed in interfaces, Null* wrappers, an ent.Message on the way to a
// Message), and a 10 000-message thread read slower than the plan's pgx
// code. Scanned by pgx, a row costs two: the message id's text and the
// content; the role is one of three constants, and the conversation's own
// columns are scanned from the first row only. docs/performance.md has the
// numbers.
func (s *Store) readConversation(ctx context.Context, id uuid.UUID) (*Conversation, error) {
	var c *Conversation
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, getConversationSQL, pgtype.UUID{Bytes: id, Valid: true})
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			conv    Conversation
			count   int64
			msgID   pgtype.UUID
			role    roleScanner
			content textScanner
			created pgtype.Timestamptz
		)
		dest := []any{&conv.StartedAt, &conv.Model, &conv.Title, &count, &msgID, &role, &content, &created}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if c == nil {
				conv.ID = id.String()
				conv.StartedAt = conv.StartedAt.UTC()
				conv.Messages = make([]Message, 0, count)
				c = &conv
				dest[0], dest[1], dest[2], dest[3] = nil, nil, nil, nil // same in every row
			}
			if msgID.Valid { // else: the LEFT JOIN's row of an empty thread
				c.Messages = append(c.Messages, Message{
					ID:             uuid.UUID(msgID.Bytes).String(),
					ConversationID: c.ID,
					Role:           string(role),
					Content:        string(content),
					CreatedAt:      created.Time.UTC(),
				})
			}
		}
		return rows.Err()
	})
	return c, err
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

// textScanner takes nullable text into a string; NULL (no message) is "".
type textScanner string

func (t *textScanner) ScanBytes(b []byte) error {
	*t = textScanner(b)
	return nil
}
