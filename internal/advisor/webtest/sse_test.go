//go:build integration

package webtest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestSSEParser runs the page's own event-stream parser (static/sse.js) in
// the browser on streams cut at awkward places: the network may split a
// chunk anywhere, even between \r and \n.
func TestSSEParser(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	base := startServer(t, pgtest.Migrated(t), nil, "")
	b := newBrowser(t, execPath)
	openPage(t, b.ctx, base, "#new-conversation")

	type event struct {
		Event string `json:"event"`
		Data  string `json:"data"`
	}
	tests := []struct {
		name   string
		chunks []string
		want   []event
	}{
		{"one event", []string{"event: token\ndata: {\"delta\":\"hi\"}\n\n"},
			[]event{{"token", `{"delta":"hi"}`}}},
		{"split anywhere", []string{"eve", "nt: done\nda", "ta: x\n", "\n"},
			[]event{{"done", "x"}}},
		{"CRLF split between CR and LF", []string{"event: a\r", "\ndata: 1\r\n\r", "\n"},
			[]event{{"a", "1"}}},
		{"bare CR line ends", []string{"data: 1\r\r"},
			[]event{{"message", "1"}}},
		{"heartbeat comments are skipped", []string{": ping\n\n", "event: token\n: ping\ndata: 2\n\n"},
			[]event{{"token", "2"}}},
		{"multi-line data joins with LF", []string{"data: a\ndata: b\n\n"},
			[]event{{"message", "a\nb"}}},
		{"one leading space only is dropped", []string{"data:  two spaces\ndata:none\n\n"},
			[]event{{"message", " two spaces\nnone"}}},
		{"event name does not leak to the next event", []string{"event: error\ndata: e\n\ndata: plain\n\n"},
			[]event{{"error", "e"}, {"message", "plain"}}},
		{"a cut-off event is not dispatched", []string{"event: done\ndata: partial"},
			[]event{}},
		{"no data, no event", []string{"event: token\n\n"},
			[]event{}},
		{"UTF-8 text", []string{"data: Datacenter → Storage ✓\n\n"},
			[]event{{"message", "Datacenter → Storage ✓"}}},
	}
	for _, tc := range tests {
		chunks, _ := json.Marshal(tc.chunks)
		expr := fmt.Sprintf(`import("/static/sse.js").then(m => {
			const out = [];
			const p = m.createParser(e => out.push(e));
			for (const c of %s) p.push(c);
			p.end();
			return out;
		})`, chunks)
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]event](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: events %q, want %q", tc.name, got, tc.want)
		}
	}
	closeClean(t, b, nil)
}
