package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Stored text comes from a model or from any API client, so the commands
// that print it for a reader (show, ls) never hand a terminal a control
// sequence from it: an ESC or C1 byte could erase lines, set the window
// title or write the clipboard (OSC 52) of whoever runs them. They render
// such characters visibly, the way cat -v, less and git do, always (not
// only on a terminal), so the output does not depend on where it goes.
// The exact bytes stay available through --json and export, which never
// pass through here. As with cat -v, a literal "^[" in the text reads the
// same as an ESC; --json tells them apart.
//
// The rendering:
//   - C0 controls and DEL in caret notation: ESC is ^[, BEL ^G, CR ^M,
//     DEL ^?. Newline and tab are kept in multi-line text (visibleText)
//     and escaped too in one-line fields (visibleLine: ^J, ^I);
//   - C1 controls (U+0080–U+009F) and the bidirectional formatting
//     characters (Unicode's Bidi_Control: U+061C, U+200E/F,
//     U+202A–U+202E, U+2066–U+2069), which reorder what follows them on
//     screen, as <U+XXXX>;
//   - each byte of invalid UTF-8 as <XX> in hex (the store refuses invalid
//     UTF-8, so this guards only against a future source).
//
// No library was used: golang.org/x/text has no such rendering, and
// strconv.Quote escapes every non-graphic rune (Go syntax, quotes added),
// which would mangle ordinary text a reader wants to see as it is.

// visibleHelp is the rendering as show's and ls's help state it.
const visibleHelp = `Control characters in stored text are shown, not obeyed (as cat -v and
less show them), so the text cannot move the cursor, set the window title or
write the clipboard: ESC as ^[, BEL as ^G, CR as ^M, DEL as ^?, C1 controls
and bidirectional overrides as <U+XXXX>. This holds whether or not stdout is
a terminal. --json prints the exact text.`

// visibleText renders multi-line text (a message's content): newlines and
// tabs are kept, every other control character is made visible.
func visibleText(s string) string { return visible(s, true) }

// visibleLine renders a one-line field (a title or model name in a header
// or a table cell): newlines and tabs are made visible too, so the field
// cannot break the line or the table's columns.
func visibleLine(s string) string { return visible(s, false) }

func visible(s string, multiline bool) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n, multiline) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to render, no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !needsEscape(r, n, multiline):
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "<%02X>", s[i])
		case r < 0x20 || r == 0x7f:
			b.WriteByte('^')
			b.WriteByte(byte(r) ^ 0x40) // the caret letter: 0x1b → '[', 0x7f → '?'
		default:
			fmt.Fprintf(&b, "<U+%04X>", r)
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether the rune r, n bytes long in the input, must
// be rendered rather than written as it is.
func needsEscape(r rune, n int, multiline bool) bool {
	switch {
	case r == utf8.RuneError && n == 1: // invalid UTF-8; an encoded U+FFFD is 3 bytes and fine
		return true
	case r == '\n' || r == '\t':
		return !multiline
	case unicode.IsControl(r): // C0, DEL and C1
		return true
	default:
		return unicode.Is(unicode.Bidi_Control, r)
	}
}
