//go:build integration

package webtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/wire"
)

// gatedModel stands between the advisor and the stub and holds the stub's
// stream after chosen tokens until the test opens that gate. So the test
// knows what a reply holds at each step, with no timing: "ten tokens sent,
// and no more until I say so".
type gatedModel struct {
	*httptest.Server
	upstream string

	mu    sync.Mutex
	gates map[int]chan struct{} // keyed by the token after which it holds
}

// newGatedModel serves upstream through gates after the given token counts.
func newGatedModel(t *testing.T, upstream *modelstub.Server, after ...int) *gatedModel {
	t.Helper()
	g := &gatedModel{upstream: upstream.URL, gates: map[int]chan struct{}{}}
	for _, n := range after {
		g.gates[n] = make(chan struct{})
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func (g *gatedModel) BaseURL() string { return g.URL + "/v1" }

// open lets the stream go on past token n.
func (g *gatedModel) open(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.gates[n]; ok {
		close(ch)
		delete(g.gates, n)
	}
}

// openAll opens every gate, so a failing test leaves no request held.
func (g *gatedModel) openAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for n, ch := range g.gates {
		close(ch)
		delete(g.gates, n)
	}
}

func (g *gatedModel) gate(n int) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gates[n] // nil (never held) once open or when there is none
}

// serve forwards one request and copies the answer line by line; each
// "data:" line of a stream is one token (the stub sends one word a chunk),
// and before token n+1 it waits for gate n.
func (g *gatedModel) serve(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, g.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	fl := w.(http.Flusher)
	in := bufio.NewReader(res.Body)
	sent := 0
	for {
		line, err := in.ReadBytes('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			if ch := g.gate(sent); ch != nil {
				fl.Flush()
				select {
				case <-ch:
				case <-r.Context().Done():
					return
				}
			}
			sent++
		}
		if _, werr := w.Write(line); werr != nil {
			return
		}
		if len(bytes.TrimSpace(line)) == 0 || err != nil {
			fl.Flush()
		}
		if err != nil {
			return
		}
	}
}

func conversationMessages(t *testing.T, base, id string) []wire.Message {
	t.Helper()
	var c struct {
		Messages []wire.Message `json:"messages"`
	}
	apiJSON(t, http.MethodGet, base+"api/conversations/"+id, nil, http.StatusOK, &c)
	return c.Messages
}

