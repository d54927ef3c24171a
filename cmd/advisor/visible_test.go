package main

import "testing"

// TestVisible: every control character a terminal would obey comes out as
// printable ASCII in both renderings; ordinary text, including non-ASCII
// letters, emoji and an encoded U+FFFD, passes through untouched; newline
// and tab are kept only in multi-line text.
func TestVisible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, text, line string
	}{
		{"plain", "a VLAN is a broadcast domain", "a VLAN is a broadcast domain", "a VLAN is a broadcast domain"},
		{"empty", "", "", ""},
		{"non-ASCII kept", "Grüße, 日本, 🚀, \uFFFD", "Grüße, 日本, 🚀, \uFFFD", "Grüße, 日本, 🚀, \uFFFD"},
		{"newline and tab", "a\n\tb\n", "a\n\tb\n", "a^J^Ib^J"},
		{"CR", "ok\r\nfake", "ok^M\nfake", "ok^M^Jfake"},
		{"erase line, cursor up", "x\x1b[2K\x1b[1Ay", "x^[[2K^[[1Ay", "x^[[2K^[[1Ay"},
		{"OSC title and clipboard", "\x1b]0;pwned-title\x07\x1b]52;c;cm0gLXJmIH4=\x07", "^[]0;pwned-title^G^[]52;c;cm0gLXJmIH4=^G", "^[]0;pwned-title^G^[]52;c;cm0gLXJmIH4=^G"},
		{"NUL, SOH, US, DEL, backspace", "\x00\x01\x1f\x7f\b", "^@^A^_^?^H", "^@^A^_^?^H"},
		{"C1 CSI and OSC encoded", "a\u009b2Jb\u009d0;t\u009c", "a<U+009B>2Jb<U+009D>0;t<U+009C>", "a<U+009B>2Jb<U+009D>0;t<U+009C>"},
		{"C1 bounds", "\u0080\u009f\u00a0", "<U+0080><U+009F>\u00a0", "<U+0080><U+009F>\u00a0"},
		{"bidi overrides", "\u202aA\u202eB\u2066C\u2069\u200e\u200f\u061c", "<U+202A>A<U+202E>B<U+2066>C<U+2069><U+200E><U+200F><U+061C>", "<U+202A>A<U+202E>B<U+2066>C<U+2069><U+200E><U+200F><U+061C>"},
		{"bidi neighbours kept", "\u2029\u2065\u206a\u200d", "\u2029\u2065\u206a\u200d", "\u2029\u2065\u206a\u200d"},
		{"invalid UTF-8", "a\x9bb\xff\xc3", "a<9B>b<FF><C3>", "a<9B>b<FF><C3>"},
		{"truncated sequence then ESC", "\xe6\x97\x1b", "<E6><97>^[", "<E6><97>^["},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := visibleText(tt.in); got != tt.text {
				t.Errorf("visibleText(%q) = %q, want %q", tt.in, got, tt.text)
			}
			if got := visibleLine(tt.in); got != tt.line {
				t.Errorf("visibleLine(%q) = %q, want %q", tt.in, got, tt.line)
			}
		})
	}
}
