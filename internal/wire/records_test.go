package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// next reads one record of a single-line input.
func next(line string) (Conversation, error) {
	_, c, err := NewRecords(strings.NewReader(line), MaxMessageJSON(1000)).Next()
	return c, err
}

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
		// Accepted, as U+FFFD, by the encoding/json import.
		{"unpaired surrogate in the title", strings.Replace(rec, `"title":""`, `"title":"\ud800"`, 1), "/title: unpaired UTF-16 surrogate escape"},
		{"names differ in case", strings.Replace(rec, `"model"`, `"Model"`, 1), "/Model: unknown field"},
		{"duplicate name", strings.Replace(rec, `"title":""`, `"title":"a","title":"b"`, 1), "/title: duplicate field"},
		{"not an object", "[1,2,3]", "want an object, got an array"},
		{"messages not an array", strings.Replace(rec, `"messages":[]`, `"messages":{}`, 1), "/messages: want an array, got an object"},
		{"message not an object", strings.Replace(rec, `"messages":[]`, `"messages":[1]`, 1), "/messages/0: want an object, got a number"},
		{"message field differs in case", strings.Replace(rec, `"messages":[]`, `"messages":[{"Content":"x"}]`, 1), "/messages/0/Content: unknown field"},
		{"record across two lines", strings.Replace(rec, `,"model"`, "\n,\"model\"", 1), "unexpected end of line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := next(tc.line)
			if tc.errPart == "" {
				if err != nil || c.Model != "m" {
					t.Fatalf("Next = %+v, %v", c, err)
				}
				return
			}
			var bad *Error
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("err = %v, want an *Error mentioning %q", err, tc.errPart)
			}
			assertNoGoTypes(t, err.Error())
		})
	}
}

// TestRecords: line numbers count every line, blank ones too; a bad line
// is reported and reading goes on; a read error ends it, with its line.
func TestRecords(t *testing.T) {
	t.Parallel()
	in := `{"id":"a","messages":[{"id":"m1","role":"user","content":"hi"}]}` + "\n" +
		"\n  \r\n" +
		`{"id":"b","title":"\ud800"}` + "\n" +
		`{"id":"c","message_count":0,"messages":[]}` + "\r\n" +
		`{"id":"d"}`
	rs := NewRecords(strings.NewReader(in), MaxMessageJSON(1000))
	type got struct {
		no  int
		id  string
		err string
	}
	var all []got
	for {
		no, c, err := rs.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		g := got{no: no, id: c.ID}
		if err != nil {
			g.err = err.Error()
		}
		all = append(all, g)
	}
	want := []got{{1, "a", ""}, {4, "", "/title: unpaired UTF-16 surrogate escape: text must be valid Unicode (at byte 19)"}, {5, "c", ""}, {6, "d", ""}}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Fatalf("records:\n%v\nwant\n%v", all, want)
	}

	boom := errors.New("boom")
	rs = NewRecords(io.MultiReader(strings.NewReader(`{"id":"a"}`+"\n"+`{"id":`), iotest.ErrReader(boom)), 1000)
	if no, _, err := rs.Next(); no != 1 || err != nil {
		t.Fatalf("line 1: %d %v", no, err)
	}
	if no, _, err := rs.Next(); no != 2 || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Fatalf("line 2: %d %v, want the read error", no, err)
	}
}

// repeated is n bytes of c, without holding them.
type repeated struct {
	c byte
	n int64
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.c
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestRecordsMemoryBounded: a 256 MiB line whose one message is over the
// limit is rejected after reading about the limit: it allocates a small
// multiple of one message's bound, not of the line (the encoding/json
// import read the whole line first, and allocated some five times its
// length). The line after it is read as usual.
//
// Not parallel: it measures the process's allocations, so no other test may
// run meanwhile (parallel tests start after the sequential ones).
func TestRecordsMemoryBounded(t *testing.T) {
	const content = 1 << 20
	const lineBytes = 256 << 20
	in := io.MultiReader(
		strings.NewReader(`{"id":"a","messages":[{"id":"m","content":"`),
		&repeated{'x', lineBytes},
		strings.NewReader(`"}]}`+"\n"+`{"id":"b"}`+"\n"),
	)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs := NewRecords(in, MaxMessageJSON(content))
	no, _, err := rs.Next()
	runtime.ReadMemStats(&after)
	if no != 1 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("a value longer than %d bytes", MaxMessageJSON(content))) {
		t.Fatalf("line %d: %v, want it too long", no, err)
	}
	alloc, bound := after.TotalAlloc-before.TotalAlloc, uint64(8*MaxMessageJSON(content))
	t.Logf("rejecting a %d-byte line allocated %d bytes (bound %d)", lineBytes, alloc, bound)
	if alloc > bound {
		t.Errorf("rejecting a %d-byte line allocated %d bytes, want at most %d", lineBytes, alloc, bound)
	}
	if no, c, err := rs.Next(); no != 2 || err != nil || c.ID != "b" {
		t.Fatalf("line %d: %+v, %v", no, c, err)
	}
}

// TestLargeConversationRoundTrips: a legal conversation whose line is many
// times one message's bound (a line limit derived from the content limit
// would refuse it) is written and read back unchanged, and so is a message
// at the content limit written entirely in six-byte escapes.
func TestLargeConversationRoundTrips(t *testing.T) {
	t.Parallel()
	const content = 16 << 10
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := Conversation{Summary: Summary{ID: "c", Model: "m", StartedAt: at}, Messages: []Message{}}
	for i := range 100 {
		c.Messages = append(c.Messages, Message{ID: fmt.Sprint(i), ConversationID: "c", Role: "user", Content: strings.Repeat(string(rune('a'+i%26)), content), CreatedAt: at})
	}
	c.Messages = append(c.Messages, Message{ID: "escaped", ConversationID: "c", Role: "user", Content: strings.Repeat("<", content), CreatedAt: at})
	c.MessageCount = len(c.Messages)
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) < 10*MaxMessageJSON(content) {
		t.Fatalf("the line is %d bytes: not much larger than one message's bound", buf.Len())
	}
	line := buf.String()
	_, got, err := NewRecords(&buf, MaxMessageJSON(content)).Next()
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := Write(&again, got); err != nil {
		t.Fatal(err)
	}
	if again.String() != line {
		t.Fatalf("round trip differs (%d bytes vs %d)", again.Len(), len(line))
	}
}
