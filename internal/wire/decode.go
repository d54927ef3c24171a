package wire

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeOptions are v2's defaults (exact names, no duplicate names, strict
// UTF-8 and surrogate pairs) plus the rejection of unknown members.
var decodeOptions = json.JoinOptions(json.RejectUnknownMembers(true))

// Error is input that breaks the package's rule. Its text is meant for the
// client that sent the input.
type Error struct {
	Offset  int64  // bytes into the input (into the line, for JSON Lines); -1 if none
	Pointer string // the JSON Pointer of the value, "" for the whole input
	Problem string
}

func (e *Error) Error() string {
	s := e.Problem
	if e.Pointer != "" {
		s = e.Pointer + ": " + s
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (at byte %d)", e.Offset)
	}
	return s
}

const unexpectedEnd = "unexpected end of input"

// TrailingData is the Problem of an *Error for anything but white space
// after the value.
const TrailingData = "trailing data after the JSON value"

// Decode reads exactly one JSON value from r into v, by the package's rule.
// It fails with io.EOF when r holds only white space, with r's own error
// (an *http.MaxBytesError, say) when reading fails, and otherwise with an
// *Error.
func Decode(r io.Reader, v any) error {
	dec := jsontext.NewDecoder(r, decodeOptions)
	if err := decodeValue(dec, v); err != nil {
		return err
	}
	return expectEnd(dec)
}

func decodeValue(dec *jsontext.Decoder, v any) error {
	return describe(json.UnmarshalDecode(dec, v, decodeOptions))
}

// expectEnd checks that only white space follows the value.
func expectEnd(dec *jsontext.Decoder) error {
	offset := dec.InputOffset()
	_, err := dec.ReadToken()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err := readError(err); err != nil {
		return err
	}
	return &Error{Offset: offset, Problem: TrailingData}
}

// readError returns the reader's own error within err, if any. jsontext
// wraps it in an unexported type whose text is not ours.
func readError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	if err == nil || errors.As(err, &syn) || errors.As(err, &sem) {
		return nil
	}
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// describe turns v2's errors into an *Error, leaving io.EOF and the
// reader's own errors as they are.
func describe(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	var own *Error
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &own): // from an UnmarshalJSONFrom of this package
		return own
	case errors.As(err, &sem):
		// A syntax error found while unmarshaling arrives wrapped.
		if errors.As(sem.Err, &syn) {
			return syntactic(syn)
		}
		return semantic(sem)
	case errors.As(err, &syn):
		return syntactic(syn)
	}
	return readError(err)
}

func syntactic(e *jsontext.SyntacticError) *Error {
	out := &Error{Offset: e.ByteOffset, Pointer: string(e.JSONPointer)}
	switch {
	case errors.Is(e.Err, jsontext.ErrDuplicateName):
		out.Problem = "duplicate field"
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		out.Problem = unexpectedEnd
	// jsonwire's sentinels are internal: match their texts, which the
	// tests pin.
	case strings.Contains(e.Err.Error(), "invalid UTF-8"):
		out.Problem = "invalid UTF-8 in a string"
	case strings.Contains(e.Err.Error(), "surrogate"):
		out.Problem = "unpaired UTF-16 surrogate escape: text must be valid Unicode"
	default:
		// jsonwire's texts speak of JSON characters and offsets only.
		out.Problem = "invalid JSON: " + e.Err.Error()
	}
	return out
}

func semantic(e *json.SemanticError) *Error {
	out := &Error{Offset: e.ByteOffset, Pointer: string(e.JSONPointer)}
	switch {
	case errors.Is(e.Err, json.ErrUnknownName):
		out.Problem = "unknown field"
	case e.GoType != nil:
		out.Problem = "want " + kindName(e.GoType)
		if got := jsonKind(e.JSONKind); got != "" {
			out.Problem += ", got " + got
		}
	default:
		out.Problem = "value not allowed here"
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// kindName names the JSON a Go type takes, in JSON's terms.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "a time in RFC 3339 form"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another kind of value"
}

func jsonKind(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{', '}':
		return "an object"
	case '[', ']':
		return "an array"
	}
	return ""
}
