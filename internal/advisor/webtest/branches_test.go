//go:build integration

package webtest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// The question that is edited and its answer: the second exchange, after
// a long first one, so the thread scrolls and "the view stays in place"
// means something.
const (
	userItem      = `#thread li.message:nth-child(3)`
	assistantItem = `#thread li.message:nth-child(4)`
)

var longAnswer = strings.TrimSpace(strings.Repeat("A line of a long first answer.\n", 60))

// TestBrowserBranches: a question is edited in place and answered anew;
// the "‹ 2 / 2 ›" switcher goes back to the first version, by keyboard,
// without moving the view or losing focus; an answer is regenerated; and a
// new browser with a fresh profile shows the branch chosen last, because
// the server keeps it.
func TestBrowserBranches(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	model := modelstub.New()
	t.Cleanup(model.Close)
	var n atomic.Int32 // numbers the answers, so a regenerated one differs
	model.SetReply(func(msgs []modelstub.Message) string {
		if q := msgs[len(msgs)-1].Content; q != "Hello" {
			return fmt.Sprintf("answer %d to %s", n.Add(1), q)
		}
		return longAnswer
	})
	base := startServer(t, pgtest.Migrated(t), model, "")
	t.Cleanup(model.Release)

	b1 := newBrowser(t, execPath)
	ctx := b1.ctx
	openPage(t, ctx, base, "#new-conversation")
	must(t, "new conversation", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#new-conversation")),
		chromedp.WaitVisible(chromedp.CSS("#thread-view")),
	))
	must(t, "ask first", typeMessage(ctx, "Hello"))
	must(t, "answered first", waitCount(ctx, `#thread li.role-assistant[data-status="complete"]`, 1))
	must(t, "ask", typeMessage(ctx, "What is a VLAN?"))
	must(t, "answered", waitCount(ctx, `#thread li.role-assistant[data-status="complete"]`, 2))
	before := []shownMessage{
		{Role: "user", Content: "Hello", State: "done"},
		{Role: "assistant", Content: longAnswer, State: "done"},
	}
	scrolls, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(t => t.scrollHeight > t.clientHeight)(document.getElementById("thread"))`))
	if err != nil || !scrolls {
		t.Fatalf("the thread does not scroll (%v, %v): the view check would prove nothing", scrolls, err)
	}
	first := []shownMessage{
		before[0], before[1],
		{Role: "user", Content: "What is a VLAN?", State: "done"},
		{Role: "assistant", Content: "answer 1 to What is a VLAN?", State: "done"},
	}
	checkThread(t, ctx, "after the first answer", first)
	must(t, "no switcher on a message alone", waitCount(ctx, "#thread .branch-switch", 0))
	if ids, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#thread .message-actions").length`)); err != nil || ids != 4 {
		t.Errorf("%d messages offer Edit or Regenerate (%v), want all 4", ids, err)
	}
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash.slice(3)`))
	must(t, "read the conversation id", err)

	// Escape leaves the editor as it was, focus back on Edit.
	must(t, "open the editor", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(userItem+` button[aria-label^="Edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(userItem+" .message-editor textarea")),
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotPresent(chromedp.CSS(userItem+" .message-editor")),
	))
	checkThread(t, ctx, "after Escape in the editor", first)
	onEdit, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.matches('#thread li.message:nth-child(3) button[aria-label^="Edit"]')`))
	if err != nil || !onEdit {
		t.Errorf("focus after Escape is not on Edit (%v, %v)", onEdit, err)
	}

	// Edit: the question becomes an editor in place, Enter sends it.
	must(t, "edit", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(userItem+` button[aria-label^="Edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(userItem+" .message-editor textarea")),
	))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.matches(".message-editor textarea")`))
	if err != nil || !focused {
		t.Errorf("the editor's text box is not focused (%v, %v)", focused, err)
	}
	// The editor holds the question, selected by hand here so that typing
	// replaces it (chromedp.Clear wants a text node a textarea's value is not).
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(e => (e.select(), true))(document.activeElement)`))
	must(t, "select the question", err)
	must(t, "type the edit", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(userItem+" .message-editor textarea"), "What is a VXLAN?"),
	))
	must(t, "send the edit", pressEnter(ctx))
	edited := []shownMessage{
		before[0], before[1],
		{Role: "user", Content: "What is a VXLAN?", State: "done"},
		{Role: "assistant", Content: "answer 2 to What is a VXLAN?", State: "done"},
	}
	must(t, "the edit answered", waitText(ctx, assistantItem+`[data-status="complete"] .message-content`, edited[3].Content))
	must(t, "the question's switcher", waitText(ctx, userItem+" .branch-position", "2 / 2"))
	checkThread(t, ctx, "after the edit", edited)
	checkSwitcher(t, ctx, userItem, "Version 2 of 2 of this question", false, true)

	// Back to the first version, by keyboard: the view stays in place and
	// focus stays on the switcher.
	prev := userItem + ` .branch-switch [data-branch="prev"]`
	top := itemTop(t, ctx, userItem)
	must(t, "focus ‹", chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(prev))))
	must(t, "press Enter on ‹", chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)))
	must(t, "the first version shown", waitText(ctx, userItem+" .branch-position", "1 / 2"))
	checkThread(t, ctx, "after switching back", first)
	checkSwitcher(t, ctx, userItem, "Version 1 of 2 of this question", true, false)
	if moved := itemTop(t, ctx, userItem) - top; math.Abs(moved) > 1 {
		t.Errorf("the switched question moved %.1f px on screen", moved)
	}
	inSwitch, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.activeElement.closest("#thread li.message:nth-child(3) .branch-switch")`))
	if err != nil || !inSwitch {
		t.Errorf("focus left the switcher (%v, %v)", inSwitch, err)
	}

	// Regenerate the first answer: a second version of it, shown.
	must(t, "regenerate", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(assistantItem+` button[aria-label^="Regenerate"]`))))
	must(t, "the new answer", waitText(ctx, assistantItem+`[data-status="complete"] .message-content`, "answer 3 to What is a VLAN?"))
	must(t, "the answer's switcher", waitText(ctx, assistantItem+" .branch-position", "2 / 2"))
	checkSwitcher(t, ctx, assistantItem, "Version 2 of 2 of this answer", false, true)
	// and back to the first answer, the branch this browser leaves chosen.
	must(t, "switch to the first answer", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(assistantItem+` .branch-switch [data-branch="prev"]`))))
	must(t, "the first answer shown", waitText(ctx, assistantItem+" .branch-position", "1 / 2"))
	checkThread(t, ctx, "after switching answers", first)

	// The server's own view: the chosen branch is the active path.
	stored := conversationMessages(t, base, id)
	if len(stored) != 4 || stored[2].Content != first[2].Content || stored[3].Content != first[3].Content {
		t.Fatalf("the server's active path is %+v, want the first question and answer", stored)
	}
	closeClean(t, b1, nil)

	// A new browser, fresh profile: the chosen branch comes from the server.
	b2 := newBrowser(t, execPath)
	ctx = b2.ctx
	openPage(t, ctx, base+"#c/"+id, "#thread-view")
	must(t, "the thread in the new browser", waitCount(ctx, "#thread li.message", 4))
	checkThread(t, ctx, "in the new browser", first)
	must(t, "its question's versions", waitText(ctx, userItem+" .branch-position", "1 / 2"))
	must(t, "its answer's versions", waitText(ctx, assistantItem+" .branch-position", "1 / 2"))
	// The edited branch is one switch away.
	must(t, "switch to the edit", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(userItem+` .branch-switch [data-branch="next"]`))))
	must(t, "the edited question", waitText(ctx, userItem+" .message-content", "What is a VXLAN?"))
	checkThread(t, ctx, "the edit in the new browser", edited)
	closeClean(t, b2, nil)
}

// checkSwitcher checks the switcher of the message at css: its group's
// label (what a screen reader says) and which of its buttons are disabled.
func checkSwitcher(t *testing.T, ctx context.Context, css, label string, prevDisabled, nextDisabled bool) {
	t.Helper()
	noun := "question"
	if css == assistantItem {
		noun = "answer"
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
		const g = document.querySelector(%q + " .branch-switch");
		if (!g) return "(no switcher)";
		const b = (w) => g.querySelector('[data-branch="' + w + '"]');
		return [g.getAttribute("role"), g.getAttribute("aria-label"), b("prev").disabled, b("next").disabled,
			b("prev").getAttribute("aria-label"), b("next").getAttribute("aria-label")].join("|");
	})()`, css)))
	must(t, "read the switcher", err)
	want := fmt.Sprintf("group|%s|%v|%v|Previous version of this %s|Next version of this %s", label, prevDisabled, nextDisabled, noun, noun)
	if got != want {
		t.Errorf("switcher of %s:\n got %s\nwant %s", css, got, want)
	}
}

// itemTop is where the first element matching css is on screen.
func itemTop(t *testing.T, ctx context.Context, css string) float64 {
	t.Helper()
	top, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`document.querySelector(%q).getBoundingClientRect().top`, css)))
	must(t, "measure "+css, err)
	return top
}
