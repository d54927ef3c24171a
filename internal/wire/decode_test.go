package wire

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestDecode: exactly one value, strictly, and every rejection is an *Error
// whose text holds no Go type (the cases once accepted, or answered with
// Go's internals, are marked).
func TestDecode(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		r       io.Reader
		want    error  // io.EOF or a reader's error; nil: see problem
		problem string // the *Error's text holds this; "" for success
	}{
		{"object", strings.NewReader(`{"role":"user","content":"x"}`), nil, ""},
		{"white space around", strings.NewReader(" \n{\"role\":\"user\",\"content\":\"x\"}\r\n\t "), nil, ""},
		{"closing brace after", strings.NewReader(`{"role":"user"} }`), nil, TrailingData},
		{"closing bracket after", strings.NewReader(`{"role":"user"}]`), nil, TrailingData},
		{"second object", strings.NewReader(`{"role":"user"}{"role":"user"}`), nil, TrailingData},
		{"second value", strings.NewReader(`{"role":"user"} 2`), nil, TrailingData},
		{"garbage after", strings.NewReader(`{"role":"user"} x`), nil, TrailingData},
		{"comma after", strings.NewReader(`{"role":"user"},`), nil, TrailingData},
		{"empty", strings.NewReader(""), io.EOF, ""},
		{"unknown field", strings.NewReader(`{"role":"user","b":2}`), nil, `/b: unknown field`},
		{"malformed", strings.NewReader(`{"role":`), nil, "/role: unexpected end of input"},
		{"wrong type", strings.NewReader(`{"role":1}`), nil, "/role: want a string, got a number"},
		{"read error after the value", io.MultiReader(strings.NewReader(`{"role":"user"} `), iotest.ErrReader(boom)), boom, ""},
		{"read error inside the value", io.MultiReader(strings.NewReader(`{"role":"us`), iotest.ErrReader(boom)), boom, ""},
		// Accepted by encoding/json v1: names matched case-insensitively,
		// and the last of two equal names won.
		{"names differ in case", strings.NewReader(`{"Role":"user","CONTENT":"x"}`), nil, "/Role: unknown field"},
		{"duplicate name", strings.NewReader(`{"content":"a","content":"b"}`), nil, "/content: duplicate field"},
		// v1 answered `json: cannot unmarshal array into Go value of type struct {…}`.
		{"array for an object", strings.NewReader(`[1,2,3]`), nil, "want an object, got an array (at byte 0)"},
		{"object for a string", strings.NewReader(`{"content":{}}`), nil, "/content: want a string, got an object"},
		// v1 stored U+FFFD for both.
		{"invalid UTF-8", strings.NewReader("{\"content\":\"a\xffb\"}"), nil, "/content: invalid UTF-8 in a string"},
		{"unpaired surrogate", strings.NewReader(`{"content":"\ud800"}`), nil, "/content: unpaired UTF-16 surrogate escape"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v NewMessage
			err := Decode(tc.r, &v)
			switch {
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				var bad *Error
				if errors.As(err, &bad) {
					t.Fatalf("err = %v, an *Error; want the reader's own", err)
				}
			case tc.problem != "":
				var bad *Error
				if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err = %v, want an *Error holding %q", err, tc.problem)
				}
				assertNoGoTypes(t, err.Error())
			default:
				if err != nil || *v.Role != "user" {
					t.Fatalf("err = %v, v = %+v", err, v)
				}
			}
		})
	}
}

// assertNoGoTypes fails if msg shows the decoder's Go side: a Go type, a
// struct tag, a package name.
func assertNoGoTypes(t *testing.T, msg string) {
	t.Helper()
	for _, bad := range []string{"Go ", "struct", "*string", "wire.", "json:", "jsontext", "unmarshal"} {
		if strings.Contains(msg, bad) {
			t.Errorf("%q shows Go internals (%q)", msg, bad)
		}
	}
}
