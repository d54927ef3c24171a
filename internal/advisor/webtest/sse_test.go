//go:build integration

package webtest

import (
	"context"
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
		parsed := parseInPage(t, b.ctx, tc.name, tc.chunks)
		got := make([]event, len(parsed))
		for i, e := range parsed {
			got[i] = event{e.Event, e.Data}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: events %q, want %q", tc.name, got, tc.want)
		}
	}

	// The id is the last event ID of the standard: it stays with later
	// events until another id sets it, and the page resumes from it.
	idTests := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"each token its offset", []string{"event: token\nid: 3\ndata: a\n\n", "id: 7\ndata: b\n\n"}, []string{"3", "7"}},
		{"kept until set again", []string{"id: 5\ndata: a\n\ndata: b\n\n"}, []string{"5", "5"}},
		{"none before the first", []string{"data: a\n\nid: 2\ndata: b\n\n"}, []string{"", "2"}},
		{"an id with NUL is ignored", []string{"id: 4\ndata: a\n\nid: 9\u0000\ndata: b\n\n"}, []string{"4", "4"}},
	}
	for _, tc := range idTests {
		var got []string
		for _, e := range parseInPage(t, b.ctx, tc.name, tc.chunks) {
			got = append(got, e.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: ids %q, want %q", tc.name, got, tc.want)
		}
	}
	closeClean(t, b, nil)
}

type event struct {
	Event string `json:"event"`
	Data  string `json:"data"`
}

// parsedEvent is what the page's parser dispatches.
type parsedEvent struct {
	Event string `json:"event"`
	Data  string `json:"data"`
	ID    string `json:"id"`
}

// parseInPage feeds chunks to static/sse.js's parser in the browser.
func parseInPage(t *testing.T, ctx context.Context, name string, chunks []string) []parsedEvent {
	t.Helper()
	js, _ := json.Marshal(chunks)
	expr := fmt.Sprintf(`import("/static/sse.js").then(m => {
		const out = [];
		const p = m.createParser(e => out.push(e));
		for (const c of %s) p.push(c);
		p.end();
		return out;
	})`, js)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]parsedEvent](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return got
}
