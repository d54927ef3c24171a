package advisor

// loneSurrogate returns the offset of the first \uXXXX escape inside a JSON
// string that is a UTF-16 surrogate not forming a pair (a high surrogate
// not followed by a \u escape of a low one, or a low one on its own), or -1.
// It only tracks string boundaries and escapes; malformed JSON is left for
// the decoder to reject.
func loneSurrogate(b []byte) int {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			if b[i+1] != 'u' {
				i++ // a one-character escape: skip the escaped character
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return -1 // not a valid escape: the decoder reports it
			}
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				// A high surrogate must be followed by an escaped low one.
				if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11 // both escapes
						continue
					}
				}
				return i
			case r >= 0xDC00 && r <= 0xDFFF:
				return i
			}
			i += 5
		}
	}
	return -1
}

// hex4 parses the four hex digits at b[at:at+4].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
