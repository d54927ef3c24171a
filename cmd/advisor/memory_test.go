//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/store"
)

// memoryCeilingMiB is the RSS the defaults promise (issue: hardening).
const memoryCeilingMiB = 512

// TestMemoryCeiling drives the attack that took the service to 2.4 GB
// against the real binary, built without -race, with default settings: 30
// parallel bodies of 24 MiB of \u0061 escapes (each one a message at the
// content limit) and 6 parallel GETs of a 43-message thread of 4 MiB
// messages (172 MiB of content); then 6 parallel chats on that thread. Every request gets 2xx, 413 or 503 (with
// Retry-After), the peak RSS of the process (VmHWM: the kernel keeps the
// peak, so nothing is sampled or timed) stays under the ceiling, and the
// thread still reads back whole.
func TestMemoryCeiling(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	url, s := migratedStore(t)
	ctx := context.Background()

	const bigMessages = 43
	content := strings.Repeat("a", store.DefaultMaxContentBytes)
	big, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	for range bigMessages {
		if _, err := s.AddMessage(ctx, big, "user", content); err != nil {
			t.Fatal(err)
		}
	}
	target, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}

	stub := modelstub.New()
	t.Cleanup(stub.Close)
	p := startProcess(t, bin, t.TempDir(), []string{"HWLAB_DATABASE_URL=" + url, "ADVISOR_MODEL_URL=" + stub.BaseURL(), "ADVISOR_MODEL=stub"},
		"serve", "--addr", "127.0.0.1:0")
	base := p.waitFor(t, servingRe)[1]
	t.Cleanup(func() { _ = p.interrupt(t) })

	body := []byte(`{"role":"user","content":"` + strings.Repeat(`\u0061`, store.DefaultMaxContentBytes) + `"}`)
	type outcome struct {
		what   string
		status int
		retry  string
		err    error
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []outcome
	)
	record := func(o outcome) { mu.Lock(); out = append(out, o); mu.Unlock() }
	for range 30 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", base+"/api/conversations/"+target+"/messages", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				record(outcome{what: "POST", err: err})
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			record(outcome{"POST", res.StatusCode, res.Header.Get("Retry-After"), nil})
		})
	}
	for range 6 {
		wg.Go(func() {
			res, err := http.Get(base + "/api/conversations/" + big)
			if err != nil {
				record(outcome{what: "GET", err: err})
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			record(outcome{"GET", res.StatusCode, res.Header.Get("Retry-After"), err})
		})
	}
	wg.Wait()
	// Then 6 chats on the long thread at once, which the budget lets
	// through together: each reads only the tail that fits the thread
	// budget, not 172 MiB. One reply at a time runs in a conversation, so
	// those that find one in flight are 409; at least one is answered.
	for range 6 {
		wg.Go(func() {
			res, err := http.Post(base+"/api/conversations/"+big+"/chat", "application/json", strings.NewReader(`{"content":"hi"}`))
			if err != nil {
				record(outcome{what: "chat", err: err})
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			record(outcome{"chat", res.StatusCode, res.Header.Get("Retry-After"), err})
		})
	}
	wg.Wait()

	counts := map[string]int{}
	for _, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("%s: %v", o.what, o.err)
		case o.status == http.StatusServiceUnavailable && o.retry == "":
			t.Errorf("%s: 503 without Retry-After", o.what)
		case o.what == "chat" && o.status == http.StatusConflict:
		case o.status/100 != 2 && o.status != http.StatusRequestEntityTooLarge && o.status != http.StatusServiceUnavailable:
			t.Errorf("%s: status %d", o.what, o.status)
		}
		counts[o.what+" "+strconv.Itoa(o.status)]++
	}
	if counts["chat 200"] == 0 {
		t.Errorf("no chat on the long thread was answered: %v", counts)
	}
	peak := vmHWM(t, p.cmd.Process.Pid)
	t.Logf("peak RSS %d MiB (ceiling %d); answers %v", peak>>10, memoryCeilingMiB, counts)
	if peak>>10 > memoryCeilingMiB {
		t.Errorf("peak RSS %d MiB, over the %d MiB ceiling", peak>>10, memoryCeilingMiB)
	}
	// Which of the first wave get through depends on who comes first; the
	// chats come when the budget is free again (a handler releases its
	// charge before its answer is complete), and the first ones fit.
	if counts["chat 200"] == 0 {
		t.Errorf("no chat got through a free budget: %v", counts)
	}

	// After the attack, the thread reads back whole.
	res, err := http.Get(base + "/api/conversations/" + big)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c struct {
		MessageCount int `json:"message_count"`
		Messages     []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET after the attack: %d %v", res.StatusCode, err)
	}
	// Each chat that got through added its question and the answer.
	if want := bigMessages + 2*counts["chat 200"]; c.MessageCount != want || len(c.Messages) != want {
		t.Fatalf("thread after the attack: count %d, %d messages, want %d", c.MessageCount, len(c.Messages), want)
	}
	for i, m := range c.Messages[:bigMessages] {
		if m.Content != content {
			t.Fatalf("message %d altered (%d bytes)", i, len(m.Content))
		}
	}
}

// vmHWM is the peak resident set size of process pid, in KiB.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}
