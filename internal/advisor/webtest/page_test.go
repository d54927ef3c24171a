//go:build integration

package webtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// pageErrors collects what the page reported as an error (uncaught
// exceptions, console.error, failed loads), so a test can assert that a flow
// ran cleanly and not merely that the expected text appeared.
type pageErrors struct {
	mu   sync.Mutex
	msgs []string
	done chan struct{}
}

// watchConsole records the tab's error messages until its context ends.
func watchConsole(t *testing.T, ctx context.Context) *pageErrors {
	t.Helper()
	pe := &pageErrors{done: make(chan struct{})}
	events := chromedp.Console(ctx) // subscribed now, read below
	go func() {
		defer close(pe.done)
		for m, err := range events {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				pe.mu.Lock()
				pe.msgs = append(pe.msgs, m.String())
				pe.mu.Unlock()
			}
		}
	}()
	return pe
}

// take returns the errors seen so far and forgets them.
func (pe *pageErrors) take() []string {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	out := pe.msgs
	pe.msgs = nil
	return out
}

// shownMessage is one message as the page shows it.
type shownMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	State   string `json:"state"`
}

const readThread = `[...document.querySelectorAll("#thread li.message")].map(li => ({
	role: (li.className.match(/role-(\w+)/) || [, ""])[1],
	content: li.querySelector(".message-content").textContent,
	state: li.dataset.state || "",
}))`

func thread(ctx context.Context) ([]shownMessage, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]shownMessage](readThread))
}

// waitCount waits until css matches exactly n elements.
func waitCount(ctx context.Context, css string, n int) error {
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(sel, n) => document.querySelectorAll(sel).length === n`,
		chromedp.WithPollingArgs(css, n)))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, css)))
		return fmt.Errorf("waiting for %d × %s (have %d): %w", n, css, got, err)
	}
	return nil
}

// waitText waits until the first element matching css has exactly text want.
func waitText(ctx context.Context, css, want string) error {
	return waitTextMatch(ctx, css, `(s, want) => s === want`, want, "to read")
}

// waitPrefix waits until the first element matching css has text starting
// with prefix.
func waitPrefix(ctx context.Context, css, prefix string) error {
	return waitTextMatch(ctx, css, `(s, p) => s.startsWith(p)`, prefix, "to start with")
}

// waitPartial waits until the first element matching css shows a non-empty
// proper prefix of whole: part of a reply that is still streaming.
func waitPartial(ctx context.Context, css, whole string) error {
	return waitTextMatch(ctx, css,
		`(s, whole) => s.length > 0 && s.length < whole.length && whole.startsWith(s)`, whole, "to show part of")
}

// waitTextMatch waits until the first element matching css has a
// textContent s for which the JavaScript function test(s, arg) is true.
// On failure it says what the element read instead.
func waitTextMatch(ctx context.Context, css, test, arg, what string) error {
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(sel, arg) => { const e = document.querySelector(sel); return !!e && (`+test+`)(e.textContent, arg); }`,
		chromedp.WithPollingArgs(css, arg)))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
			fmt.Sprintf(`document.querySelector(%q)?.textContent ?? "(no element)"`, css)))
		return fmt.Errorf("waiting for %s %s %q (it reads %q): %w", css, what, arg, got, err)
	}
	return nil
}

// typeMessage types lines into the composer, joined with Shift+Enter, and
// sends them with a plain Enter, the way a person would.
func typeMessage(ctx context.Context, lines ...string) error {
	for i, line := range lines {
		if i > 0 {
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierShift))); err != nil {
				return err
			}
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#composer-input"), line)); err != nil {
			return err
		}
	}
	return pressEnter(ctx)
}

// pressEnter sends Enter as a key down and up with no character event.
// chromedp's SendKeys adds a char event, which a real browser would not
// deliver after the page cancelled the keydown; sent here it would leave a
// stray newline in the emptied composer.
func pressEnter(ctx context.Context) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func joinLines(lines ...string) string { return strings.Join(lines, "\n") }
