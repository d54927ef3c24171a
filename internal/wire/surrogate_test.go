package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// surrogateAt returns the byte offset Decode reports an unpaired surrogate
// escape at, or -1 if it reports none (success, or another error).
func surrogateAt(in string) int {
	var v map[string]any
	var bad *Error
	if err := Decode(strings.NewReader(in), &v); errors.As(err, &bad) && strings.Contains(bad.Problem, "surrogate") {
		return int(bad.Offset)
	}
	return -1
}

// TestLoneSurrogate: unpaired surrogate escapes are found at their offset;
// pairs, other escapes, escaped backslashes before a "u", and text outside
// strings are not. (It tested the hand-written scanner the API had before
// v2's decoder, which finds the same escapes at the same offsets.)
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
		{`{"a":"\ud8`, -1},                 // truncated: reported as such
		{`{"a":"\`, -1},
	} {
		if got := surrogateAt(tt.in); got != tt.want {
			t.Errorf("surrogate in %s at %d, want %d", tt.in, got, tt.want)
		}
	}
	// Whatever Go's encoder writes from valid UTF-8 passes.
	b, _ := json.Marshal(map[string]string{"a": "<&>\u2028\x01😀\\u\"ud800"})
	var v map[string]string
	if err := Decode(strings.NewReader(string(b)), &v); err != nil {
		t.Errorf("%s: %v", b, err)
	}
}
