//go:build integration

package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// The conversation the test holds, worded like a real one because the
// screenshot of it is the README's picture of the page.
var (
	question1 = []string{
		"I have three mini PCs running Proxmox and a 4-bay NAS.",
		"What should I use for shared VM storage?",
	}
	answer1 = "With three nodes and one NAS, NFS from the NAS is the simplest choice that works:\n\n" +
		"1. Export one dataset per purpose: vm-disks, iso, backups.\n" +
		"2. Add it under Datacenter → Storage as NFS, content \"Disk image\".\n" +
		"3. Give storage its own VLAN or a 2.5 GbE switch.\n\n" +
		"Ceph starts to pay off with several OSD disks per node; with one SSD each it would be slower than NFS."
	question2 = []string{"And backups?"}
	answer2   = "Run Proxmox Backup Server on a machine that is not one of the three nodes, with its datastore on a separate NAS share. " +
		"Schedule a nightly job keeping 7 daily and 4 weekly copies, and test a restore once a month."
	question3 = []string{"Is ZFS replication between the nodes worth it?"}
	answer3   = "Only for the VMs that must come back within minutes: replication every 15 minutes to a second node gives fast failover without shared storage."
	newTitle  = "Proxmox shared storage"
)

// replies answers each question with its scripted answer.
func replies(msgs []modelstub.Message) string {
	last := msgs[len(msgs)-1].Content
	switch last {
	case joinLines(question1...):
		return answer1
	case joinLines(question2...):
		return answer2
	case joinLines(question3...):
		return answer3
	}
	return modelstub.Echo(msgs)
}

