package jsonstrict

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	type rec struct {
		A int `json:"a"`
	}
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		want error // nil: success with A == 1
		any  bool  // any error will do (encoding/json's own)
	}{
		{"object", strings.NewReader(`{"a":1}`), nil, false},
		{"white space around", strings.NewReader(" \n{\"a\":1}\r\n\t "), nil, false},
		{"closing brace after", strings.NewReader(`{"a":1} }`), ErrTrailingData, false},
		{"closing bracket after", strings.NewReader(`{"a":1}]`), ErrTrailingData, false},
		{"second object", strings.NewReader(`{"a":1}{"a":2}`), ErrTrailingData, false},
		{"second value", strings.NewReader(`{"a":1} 2`), ErrTrailingData, false},
		{"garbage after", strings.NewReader(`{"a":1} x`), ErrTrailingData, false},
		{"comma after", strings.NewReader(`{"a":1},`), ErrTrailingData, false},
		{"empty", strings.NewReader(""), io.EOF, false},
		{"unknown field", strings.NewReader(`{"a":1,"b":2}`), nil, true},
		{"malformed", strings.NewReader(`{"a":`), nil, true},
		{"wrong type", strings.NewReader(`{"a":"1"}`), nil, true},
		{"read error after the value", io.MultiReader(strings.NewReader(`{"a":1} `), iotest.ErrReader(boom)), boom, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v rec
			err := Decode(tc.r, &v)
			switch {
			case tc.any:
				if err == nil || errors.Is(err, ErrTrailingData) {
					t.Fatalf("err = %v, want encoding/json's error", err)
				}
				var syntax *json.SyntaxError
				var typ *json.UnmarshalTypeError
				if tc.name == "wrong type" && !errors.As(err, &typ) || tc.name == "malformed" && !errors.As(err, &syntax) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("err = %T %v", err, err)
				}
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			default:
				if err != nil || v.A != 1 {
					t.Fatalf("err = %v, v = %+v", err, v)
				}
			}
		})
	}
}