// killBrowser kills chromium the hard way, as a crash or a closed laptop
// lid would end it: SIGKILL to the browser process and to every process
// of its profile (the renderers, the network service, the zygotes, which
// Chrome starts with --user-data-dir and which may outlive the browser),
// until none is left. Then no socket of that browser is open, so the
// server sees the connection of the reply in flight break.
func killBrowser(t *testing.T, b *browser) {
	t.Helper()
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		t.Fatal("no chromium process to kill")
	}
	if err := c.Browser.Process().Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill chromium: %v", err)
	}
	// A child may fork as its parent dies: look again until a pass finds
	// none alive. Each pass only kills, so the loop ends when they are gone.
	for passes := 0; ; passes++ {
		alive := processesOfProfile(b.profile)
		if len(alive) == 0 {
			break
		}
		if passes > 100000 {
			t.Fatalf("chromium processes %v survive SIGKILL", alive)
		}
		for _, pid := range alive {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	b.close() // reaps the browser process and ends the tab's context
	if alive := processesOfProfile(b.profile); len(alive) > 0 {
		t.Fatalf("chromium processes %v still run after the kill", alive)
	}
}

// processesOfProfile lists the live processes started with the profile's
// --user-data-dir (a zombie has closed its sockets, so it counts as gone).
func processesOfProfile(profile string) []int {
	want := []byte("--user-data-dir=" + profile)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !containsArg(cmdline, want) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func containsArg(cmdline, want []byte) bool {
	for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
		if bytes.Equal(arg, want) {
			return true
		}
	}
	return false
}

const streamingReply = `#thread li.role-assistant[data-state="streaming"] .message-content`

// TestBrowserResumeAfterKill: a long reply is streaming when chromium is
// killed outright; a new browser with a fresh profile opens the
// conversation and sees the same reply going on live, then complete, with
// exactly the text the model sent. The stub streams numbered tokens, so a
// token repeated or skipped by a resume shows in the text.
func TestBrowserResumeAfterKill(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	const tokens = 60
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: tokens, Rate: 20})
	t.Cleanup(stub.Close)
	// Held after token 10 until the first browser is dead and the second
	// shows the reply; after token 30 until the second has seen it grow.
	model := newGatedModel(t, stub, 10, 30)
	base := startServer(t, pgtest.Migrated(t), model, "")
	t.Cleanup(model.openAll) // before the server's shutdown, which waits for the reply

	b1 := newBrowser(t, execPath)
	openPage(t, b1.ctx, base, "#new-conversation")
	must(t, "ask", typeMessage(b1.ctx, "Count to sixty, please."))
	must(t, "the first ten tokens shown", waitText(b1.ctx, streamingReply, modelstub.NumberedText(10)))
	id, err := chromedp.Run(b1.ctx, chromedp.Evaluate[string](`location.hash.slice(3)`))
	must(t, "read the conversation id", err)
	if errs := b1.errors.take(); len(errs) > 0 {
		t.Errorf("the first browser reported errors before the kill:\n%s", strings.Join(errs, "\n"))
	}

	killBrowser(t, b1)
	// The reply belongs to the server: the kill did not end it.
	ms := conversationMessages(t, base, id)
	if len(ms) != 2 || ms[1].Status != "streaming" {
		t.Fatalf("after the kill the conversation holds %+v; want the question and a reply still streaming", ms)
	}

	b2 := newBrowser(t, execPath)
	ctx := b2.ctx
	openPage(t, ctx, base+"#c/"+id, "#thread-view")
	must(t, "the reply so far, in the new browser", waitText(ctx, streamingReply, modelstub.NumberedText(10)))
	// A mark in this page's window: it would be gone if the page reloaded.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__samePage = true`))
	must(t, "mark the page", err)

	model.open(10)
	must(t, "the reply continues live", waitText(ctx, streamingReply, modelstub.NumberedText(30)))
	// Leaving it is allowed (the server goes on writing it), and coming
	// back follows it again.
	must(t, "leave for a new conversation", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#new-conversation"))))
	must(t, "the draft open", waitText(ctx, "#thread-meta", "Saved when you send the first message."))
	must(t, "back to the reply", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(
		fmt.Sprintf(`#conversation-list li.conversation[data-id=%q] .conversation-open`, id)))))
	must(t, "the reply followed again", waitText(ctx, streamingReply, modelstub.NumberedText(30)))
	model.open(30)
	done := `#thread li.role-assistant[data-state="done"][data-status="complete"]`
	must(t, "the reply complete", waitCount(ctx, done, 1))
	want := []shownMessage{
		{Role: "user", Content: "Count to sixty, please.", State: "done"},
		{Role: "assistant", Content: modelstub.NumberedText(tokens), State: "done"},
	}
	checkThread(t, ctx, "after the resumed reply", want)
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__samePage === true`)); err != nil || !same {
		t.Errorf("the page was reloaded to show the end of the reply (mark kept = %v, %v); want it streamed in", same, err)
	}
	ms = conversationMessages(t, base, id)
	if len(ms) != 2 || ms[1].Status != "complete" || ms[1].Content != modelstub.NumberedText(tokens) {
		t.Errorf("stored after the resume: %+v; want one reply, complete, exactly %q", ms, modelstub.NumberedText(tokens))
	}
	closeClean(t, b2, nil)
}

// TestBrowserStopRetry: Stop ends a streaming reply and keeps its text
// with a "stopped" badge; Retry on it shows a fresh reply in its place, and
// the stopped one stays, a version back. Each reply carries its facts line
// (model, tokens, duration).
func TestBrowserStopRetry(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	const tokens = 20
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: tokens, Model: "stub-7b"})
	t.Cleanup(stub.Close)
	stub.SetMode(modelstub.HoldMidStream)
	base := startServer(t, pgtest.Migrated(t), stub, "")
	t.Cleanup(stub.Release)

	b := newBrowser(t, execPath)
	ctx := b.ctx
	openPage(t, ctx, base, "#new-conversation")
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("stop").hidden`)); err != nil || !hidden {
		t.Errorf("Stop shown with no reply streaming (hidden = %v, %v)", hidden, err)
	}
	must(t, "ask", typeMessage(ctx, "Count to twenty."))
	must(t, "the first token shown", waitText(ctx, streamingReply, "1"))
	must(t, "Stop offered", chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS("#stop"))))
	must(t, "stop", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#stop"))))

	stopped := `#thread li.role-assistant[data-state="done"][data-status="stopped"]`
	must(t, "the reply stopped", waitCount(ctx, stopped, 1))
	must(t, "its text kept", waitText(ctx, stopped+" .message-content", "1"))
	must(t, "its badge", waitText(ctx, stopped+" .message-badge", "stopped"))
	must(t, "Stop gone", chromedp.Do(ctx, chromedp.WaitNotVisible(chromedp.CSS("#stop"))))
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash.slice(3)`))
	must(t, "read the conversation id", err)
	ms := conversationMessages(t, base, id)
	if len(ms) != 2 || ms[1].Status != "stopped" || ms[1].Content != "1" {
		t.Fatalf("stored after Stop: %+v; want the reply stopped with its text %q", ms, "1")
	}

	stub.SetMode(modelstub.Normal)
	must(t, "retry", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(stopped+" .message-retry"))))
	complete := `#thread li.role-assistant[data-state="done"][data-status="complete"]`
	must(t, "a fresh reply", waitCount(ctx, complete, 1))
	want := []shownMessage{
		{Role: "user", Content: "Count to twenty.", State: "done"},
		{Role: "assistant", Content: modelstub.NumberedText(tokens), State: "done"},
	}
	checkThread(t, ctx, "after the retry", want)
	must(t, "no Retry left", waitCount(ctx, ".message-retry", 0))

	ms = conversationMessages(t, base, id)
	if len(ms) != 2 || ms[1].Status != "complete" || len(ms[1].Siblings) != 2 {
		t.Fatalf("stored after Retry: %+v; want a complete reply beside the stopped one", ms)
	}
	checkFacts(t, ctx, complete, ms[1])
	must(t, "back to the stopped version", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(complete+` .branch-switch [data-branch="prev"]`))))
	must(t, "the stopped one keeps its badge", waitText(ctx, stopped+" .message-badge", "stopped"))
	closeClean(t, b, nil)
}

