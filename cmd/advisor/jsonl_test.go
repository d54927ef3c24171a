package main

import (
	"strings"
	"testing"
)

// TestDecodeLineStrict: one record per line, nothing after it. `{…} }` was
// accepted once, since Decoder.More reports false before '}' and ']'.
func TestDecodeLineStrict(t *testing.T) {
	t.Parallel()
	const rec = `{"id":"7f1c2a4e-8d7b-4c1e-9a55-3e0c8f6b1d20","title":"","model":"m","started_at":"2026-01-02T03:04:05Z","messages":[]}`
	for _, tc := range []struct {
		name, line, errPart string
	}{
		{"one record", rec + "\n", ""},
		{"brace after", rec + " }", "trailing data"},
		{"bracket after", rec + "]", "trailing data"},
		{"second record", rec + rec, "trailing data"},
		{"garbage after", rec + " x", "trailing data"},
		{"unknown field", strings.Replace(rec, `"model"`, `"colour":"red","model"`, 1), "unknown field"},
		{"count mismatch", strings.Replace(rec, `"messages"`, `"message_count":1,"messages"`, 1), "message_count is 1 but 0 messages follow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := decodeLine([]byte(tc.line))
			if tc.errPart == "" {
				if err != nil || c.Model != "m" {
					t.Fatalf("decodeLine = %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errPart)
			}
		})
	}
}
