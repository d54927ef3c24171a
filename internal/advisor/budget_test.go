package advisor

import (
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

func TestFitThread(t *testing.T) {
	t.Parallel()
	msgs := []store.Message{{Role: "user", Content: "ééé"}, {Role: "assistant", Content: "bb"}, {Role: "user", Content: "c"}}
	tests := []struct {
		budget, dropped, droppedChars int
		system                        string
		want                          string
	}{
		{100, 0, 0, "", "ééé|bb|c"},
		{6, 0, 0, "sys", "sys|ééé|bb|c"}, // characters, not bytes: é counts once
		{5, 1, 3, "sys", "sys|bb|c"},
		{1, 2, 5, "", "c"},
		{0, 2, 5, "", "c"}, // the newest always goes
	}
	for _, tt := range tests {
		got := fitThread(tt.system, msgs, tt.budget)
		var s string
		for i, turn := range got.turns {
			if i > 0 {
				s += "|"
			}
			s += turn.Content
		}
		if s != tt.want || got.droppedMsgs != tt.dropped || got.droppedChars != tt.droppedChars {
			t.Errorf("budget %d: %q dropped %d/%d, want %q %d/%d", tt.budget, s, got.droppedMsgs, got.droppedChars, tt.want, tt.dropped, tt.droppedChars)
		}
	}
	if got := fitThread("", nil, 10); len(got.turns) != 0 {
		t.Errorf("empty thread: %+v", got)
	}
}
