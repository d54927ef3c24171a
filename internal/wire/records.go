package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Records reads conversations from JSON Lines (an export file): one record
// per line, blank lines skipped. A line is a whole conversation, so a legal
// one may be far larger than any message; it is decoded as it streams, a
// message at a time, and no single value (a message, or any other member)
// may take more than the value limit in bytes of JSON. So a hostile line
// costs at most about that limit in memory before it is rejected, however
// long it is; an accepted line costs its decoded conversation.
type Records struct {
	line    lineReader
	dec     *jsontext.Decoder
	no      int
	maxJSON int64
}

// NewRecords reads records from r. maxValueBytes bounds the JSON of one
// value; MaxMessageJSON of the store's content limit admits every message
// the store holds.
func NewRecords(r io.Reader, maxValueBytes int64) *Records {
	rs := &Records{line: lineReader{br: bufio.NewReaderSize(r, 64<<10)}, maxJSON: maxValueBytes}
	rs.dec = jsontext.NewDecoder(&rs.line, decodeOptions)
	return rs
}

// The JSON of one message is at most EscapeFactor × its content plus
// EnvelopeBytes: the worst escape of a byte is \u00XX, six bytes, which
// the encoder writes for control characters and <, >, &; the envelope is
// the member names, id, role, time, quotes and white space.
const (
	EscapeFactor  = 6
	EnvelopeBytes = 64 << 10
)

// MaxMessageJSON is the longest JSON of a message (or a request body) that
// content of at most contentBytes may need.
func MaxMessageJSON(contentBytes int) int64 {
	return EscapeFactor*int64(contentBytes) + EnvelopeBytes
}

// errValueTooLarge is the line reader's refusal to read past the limit.
var errValueTooLarge = errors.New("value too large")

// Next decodes the next non-blank line. It returns the line's number (from
// 1) and its conversation, or an *Error for a bad record, after which Next
// goes on with the following line. It returns io.EOF after the last line,
// and the reader's error, wrapped with the line number, if reading fails.
// A record's message_count, when present, must equal its number of
// messages; its conversation_id members, when present, are left for the
// store to check.
func (rs *Records) Next() (int, Conversation, error) {
	for {
		if rs.line.eof {
			return rs.no, Conversation{}, io.EOF
		}
		rs.no++
		rs.line.start(rs.maxJSON)
		rs.dec.Reset(&rs.line, decodeOptions)
		c, err := rs.decode()
		if errors.Is(err, io.EOF) && rs.line.n == rs.line.blank {
			continue // a blank line
		}
		if err == nil {
			return rs.no, c, nil
		}
		if errors.Is(err, errValueTooLarge) {
			err = &Error{Offset: rs.line.n, Problem: fmt.Sprintf("a value longer than %d bytes of JSON (at most one message's content, escaped, plus its envelope)", rs.maxJSON)}
		}
		if skip := rs.line.skip(); skip != nil {
			err = skip
		}
		var bad *Error
		if !errors.As(err, &bad) && !errors.Is(err, io.EOF) {
			return rs.no, Conversation{}, fmt.Errorf("line %d: %w", rs.no, err)
		}
		if errors.Is(err, io.EOF) {
			err = &Error{Offset: rs.line.n, Problem: unexpectedEnd}
		}
		if errors.As(err, &bad) && bad.Problem == unexpectedEnd {
			bad.Problem = "unexpected end of line (a record is one line)"
		}
		return rs.no, Conversation{}, err
	}
}

// record is a line: the conversation, with message_count optional (it is
// redundant) and the messages decoded one at a time.
type record struct {
	Summary
	MessageCount    *int          `json:"message_count"`
	ActiveMessageID *string       `json:"active_message_id"`
	Messages        messageStream `json:"messages"`
}

func (rs *Records) decode() (Conversation, error) {
	rec := record{Messages: messageStream{rs: rs}}
	if err := decodeValue(rs.dec, &rec); err != nil {
		return Conversation{}, err
	}
	if err := expectEnd(rs.dec); err != nil {
		return Conversation{}, err
	}
	c := Conversation{Summary: rec.Summary, ActiveMessageID: rec.ActiveMessageID, Messages: rec.Messages.list}
	if c.Messages == nil {
		c.Messages = []Message{}
	}
	c.MessageCount = len(c.Messages)
	if rec.MessageCount != nil && *rec.MessageCount != len(c.Messages) {
		return Conversation{}, &Error{Offset: -1, Pointer: "/message_count", Problem: fmt.Sprintf("message_count is %d but %d messages follow", *rec.MessageCount, len(c.Messages))}
	}
	return c, nil
}

// messageStream decodes "messages" element by element, giving each its own
// allowance of maxJSON bytes.
type messageStream struct {
	rs   *Records
	list []Message
}

func (ms *messageStream) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k != '[' {
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		return &Error{Offset: dec.InputOffset(), Pointer: "/messages", Problem: "want an array, got " + jsonKind(k)}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		ms.rs.line.allow(dec.InputOffset(), ms.rs.maxJSON)
		var m Message
		if err := json.UnmarshalDecode(dec, &m, decodeOptions); err != nil {
			return err
		}
		ms.list = append(ms.list, m)
	}
	ms.rs.line.allow(dec.InputOffset(), ms.rs.maxJSON) // for the members after "messages"
	_, err := dec.ReadToken()
	return err
}

// lineReader hands the decoder one line of br at a time (through its
// '\n'), and no byte of it at or past limit.
type lineReader struct {
	br    *bufio.Reader
	n     int64 // bytes of the line handed out
	blank int64 // how many of them were white space, while only white space came
	limit int64
	done  bool // the line's end was reached
	eof   bool // and it was the input's end
}

func (l *lineReader) start(limit int64) { *l = lineReader{br: l.br, limit: limit} }

// allow moves the limit to max bytes past offset.
func (l *lineReader) allow(offset, max int64) { l.limit = offset + max }

func (l *lineReader) Read(p []byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	if l.n >= l.limit {
		return 0, errValueTooLarge
	}
	if l.br.Buffered() == 0 {
		if _, err := l.br.Peek(1); err != nil {
			l.done = true
			if errors.Is(err, io.EOF) {
				l.eof = true
				return 0, io.EOF
			}
			return 0, err
		}
	}
	want := min(int64(len(p)), int64(l.br.Buffered()), l.limit-l.n)
	b, _ := l.br.Peek(int(want))
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b, l.done = b[:i+1], true
	}
	n := copy(p, b)
	_, _ = l.br.Discard(n)
	if l.blank == l.n {
		for _, c := range b[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				break
			}
			l.blank++
		}
	}
	l.n += int64(n)
	return n, nil
}

// skip reads to the end of the line, a buffer at a time.
func (l *lineReader) skip() error {
	l.limit = math.MaxInt64
	var buf [4096]byte
	for !l.done {
		if _, err := l.Read(buf[:]); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return nil
}
