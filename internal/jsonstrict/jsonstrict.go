// Package jsonstrict decodes exactly one JSON value, strictly: an unknown
// object field is an error rather than data silently dropped, and so is
// anything but white space after the value. encoding/json alone checks
// neither, and Decoder.More is no test for the second: it reports false
// when the next byte is '}' or ']', so `{…} }` would pass.
package jsonstrict

import (
	"encoding/json"
	"errors"
	"io"
)

// ErrTrailingData: something other than white space follows the value.
var ErrTrailingData = errors.New("trailing data after the JSON value")

// Decode reads one JSON value from r into v. It fails with encoding/json's
// errors for malformed JSON, a type mismatch or an unknown field, with
// io.EOF when r holds only white space, with ErrTrailingData when more than
// white space follows the value, and with r's own error (an
// *http.MaxBytesError, say) when reading fails.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	_, err := dec.Token()
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil, errors.As(err, &syntax):
		return ErrTrailingData
	default:
		return err
	}
}
