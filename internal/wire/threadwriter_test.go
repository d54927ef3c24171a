package wire_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/wire"
)

// TestThreadWriterMatchesWrite: the streamed thread is byte for byte what
// Write gives for the whole conversation, with none, one and several
// messages, including text that the encoder escapes.
func TestThreadWriterMatchesWrite(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 8, 0, 0, 123, time.UTC)
	msg := func(i int) wire.Message {
		m := wire.Message{ID: "m" + strings.Repeat("x", i), ConversationID: "c", Siblings: []string{"a", "b"}, Role: "user", Content: "<b>&\u2028\"\n" + strings.Repeat("ø", i), CreatedAt: at}
		if i > 0 {
			parent := "m" + strings.Repeat("x", i-1)
			m.ParentID = &parent
		}
		return m
	}
	for _, n := range []int{0, 1, 3} {
		active := "m"
		c := wire.Conversation{Summary: wire.Summary{ID: "c", Title: "t<", Model: "m", StartedAt: at, MessageCount: n}, ActiveMessageID: &active, Messages: []wire.Message{}}
		for i := range n {
			c.Messages = append(c.Messages, msg(i))
		}
		var want, got bytes.Buffer
		if err := wire.Write(&want, c); err != nil {
			t.Fatal(err)
		}
		tw := wire.NewThreadWriter(&got)
		if err := tw.Head(c); err != nil {
			t.Fatal(err)
		}
		for _, m := range c.Messages {
			if err := tw.Message(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.End(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d messages:\n got %s\nwant %s", n, got.String(), want.String())
		}
	}
}