// TestBrowser drives the page in headless chromium: it creates a
// conversation, watches a reply stream in, renames it, survives a model
// failure through Retry, then closes the browser and checks from a brand-new
// profile that everything is still there (so the history lives in
// PostgreSQL, not in the browser), and deletes it through the UI.
func TestBrowser(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)

	model := modelstub.New()
	t.Cleanup(model.Close)
	model.SetReply(replies)
	base := startServer(t, pgtest.Migrated(t), model, "")
	// Runs before the server's cleanup: a test that fails while the stub
	// holds a reply must not leave the server waiting for it.
	t.Cleanup(model.Release)

	// Two older conversations, written by "other writers" through the raw
	// append, so the list has something besides the new one.
	seeded := []string{
		seedConversation(t, base, "How should I lay out a ZFS pool with four 8 TB disks?",
			"Two mirrored pairs, striped: you lose half the space but resilver fast and can grow two disks at a time."),
		seedConversation(t, base, "Which fans keep a 2U server quiet?",
			"80 mm fans rated under 20 dBA, on a PWM curve from the BMC; swap the PSU fan only if the vendor allows it."),
	}

	// ---- first browser ----
	b1 := newBrowser(t, execPath)
	ctx := b1.ctx
	openPage(t, ctx, base, "#new-conversation")
	must(t, "earlier conversations listed", waitCount(ctx, "#conversation-list li.conversation", len(seeded)))

	must(t, "new conversation", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#new-conversation")),
		chromedp.WaitVisible(chromedp.CSS("#thread-view")),
	))

	// The reply streams: the stub sends its first chunk and then holds, and
	// that chunk must already be on the page while the reply is unfinished.
	// The conversation is stored with its first message.
	model.SetMode(modelstub.HoldMidStream)
	must(t, "send the first question", typeMessage(ctx, question1...))
	select {
	case <-model.Held():
	case <-ctx.Done():
		t.Fatal("the model was never asked: the chat request did not reach it")
	}
	must(t, "new conversation listed first", waitCount(ctx, "#conversation-list li.conversation", len(seeded)+1))
	must(t, "new conversation selected", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(
		`#conversation-list li.conversation:first-child a[aria-current="page"]`))))
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash.slice(3)`))
	must(t, "read the conversation id", err)
	if len(id) != 36 {
		t.Fatalf("location.hash does not name the conversation: id %q", id)
	}
	must(t, "part of the reply shown while it streams",
		waitPartial(ctx, `#thread li.role-assistant[data-state="streaming"] .message-content`, answer1))
	must(t, "the question shown as stored while the reply streams",
		waitCount(ctx, `#thread li.role-user[data-state="done"]`, 1))
	model.Release()
	must(t, "reply complete", waitCount(ctx, `#thread li.role-assistant[data-state="done"]`, 1))
	want := []shownMessage{
		{Role: "user", Content: joinLines(question1...), State: "done"},
		{Role: "assistant", Content: answer1, State: "done"},
	}
	checkThread(t, ctx, "after the first reply", want)
	// The server names a conversation after its first message.
	must(t, "default title", waitPrefix(ctx, "#thread-title", question1[0][:20]))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#composer-input"))); err != nil || v != "" {
		t.Errorf("composer after sending = %q, %v; want it empty", v, err)
	}

	model.SetMode(modelstub.Normal)
	must(t, "send the second question", typeMessage(ctx, question2...))
	must(t, "second reply complete", waitCount(ctx, `#thread li.role-assistant[data-state="done"]`, 2))
	want = append(want,
		shownMessage{Role: "user", Content: joinLines(question2...), State: "done"},
		shownMessage{Role: "assistant", Content: answer2, State: "done"})
	checkThread(t, ctx, "after the second reply", want)

	must(t, "rename", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#rename")),
		chromedp.WaitVisible(chromedp.CSS("#title-input")),
		chromedp.Clear(chromedp.CSS("#title-input")),
		chromedp.SendKeys(chromedp.CSS("#title-input"), newTitle),
		chromedp.Click(chromedp.CSS(`#title-form button[type="submit"]`)),
	))
	must(t, "new title shown", waitText(ctx, "#thread-title", newTitle))
	must(t, "new title listed", waitText(ctx, "#conversation-list .conversation-title", newTitle))
	must(t, "count listed", waitPrefix(ctx, "#conversation-list .conversation-meta", "4 messages · "))

	saveScreenshot(t, ctx)

	// A model failure mid-reply: the question stays, and so does the
	// partial reply, marked failed; its Retry asks again through /reply,
	// and the fresh reply takes its place as its next version (the failed
	// one stays, one switch away, and counts).
	model.SetMode(modelstub.FailMidStream)
	must(t, "send the third question", typeMessage(ctx, question3...))
	failed := `#thread li.role-assistant[data-status="failed"]`
	must(t, "retry offered", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(failed+" .message-retry"))))
	must(t, "failed badge", waitText(ctx, failed+" .message-badge", "failed"))
	stored := conversationMessages(t, base, id)
	partial := stored[len(stored)-1]
	if partial.Status != "failed" || partial.Content == "" || len(partial.Content) >= len(answer3) || !strings.HasPrefix(answer3, partial.Content) {
		t.Fatalf("stored after the model failed: %+v; want a failed reply with part of %q", partial, answer3)
	}
	want = append(want,
		shownMessage{Role: "user", Content: joinLines(question3...), State: "done"},
		shownMessage{Role: "assistant", Content: partial.Content, State: "done"})
	checkThread(t, ctx, "after the model failed", want)
	model.SetMode(modelstub.Normal)
	must(t, "retry", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(failed+" .message-retry")),
		chromedp.WaitNotVisible(chromedp.CSS("#problem")),
	))
	must(t, "retried reply complete", waitCount(ctx, `#thread li.role-assistant[data-status="complete"]`, 3))
	want = append(want[:len(want)-1], shownMessage{Role: "assistant", Content: answer3, State: "done"})
	checkThread(t, ctx, "after the retry", want)
	must(t, "the failed reply one switch away", waitText(ctx, "#thread li.message:last-child .branch-position", "2 / 2"))
	must(t, "count after retry", waitPrefix(ctx, "#conversation-list li.conversation:first-child .conversation-meta", "7 messages · "))

	closeClean(t, b1, nil)

	// A full first page of newer conversations pushes this one to the
	// second page: the new browser must find it through "Load more".
	const pageSize = 50
	for range pageSize {
		apiJSON(t, http.MethodPost, base+"api/conversations", map[string]any{}, http.StatusCreated, nil)
	}

	// ---- a new browser, fresh profile: nothing comes from the old one ----
	b2 := newBrowser(t, execPath)
	ctx = b2.ctx
	openPage(t, ctx, base, "#new-conversation")
	if h, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + localStorage.length`)); err != nil || h != "0" {
		t.Fatalf("the new browser is not fresh: hash+localStorage.length = %q, %v", h, err)
	}
	item := fmt.Sprintf(`#conversation-list li.conversation[data-id=%q]`, id)
	must(t, "first page", waitCount(ctx, "#conversation-list li.conversation", pageSize))
	must(t, "not on the first page", waitCount(ctx, item, 0))
	must(t, "load more", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#load-more"))))
	must(t, "second page", waitCount(ctx, "#conversation-list li.conversation", pageSize+1+len(seeded)))
	must(t, "no third page", chromedp.Do(ctx, chromedp.WaitNotVisible(chromedp.CSS("#load-more"))))
	order, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#conversation-list li.conversation")].slice(-3).map(li => li.dataset.id)`))
	must(t, "read the order", err)
	if wantOrder := []string{id, seeded[1], seeded[0]}; fmt.Sprint(order) != fmt.Sprint(wantOrder) {
		t.Errorf("second page order = %v, want newest first %v", order, wantOrder)
	}
	must(t, "conversation listed in the new browser", waitText(ctx, item+" .conversation-title", newTitle))
	must(t, "its count", waitPrefix(ctx, item+" .conversation-meta", "7 messages · "))
	must(t, "open it", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(item+" .conversation-open"))))
	must(t, "its thread", waitCount(ctx, "#thread li.message", len(want)))
	must(t, "its title", waitText(ctx, "#thread-title", newTitle))
	checkThread(t, ctx, "in the new browser", want)

	checkMarkupIsText(t, ctx, base, id)
	checkPhoneLayout(t, ctx)
	// The reloads above started the list again from its first page.
	must(t, "load more again", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#load-more"))))
	must(t, "listed again", waitCount(ctx, item, 1))

	// Delete from the UI, through the confirmation dialog.
	must(t, "delete", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(item+" .conversation-delete")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")),
		chromedp.Click(chromedp.CSS("#confirm-delete")),
		chromedp.WaitNotPresent(chromedp.CSS(item)),
	))
	must(t, "empty view after delete", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#empty-state"))))
	must(t, "reload", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#new-conversation")),
	))
	must(t, "first page after reload", waitCount(ctx, "#conversation-list li.conversation", pageSize))
	must(t, "load more after reload", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#load-more"))))
	must(t, "all but the deleted one", waitCount(ctx, "#conversation-list li.conversation", pageSize+len(seeded)))
	must(t, "still gone after reload", waitCount(ctx, item, 0))
	apiJSON(t, http.MethodGet, base+"api/conversations/"+id, nil, http.StatusNotFound, nil)

	closeClean(t, b2, nil)
}

