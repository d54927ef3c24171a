//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestThreeInstances: three real `advisor serve` processes on one
// database, and 50 concurrent chats spread over them by a round-robin
// client: chat i starts on instance i%3, is resumed (Last-Event-ID) on the
// next one and, for every fifth chat, stopped on the one after. The model
// holds every reply after its first token, so what each step sees does not
// depend on timing. While all are held, the third instance is SIGKILLed and
// the model released. Then the chats started elsewhere end complete with
// exactly the text the model sent, those the dead instance started and did
// not stop end interrupted (ended by the others once its leases expire),
// the stopped ones stay stopped, and every conversation holds exactly one
// reply: none stored twice, none interrupted falsely.
func TestThreeInstances(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	dsn := pgtest.Migrated(t)
	const chats, tokens = 50, 40
	stub, full := numberedStub(t, tokens, 0)
	stub.SetMode(modelstub.HoldMidStream)
	t.Cleanup(stub.Release)
	// A 5 s lease, renewed every 1.7 s and swept every 2.5 s: the dead
	// instance's replies end within seconds, a live one taken for dead
	// would show, and a loaded machine has room to renew in time. The
	// default memory budget admits a handful of chats and remote readers
	// an instance (docs/performance.md); this is about 17 of each.
	var srv [3]*replyServer
	for i, name := range []string{"a", "b", "c"} {
		srv[i] = startReplyServer(t, bin, dsn, stub, "--instance", name, "--lease-ttl", "5s", "--memory-budget", "1024")
	}
	const doomed = 2

	type chat struct {
		id, status, content string
		startedOn           int
		stopped             bool
	}
	results := make([]chat, chats)
	var ready, done sync.WaitGroup // ready: every chat held, its reader on another instance
	ready.Add(chats)
	done.Add(chats)
	released := make(chan struct{})
	for i := range chats {
		go func() {
			defer done.Done()
			t.Run(fmt.Sprintf("chat %d", i), func(t *testing.T) {
				var readyOnce sync.Once
				markReady := func() { readyOnce.Do(ready.Done) }
				defer markReady() // also when it fails early: the test must not wait for it
				r := &results[i]
				r.startedOn, r.stopped = i%3, i%5 == 4
				first, next, third := srv[i%3], srv[(i+1)%3], srv[(i+2)%3]

				r.id = first.create(t)
				st, reply := first.startChatSSE(t, r.id)
				var seen string
				if ev, ok := st.tokens(t, &seen, func(string) bool { return true }); !ok || ev.name != "token" {
					t.Fatalf("no first token: %+v", ev)
				}
				st.res.Body.Close() // the client goes away; the reply does not
				resumed := next.resume(t, r.id, len(seen))
				if resumed == nil {
					t.Fatal("resume: 204, but the reply is held in flight")
				}
				var m apiMessage
				if err := json.Unmarshal([]byte(resumed.expect(t, "reply")), &m); err != nil || m.ID != reply.ID {
					t.Fatalf("resumed reply event: %+v %v, want %s", m, err, reply.ID)
				}
				if r.stopped {
					// 200 with the reply stopped, or 202 if it takes over 5 s;
					// the resumed reader sees the end either way.
					if code, body := third.do(t, "POST", "/api/conversations/"+r.id+"/stop", `{}`); code != http.StatusOK && code != http.StatusAccepted {
						t.Fatalf("stop through instance %d: %d %s", (i+2)%3, code, body)
					}
					end := resumed.endMessage(t, &seen, "done")
					if end.Status != "stopped" || end.Content != seen {
						t.Errorf("stopped through another instance: %q with %q, want stopped with %q", end.Status, end.Content, seen)
					}
					return
				}
				// Before the kill, the first token must be stored: the dead
				// instance's replies keep what they flushed.
				first.waitStoredText(t, r.id)
				markReady()
				<-released

				want := "done"
				if r.startedOn == doomed {
					want = "error"
				}
				ev, ok := resumed.tokens(t, &seen, nil)
				if !ok {
					// The reader was on the dead instance: resume again,
					// on the instance after it, from what it has.
					if (i+1)%3 != doomed {
						t.Fatalf("the stream on live instance %d broke after %d bytes", (i+1)%3, len(seen))
					}
					again := third.resume(t, r.id, len(seen))
					if again == nil {
						// It ended meanwhile: a client reads the stored
						// reply instead (checked with the others below).
						checkPrefix(t, "the text read before the break", seen, seen, full)
						return
					}
					again.expect(t, "reply")
					ev, ok = again.tokens(t, &seen, nil)
				}
				if !ok || ev.name != want {
					t.Fatalf("the reader's stream ended with %+v (open: %v), want %s", ev, ok, want)
				}
				if want == "done" && seen != full {
					t.Errorf("the reader got %q, want what the model sent", seen)
				}
			})
		}()
	}
	waitGroup(t, "every chat held with its reader on another instance", &ready)

	if err := srv[doomed].p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = srv[doomed].p.exit(t) // killed: its error is the signal
	stub.Release()
	close(released)
	waitGroup(t, "every chat ended", &done)

	// Counted in the database, by conversation.
	db := pgtest.Open(t, dsn)
	var replies, duplicates, falseInterrupts, interrupted int
	for i, r := range results {
		if r.id == "" {
			continue // its subtest failed before creating it
		}
		rows, err := db.Query(`SELECT status, content FROM messages WHERE conversation_id = $1 AND role = 'assistant'`, r.id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(&r.status, &r.content); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		replies += n
		if n != 1 {
			duplicates += max(n-1, 0)
			t.Errorf("chat %d: %d replies stored, want 1", i, n)
			continue
		}
		wantStatus, wantText := "complete", full
		switch {
		case r.stopped:
			wantStatus, wantText = "stopped", modelstub.NumberedText(1) // stopped while held after the first token
		case r.startedOn == doomed:
			wantStatus, wantText = "interrupted", modelstub.NumberedText(1) // what it flushed before the hold
		}
		if r.status == "interrupted" {
			interrupted++
			if wantStatus != "interrupted" {
				falseInterrupts++
			}
		}
		if r.status != wantStatus || r.content != wantText {
			t.Errorf("chat %d (started on instance %d, stopped %v): %q with %q, want %q with %q",
				i, r.startedOn, r.stopped, r.status, r.content, wantStatus, wantText)
		}
	}
	if got := len(stub.Requests()); got != chats {
		t.Errorf("the model was asked %d times for %d chats", got, chats)
	}
	// The sweeps that ended the dead instance's replies, and only those.
	swept := 0
	for _, s := range srv[:doomed] {
		for _, m := range sweptRe.FindAllStringSubmatch(s.p.output(), -1) {
			n, _ := strconv.Atoi(m[1])
			swept += n
		}
		if strings.Contains(s.p.output(), "left streaming by the previous run") {
			t.Errorf("a live instance swept replies as its own previous run's:\n%s", s.p.output())
		}
	}
	if swept != interrupted {
		t.Errorf("the live instances swept %d replies, %d are interrupted", swept, interrupted)
	}
	t.Logf("%d chats over 3 instances: %d replies stored, %d duplicates, %d interrupted (all the killed instance's), %d false interrupts",
		chats, replies, duplicates, interrupted, falseInterrupts)
}

// sweptRe is the log line of a sweep that ended another instance's replies.
var sweptRe = regexp.MustCompile(`msg="replies of a lost instance ended interrupted" count=(\d+)`)

// waitGroup waits for wg, failing after a deadline that only bounds a
// broken run.
func waitGroup(t *testing.T, what string, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s: not within 3 minutes", what)
	}
}
