package advisor

import (
	"unicode/utf8"

	"git.georgsen.dk/hwlab/internal/store"
)

// trimmed is a thread cut to the budget.
type trimmed struct {
	turns                     []Turn
	droppedMsgs, droppedChars int
}

// fitThread builds the thread sent to the model: the system prompt (always
// kept, not counted) followed by the newest messages whose characters fit
// in budget. The newest message is always sent, even over budget: without
// it there is nothing to answer. Older messages are dropped whole, oldest
// first, so the model never sees half a message.
func fitThread(systemPrompt string, msgs []store.Message, budget int) trimmed {
	keepFrom := len(msgs)
	used := 0
	for i := len(msgs) - 1; i >= 0; i-- {
		n := utf8.RuneCountInString(msgs[i].Content)
		if used+n > budget && i != len(msgs)-1 {
			break
		}
		used += n
		keepFrom = i
	}
	var t trimmed
	if systemPrompt != "" {
		t.turns = append(t.turns, Turn{Role: store.RoleSystem, Content: systemPrompt})
	}
	for _, m := range msgs[:keepFrom] {
		t.droppedMsgs++
		t.droppedChars += utf8.RuneCountInString(m.Content)
	}
	for _, m := range msgs[keepFrom:] {
		t.turns = append(t.turns, Turn{Role: m.Role, Content: m.Content})
	}
	return t
}