// checkFacts checks the facts line under the reply at css against the
// stored reply: "model · prompt → completion tokens · 4.2 s".
func checkFacts(t *testing.T, ctx context.Context, css string, m wire.Message) {
	t.Helper()
	if m.Model == nil || *m.Model == "" || m.PromptTokens == nil || m.CompletionTokens == nil || m.DurationMS == nil {
		t.Fatalf("the stored reply lacks facts: %+v", m)
	}
	prefix := fmt.Sprintf("%s · %d → %d tokens · ", *m.Model, *m.PromptTokens, *m.CompletionTokens)
	must(t, "the facts line", waitPrefix(ctx, css+" .message-meta", prefix))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css+" .message-meta")))
	must(t, "read the facts line", err)
	// The duration's rounding is the page's; its shape is checked here.
	if d := strings.TrimPrefix(text, prefix); !durationText.MatchString(d) {
		t.Errorf("facts line %q: the duration reads %q; want like \"4.2 s\"", text, d)
	}
}

var durationText = regexp.MustCompile(`^(\d+\.\d s|\d+ min \d+ s)$`)

// TestBrowserNewConversationDraft: "New conversation" opens a draft and
// stores nothing; the conversation is created with its first message, so
// clicks that send nothing leave no empty conversations behind.
func TestBrowserNewConversationDraft(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	stub := modelstub.New()
	t.Cleanup(stub.Close)
	base := startServer(t, pgtest.Migrated(t), stub, "")

	b := newBrowser(t, execPath)
	ctx := b.ctx
	openPage(t, ctx, base, "#new-conversation")
	for i := range 2 {
		must(t, fmt.Sprintf("new conversation, click %d", i+1), chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("#new-conversation")),
			chromedp.WaitVisible(chromedp.CSS("#thread-view")),
		))
		must(t, "the draft says it is not stored yet", waitText(ctx, "#thread-meta", "Saved when you send the first message."))
	}
	listed := func() []map[string]any {
		var page struct {
			Conversations []map[string]any `json:"conversations"`
		}
		apiJSON(t, http.MethodGet, base+"api/conversations", nil, http.StatusOK, &page)
		return page.Conversations
	}
	if cs := listed(); len(cs) != 0 {
		t.Fatalf("after two clicks and no message the server lists %d conversations: %v; want none", len(cs), cs)
	}
	must(t, "the list is still empty", waitText(ctx, "#list-status", "No conversations yet."))

	must(t, "send", typeMessage(ctx, "hello"))
	must(t, "the reply", waitText(ctx, `#thread li.role-assistant[data-state="done"] .message-content`, "echo: hello"))
	must(t, "listed", waitCount(ctx, "#conversation-list li.conversation", 1))
	must(t, "listed as open", waitCount(ctx, `#conversation-list li.conversation a[aria-current="page"]`, 1))
	if cs := listed(); len(cs) != 1 || cs[0]["message_count"] != float64(2) {
		t.Errorf("after one message the server lists %v; want one conversation of 2 messages", cs)
	}
	must(t, "one more click", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#new-conversation"))))
	must(t, "a new draft", waitText(ctx, "#thread-meta", "Saved when you send the first message."))
	if cs := listed(); len(cs) != 1 {
		t.Errorf("a click after a sent conversation made %d conversations; want still 1", len(cs))
	}
	closeClean(t, b, nil)
}

