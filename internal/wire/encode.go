package wire

import (
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// encodeOptions give v2 the byte shape of encoding/json (v1), which the API
// documents and export files have: <, >, &, U+2028 and U+2029 escaped,
// map keys sorted, nil slices and maps as null, invalid UTF-8 written as
// U+FFFD rather than failing a reply half-way.
var encodeOptions = json.JoinOptions(
	jsontext.EscapeForHTML(true),
	jsontext.EscapeForJS(true),
	json.Deterministic(true),
	json.FormatNilSliceAsNull(true),
	json.FormatNilMapAsNull(true),
	jsontext.AllowInvalidUTF8(true),
)

var indentOptions = json.JoinOptions(encodeOptions, jsontext.WithIndent("  "))

// Marshal returns v's JSON on one line, without a newline: an SSE data line.
func Marshal(v any) ([]byte, error) {
	return json.Marshal(v, encodeOptions)
}

// Write writes v as one line of JSON and a newline: an HTTP body, or one
// record of JSON Lines.
func Write(w io.Writer, v any) error {
	return write(w, v, encodeOptions)
}

// WriteIndented writes v indented by two spaces, and a newline: for people.
func WriteIndented(w io.Writer, v any) error {
	return write(w, v, indentOptions)
}

func write(w io.Writer, v any, opts json.Options) error {
	b, err := json.Marshal(v, opts)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ThreadWriter writes one Conversation exactly as Write would (the same
// bytes), a message at a time, so a long thread is never held whole: Head
// first, then Message for each of the summary's MessageCount messages,
// then End.
type ThreadWriter struct {
	w io.Writer
	n int
}

// NewThreadWriter returns a ThreadWriter writing to w.
func NewThreadWriter(w io.Writer) *ThreadWriter { return &ThreadWriter{w: w} }

// Head writes the conversation's own members and opens its messages; c's
// messages are not written (Message writes them).
func (t *ThreadWriter) Head(c Conversation) error {
	c.Messages = []Message{}
	b, err := Marshal(c)
	if err != nil {
		return err
	}
	// messages is the last member: cut its "[]}" to "[".
	_, err = t.w.Write(b[:len(b)-2])
	return err
}

// Message writes the next message.
func (t *ThreadWriter) Message(m Message) error {
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	if t.n > 0 {
		b = append([]byte{','}, b...)
	}
	t.n++
	_, err = t.w.Write(b)
	return err
}

// End closes the messages and the conversation, and ends the line.
func (t *ThreadWriter) End() error {
	_, err := io.WriteString(t.w, "]}\n")
	return err
}
