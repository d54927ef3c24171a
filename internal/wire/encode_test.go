package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestEncodeMatchesEncodingJSON: Write and WriteIndented produce the bytes
// encoding/json (v1) produced for the same shapes, which is what the API
// documents and export files hold, for text that v1 and v2 escape
// differently by default: <, >, &, U+2028, control characters, a pair
// above the BMP; and for maps (sorted keys), nil and empty slices, and
// times in and out of UTC.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	msg := Message{ID: "m", ConversationID: "c", Role: "user", Content: "<&> \u2028\u2029 \x01\t\n\"\\ 😀 é", CreatedAt: at}
	conv := Conversation{Summary: Summary{ID: "c", Title: "t<", Model: "m&", StartedAt: at.In(time.FixedZone("x", 3600)), MessageCount: 1}, Messages: []Message{msg}}
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"message", msg},
		{"message without conversation", Message{ID: "m", Role: "user", CreatedAt: at}},
		{"conversation", conv},
		{"empty thread", Conversation{Messages: []Message{}}},
		{"nil thread", Conversation{}},
		{"page", Page{Conversations: []Summary{conv.Summary}, NextCursor: ""}},
		{"map", map[string]any{"reply": msg, "user": msg, "error": "x", "status": 502}},
		{"delta", map[string]string{"delta": "a<b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var want, wantIndent, got, gotIndent bytes.Buffer
			if err := json.NewEncoder(&want).Encode(tc.v); err != nil {
				t.Fatal(err)
			}
			enc := json.NewEncoder(&wantIndent)
			enc.SetIndent("", "  ")
			if err := enc.Encode(tc.v); err != nil {
				t.Fatal(err)
			}
			if err := Write(&got, tc.v); err != nil {
				t.Fatal(err)
			}
			if err := WriteIndented(&gotIndent, tc.v); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("Write:\n%s\nencoding/json:\n%s", got.String(), want.String())
			}
			if gotIndent.String() != wantIndent.String() {
				t.Errorf("WriteIndented:\n%s\nencoding/json:\n%s", gotIndent.String(), wantIndent.String())
			}
			line, err := Marshal(tc.v)
			if err != nil || string(line)+"\n" != want.String() {
				t.Errorf("Marshal = %s, %v", line, err)
			}
		})
	}
}

// TestEncodeInvalidUTF8: text that is not UTF-8 (a model's bytes, say) is
// written with U+FFFD, as encoding/json did, rather than failing the
// answer. (v1 wrote the escape \ufffd, v2 the character: the same JSON
// string.)
func TestEncodeInvalidUTF8(t *testing.T) {
	t.Parallel()
	b, err := Marshal(map[string]string{"delta": "a\xffb"})
	if err != nil || !strings.Contains(string(b), "a\ufffdb") {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
}