// cutProxy serves the advisor through a reverse proxy that breaks the
// connection of the chat POST's event stream right after the token event
// that reaches byte offset at (the server may merge deltas into one
// event, so it counts bytes, not events), the way a network change
// mid-answer does, and records the Last-Event-ID of each /stream request
// (the page's resume). It cuts when the test says so (cut), once the page
// shows what came before: a connection reset may make the browser drop
// data it has received but not yet read.
type cutProxy struct {
	*httptest.Server
	now  chan struct{}
	once sync.Once

	mu       sync.Mutex
	resumeAt []string
}

func newCutProxy(t *testing.T, base string, at int) *cutProxy {
	t.Helper()
	target, err := url.Parse(base)
	must(t, "parse the server's URL", err)
	p := &cutProxy{now: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the cut is meant
	rp.ModifyResponse = func(res *http.Response) error {
		if res.Request.Method == http.MethodPost && strings.HasSuffix(res.Request.URL.Path, "/chat") {
			res.Body = &cutBody{r: bufio.NewReader(res.Body), c: res.Body, at: at, now: p.now}
		}
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/stream") {
			p.mu.Lock()
			p.resumeAt = append(p.resumeAt, r.Header.Get("Last-Event-ID"))
			p.mu.Unlock()
		}
		// As a front proxy would, it presents the request as the server's
		// own (its guard checks Host and Origin).
		r.Host = target.Host
		if r.Header.Get("Origin") != "" {
			r.Header.Set("Origin", target.Scheme+"://"+target.Host)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	t.Cleanup(p.cut) // runs first: nothing stays held
	return p
}

// cut breaks the connection, once the stream has reached the offset.
func (p *cutProxy) cut() { p.once.Do(func() { close(p.now) }) }

func (p *cutProxy) resumes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.resumeAt...)
}

// cutBody passes an event stream through line by line and fails after the
// blank line that ends the first event whose id is at least at.
type cutBody struct {
	r       *bufio.Reader
	c       io.Closer
	at      int
	now     <-chan struct{}
	id      int // of the event being read
	pending []byte
	cut     bool
}

func (b *cutBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.cut {
			<-b.now
			return 0, errors.New("cut: the connection dropped")
		}
		line, err := b.r.ReadBytes('\n')
		if v, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			b.id, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		} else if bytes.Equal(line, []byte("\n")) {
			b.cut = b.id >= b.at
			b.id = 0
		}
		b.pending = line
		if err != nil {
			if len(line) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

func (b *cutBody) Close() error { return b.c.Close() }

// TestBrowserResumeAfterDrop: the chat POST's stream breaks mid-reply while
// the page stays open; the page resumes through /stream with Last-Event-ID
// set to the UTF-8 bytes it shows, and the reply goes on to its exact end,
// nothing repeated and nothing skipped.
func TestBrowserResumeAfterDrop(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	const tokens = 40
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: tokens})
	t.Cleanup(stub.Close)
	model := newGatedModel(t, stub, 10)
	base := startServer(t, pgtest.Migrated(t), model, "")
	t.Cleanup(model.openAll)
	proxy := newCutProxy(t, base, len(modelstub.NumberedText(10)))

	b := newBrowser(t, execPath)
	ctx := b.ctx
	openPage(t, ctx, proxy.URL+"/", "#new-conversation")
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__samePage = true`))
	must(t, "mark the page", err)
	must(t, "ask", typeMessage(ctx, "Count to forty."))
	must(t, "ten tokens", waitText(ctx, streamingReply, modelstub.NumberedText(10)))
	proxy.cut()
	model.open(10)
	done := `#thread li.role-assistant[data-state="done"][data-status="complete"]`
	must(t, "the reply complete", waitCount(ctx, done, 1))
	checkThread(t, ctx, "after the resume", []shownMessage{
		{Role: "user", Content: "Count to forty.", State: "done"},
		{Role: "assistant", Content: modelstub.NumberedText(tokens), State: "done"},
	})
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__samePage === true`)); err != nil || !same {
		t.Errorf("the page was reloaded (mark kept = %v, %v); want the reply resumed in place", same, err)
	}
	want := strconv.Itoa(len(modelstub.NumberedText(10)))
	if got := proxy.resumes(); len(got) == 0 || got[0] != want {
		t.Errorf("/stream requests with Last-Event-ID %q; want the first from byte %s", got, want)
	}
	// The broken POST may be reported as a failed load; anything else is a fault.
	closeClean(t, b, func(msg string) bool { return strings.Contains(msg, "ERR_") })
}
