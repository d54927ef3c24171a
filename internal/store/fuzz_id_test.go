package store

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseID: parseID never panics; it accepts exactly the canonical
// 36-character UUID form (any case) and then names that UUID; everything
// else is ErrNotFound. Seeds: testdata/fuzz/FuzzParseID and f.Add below.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11", "6F1C1D7E-9C55-4C43-8A38-3F3A9E0B6A11",
		"", "not-a-uuid", "6f1c1d7e9c554c438a383f3a9e0b6a11", "{6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11}",
		"urn:uuid:6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11", "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a1\x00",
		"6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a1\xff", "00000000-0000-0000-0000-000000000000' OR '1'='1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseID(s)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("parseID(%q) = %v, want ErrNotFound", s, err)
			}
			if canonical(s) {
				t.Fatalf("parseID refused the canonical UUID %q: %v", s, err)
			}
			return
		}
		if !canonical(s) {
			t.Fatalf("parseID accepted the non-canonical %q as %s", s, u)
		}
		if u.String() != strings.ToLower(s) {
			t.Fatalf("parseID(%q) = %s, want the same UUID", s, u)
		}
	})
}

// canonical is an independent statement of the accepted form:
// 8-4-4-4-12 hex digits.
func canonical(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
