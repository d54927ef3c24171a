package main

import (
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestReplyLine: show prints a reply's status when it did not complete
// and the metadata that is known, nothing for a plain message.
func TestReplyLine(t *testing.T) {
	t.Parallel()
	n := func(v int) *int { return &v }
	for _, tc := range []struct {
		name string
		m    store.Message
		want string
	}{
		{"user", store.Message{Role: store.RoleUser, Status: store.StatusComplete}, ""},
		{"old reply", store.Message{Role: store.RoleAssistant, Status: store.StatusComplete}, ""},
		{"complete", store.Message{Status: store.StatusComplete, Reply: store.Reply{Model: "llama3", FinishReason: "stop",
			PromptTokens: n(12), CompletionTokens: n(340), FirstTokenMS: n(210), DurationMS: n(4200)}},
			" model llama3, finish stop, 12 -> 340 tokens, first token 210 ms, 4200 ms"},
		{"stopped, no usage", store.Message{Status: store.StatusStopped, Reply: store.Reply{Model: "m", DurationMS: n(5)}}, " [stopped] model m, 5 ms"},
		{"interrupted", store.Message{Status: store.StatusInterrupted}, " [interrupted]"},
		{"control chars in the model", store.Message{Status: store.StatusComplete, Reply: store.Reply{Model: "a\x1bb"}}, " model a^[b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := replyLine(tc.m); got != tc.want {
				t.Errorf("replyLine = %q, want %q", got, tc.want)
			}
		})
	}
}