// checkMarkupIsText appends a message full of markup through the API and
// checks that the page shows it as text and runs none of it.
func checkMarkupIsText(t *testing.T, ctx context.Context, base, id string) {
	t.Helper()
	evil := `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>`
	apiJSON(t, http.MethodPost, base+"api/conversations/"+id+"/messages",
		map[string]string{"role": "assistant", "content": evil}, http.StatusCreated, nil)
	must(t, "reload with the markup message", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#thread-view")),
	))
	must(t, "markup shown as text", waitText(ctx, "#thread li.message:last-child .message-content", evil))
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`String(window.__xss) + "/" + document.querySelectorAll("#thread .message-content *").length`))
	must(t, "read the markup check", err)
	if got != "undefined/0" {
		t.Errorf("model output became markup: window.__xss/elements = %s, want undefined/0", got)
	}
	// Leave the thread as it was for the checks that follow.
	must(t, "reload", chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#thread-view"))))
}

// checkPhoneLayout narrows the window to a phone's width: the list folds away
// behind a button and opens over the thread.
func checkPhoneLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	must(t, "phone width", chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.WaitVisible(chromedp.CSS("#sidebar-toggle")),
		chromedp.WaitNotVisible(chromedp.CSS("#sidebar")),
		chromedp.WaitVisible(chromedp.CSS("#composer-input")),
		chromedp.Click(chromedp.CSS("#sidebar-toggle")),
		chromedp.WaitVisible(chromedp.CSS("#sidebar")),
	))
	if exp, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#sidebar-toggle"), "aria-expanded")); err != nil || exp.Value != "true" {
		t.Errorf("sidebar toggle aria-expanded = %+v, %v; want true", exp, err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	must(t, "measure the width", err)
	if wide {
		t.Error("at 390 px the page scrolls sideways")
	}
	must(t, "desktop width", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#sidebar-toggle")),
		chromedp.EmulateViewport(1280, 800),
		chromedp.WaitVisible(chromedp.CSS("#sidebar")),
		chromedp.WaitNotVisible(chromedp.CSS("#sidebar-toggle")),
	))
}

// openPage loads the page at a desktop size and waits for css to show.
func openPage(t *testing.T, ctx context.Context, base, css string) {
	t.Helper()
	must(t, "open the page", chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(css)),
	))
}

