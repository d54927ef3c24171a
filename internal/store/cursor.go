package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// cursor is the position after which a page starts: the (started_at, id) of
// the last conversation of the previous page. started_at is kept in
// microseconds, PostgreSQL's precision, so the comparison is exact.
type cursor struct {
	startedAt time.Time
	id        uuid.UUID
}

const cursorVersion = "c1"

func (c cursor) encode() string {
	raw := cursorVersion + ":" + strconv.FormatInt(c.startedAt.UnixMicro(), 10) + ":" + c.id.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("%w: not base64url", ErrInvalidCursor)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != cursorVersion {
		return cursor{}, fmt.Errorf("%w: unknown format", ErrInvalidCursor)
	}
	micros, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return cursor{}, fmt.Errorf("%w: bad time", ErrInvalidCursor)
	}
	id, err := uuid.Parse(parts[2])
	if err != nil || len(parts[2]) != 36 {
		return cursor{}, fmt.Errorf("%w: bad id", ErrInvalidCursor)
	}
	return cursor{startedAt: time.UnixMicro(micros).UTC(), id: id}, nil
}
