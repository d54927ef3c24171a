package advisor

import (
	"encoding/json"
	"testing"
)

// TestLoneSurrogate: unpaired surrogate escapes are found at their offset;
// pairs, other escapes, escaped backslashes before a "u", and text outside
// strings are not.
func TestLoneSurrogate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`{"a":"x"}`, -1},
		{`{"a":"\ud83d\ude00"}`, -1},           // a pair: 😀
		{`{"a":"\uD83D\uDE00\u00e9\n\""}`, -1}, // upper case, other escapes
		{`{"a":"\\ud800"}`, -1},                // an escaped backslash, then text
		{`{"a":"\ud800"}`, 6},
		{`{"a":"ok\uDFFF"}`, 8},
		{`{"a":"\ud800\u0041"}`, 6},        // high, then not a low
		{`{"a":"\ud800x\udc00"}`, 6},       // high, then text
		{`{"a":"\udc00\ud800"}`, 6},        // reversed
		{`{"a":"\ud83d\ude00\udc00"}`, 18}, // a pair, then a lone low
		{`{"\ud800":1}`, 2},                // keys are strings too
		{`{"a":"\ud8`, -1},                 // truncated: the decoder's to report
		{`{"a":"\`, -1},
	} {
		if got := loneSurrogate([]byte(tt.in)); got != tt.want {
			t.Errorf("loneSurrogate(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
	// Whatever Go's encoder writes from valid UTF-8 passes.
	b, _ := json.Marshal(map[string]string{"a": "<&>\u2028\x01😀\\u\"ud800"})
	if got := loneSurrogate(b); got != -1 {
		t.Errorf("%s: %d", b, got)
	}
}