// closeClean closes the browser and fails the test if its page reported
// an error that expected (which may be nil) does not accept.
func closeClean(t *testing.T, b *browser, expected func(string) bool) {
	t.Helper()
	b.close()
	<-b.errors.done
	var bad []string
	for _, e := range b.errors.take() {
		if expected == nil || !expected(e) {
			bad = append(bad, e)
		}
	}
	if len(bad) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(bad, "\n"))
	}
}

func checkThread(t *testing.T, ctx context.Context, when string, want []shownMessage) {
	t.Helper()
	got, err := thread(ctx)
	must(t, "read the thread "+when, err)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("thread %s:\n got %q\nwant %q", when, got, want)
	}
}

func must(t *testing.T, step string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// apiJSON makes one API request from Go, not from the browser: the
// server's own view, independent of the page. It fails the test unless the
// status is want, and decodes the response into out when out is not nil.
func apiJSON(t *testing.T, method, url string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(t, "encode the request", err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	must(t, "build the request", err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	must(t, method+" "+url, err)
	defer res.Body.Close()
	if res.StatusCode != want {
		msg, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: status %d (%s), want %d", method, url, res.StatusCode, bytes.TrimSpace(msg), want)
	}
	if out != nil {
		must(t, "decode "+url, json.NewDecoder(res.Body).Decode(out))
	}
}

// seedConversation stores a question and its answer through the API's
// raw append and returns the conversation's id.
func seedConversation(t *testing.T, base, question, answer string) string {
	t.Helper()
	var c struct {
		ID string `json:"id"`
	}
	apiJSON(t, http.MethodPost, base+"api/conversations", map[string]any{}, http.StatusCreated, &c)
	for _, m := range []map[string]string{{"role": "user", "content": question}, {"role": "assistant", "content": answer}} {
		apiJSON(t, http.MethodPost, base+"api/conversations/"+c.ID+"/messages", m, http.StatusCreated, nil)
	}
	return c.ID
}

// saveScreenshot captures the page as it shows a conversation. It goes to
// the file named by HWLAB_SCREENSHOT (make screenshot sets docs/advisor.png),
// else to the test's temporary directory, so a plain test run does not
// rewrite a committed file whose pixels change with every timestamp.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, "screenshot", err)
	img, err := png.Decode(bytes.NewReader(buf))
	must(t, "decode the screenshot", err)
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 600 {
		t.Errorf("screenshot is %v; want the 1280×800 window", b)
	}
	path := os.Getenv("HWLAB_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "advisor.png")
	}
	must(t, "save the screenshot", os.WriteFile(path, buf, 0o644))
	t.Logf("screenshot: %s (%d bytes, taken %s)", path, len(buf), time.Now().UTC().Format(time.RFC3339))
}

// TestBrowserToken serves with a bearer token: the page asks for it once,
// says so when it is wrong, keeps the right one, and does not ask again
// after a reload.
func TestBrowserToken(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	model := modelstub.New()
	t.Cleanup(model.Close)
	const token = "correct horse battery staple"
	base := startServer(t, pgtest.Migrated(t), model, token)

	b := newBrowser(t, execPath)
	ctx := b.ctx
	openPage(t, ctx, base, "#token-input")
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("token-error").hidden`)); err != nil || !v {
		t.Errorf("first ask shows the wrong-token message (hidden=%v, %v)", v, err)
	}
	must(t, "a wrong token", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#token-input"), "wrong"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-error")),
		chromedp.WaitVisible(chromedp.CSS("#token-input")),
	))
	must(t, "the right token", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#token-input"), token),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#token-dialog")),
	))
	must(t, "list loaded with the token", waitText(ctx, "#list-status", "No conversations yet."))
	must(t, "create with the token", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#new-conversation")),
		chromedp.WaitVisible(chromedp.CSS("#thread-view")),
	))
	must(t, "send with the token", typeMessage(ctx, "ping"))
	must(t, "reply with the token", waitText(ctx, `#thread li.role-assistant[data-state="done"] .message-content`, "echo: ping"))

	must(t, "reload", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#thread-view")),
	))
	must(t, "the thread, without asking again", waitCount(ctx, "#thread li.message", 2))
	if open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("token-dialog").open`)); err != nil || open {
		t.Errorf("token dialog open after reload = %v, %v; want it kept from the first ask", open, err)
	}
	// The two 401s are expected: they are how the page learns it needs a
	// token. Anything else is a fault.
	closeClean(t, b, func(msg string) bool { return strings.Contains(msg, "401") })
}

// TestBrowserNoModel serves without a model: the page still browses, and a
// message it cannot send is not lost: the server's 503 says what to
// configure, the text is back in the composer, and the conversation created
// for it is gone again (none is left empty).
func TestBrowserNoModel(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	base := startServer(t, pgtest.Migrated(t), nil, "")

	b := newBrowser(t, execPath)
	ctx := b.ctx
	openPage(t, ctx, base, "#new-conversation")
	// Said up front, before anyone types a question.
	must(t, "the no-model notice", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#model-notice"))))
	must(t, "the notice names the setting", waitTextMatch(ctx, "#model-notice", `(s, w) => s.includes(w)`, "ADVISOR_MODEL_URL", "to mention"))
	must(t, "new conversation", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#new-conversation")),
		chromedp.WaitVisible(chromedp.CSS("#thread-view")),
	))
	must(t, "send", typeMessage(ctx, "hello"))
	must(t, "the server's explanation", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#problem"))))
	must(t, "it names the setting", waitTextMatch(ctx, "#problem-text", `(s, w) => s.includes(w)`, "ADVISOR_MODEL_URL", "to mention"))
	must(t, "back to the draft", waitText(ctx, "#thread-meta", "Saved when you send the first message."))
	text, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#composer-input")))
	must(t, "read the composer", err)
	shown, err := thread(ctx)
	must(t, "read the thread", err)
	var list struct {
		Conversations []map[string]any `json:"conversations"`
	}
	apiJSON(t, http.MethodGet, base+"api/conversations", nil, http.StatusOK, &list)
	// The server refuses before storing anything, so the page gives the
	// text back instead of showing a message that is not there, and
	// deletes the conversation it made for it.
	if len(list.Conversations) != 0 {
		t.Errorf("the server lists %v after a refused first message; want no conversation", list.Conversations)
	}
	if text != "hello" || len(shown) != 0 {
		t.Errorf("composer = %q, thread = %q; want the text back and an empty thread", text, shown)
	}
	closeClean(t, b, func(msg string) bool { return strings.Contains(msg, "503") })
}

// TestBrowserListRetry: a list that could not be loaded (the database was
// down) comes back on its own, without a reload. The browser itself answers
// the first two list requests with the server's 503, through the DevTools
// Fetch domain, so the page sees exactly what a down database gives it.
func TestBrowserListRetry(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	base := startServer(t, pgtest.Migrated(t), nil, "")
	seedConversation(t, base, "is the NAS up?", "yes")

	b := newBrowser(t, execPath)
	ctx := b.ctx
	var failed atomic.Int32
	// Listen's callback may not call the browser; a goroutine answers.
	paused := make(chan *fetch.EventRequestPaused, 64)
	must(t, "listen", chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e
		}
	}))
	go func() {
		for {
			var e *fetch.EventRequestPaused
			select {
			case e = <-paused:
			case <-ctx.Done():
				return
			}
			if strings.Contains(e.Request.URL, "/api/conversations?") && failed.Add(1) <= 2 {
				_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID:       e.RequestID,
					ResponseCode:    http.StatusServiceUnavailable,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}, {Name: "Retry-After", Value: "5"}},
					Body:            []byte(`{"error":"database unavailable; retry later"}`),
				})
				continue
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
		}
	}()
	_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/api/*"}}})
	must(t, "intercept the API", err)
	openPage(t, ctx, base, "#new-conversation")
	must(t, "the failure is shown", waitTextMatch(ctx, "#list-status", `(s, w) => s.includes(w)`, "database unavailable", "to mention"))
	must(t, "a button offers to try again", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#list-retry"))))
	// The page retries on its own (1 s, then 2 s): the list appears and the
	// failure is gone, with no reload.
	must(t, "the list comes back", waitCount(ctx, "#conversation-list li", 1))
	must(t, "the failure is cleared", waitTextMatch(ctx, "#list-status", `(s, w) => !s.includes(w)`, "Could not load", "not to mention"))
	must(t, "the button is hidden", chromedp.Do(ctx, chromedp.WaitNotVisible(chromedp.CSS("#list-retry"))))
	if n := failed.Load(); n < 3 {
		t.Errorf("%d list requests; want the two refused ones and a retry that worked", n)
	}
	closeClean(t, b, func(msg string) bool { return strings.Contains(msg, "503") })
}
