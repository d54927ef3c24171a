//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// branched stores a conversation with two versions of its question and two
// of the first question's answer, in this append order:
//
//	[1] q1 ── [2] a1
//	       └─ [3] a1b    (regenerated)
//	[4] q2 ── [5] r2     (q1 edited)
//
// and returns the database, its store, the conversation and the message
// ids by name. The active path is q2, r2.
func branched(t *testing.T) (url string, s *store.Store, conv string, ids map[string]string) {
	t.Helper()
	ctx := context.Background()
	url, s = migratedStore(t)
	conv, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]string{}
	for _, m := range [][2]string{{"q1", "user"}, {"a1", "assistant"}} {
		msg, err := s.AppendMessage(ctx, conv, m[1], m[0])
		if err != nil {
			t.Fatal(err)
		}
		ids[m[0]] = msg.ID
	}
	finish := func(name string, reply store.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishReply(ctx, reply.ID, []store.Chunk{{N: 0, Text: name}}, store.Final{Status: store.StatusComplete}); err != nil {
			t.Fatal(err)
		}
		ids[name] = reply.ID
	}
	rs := store.ReplyStart{Model: "m", Instance: "test"}
	reply, err := s.RegenerateMessage(ctx, conv, ids["a1"], rs)
	finish("a1b", reply, err)
	user, reply, err := s.EditMessage(ctx, conv, ids["q1"], "q2", rs)
	ids["q2"] = user.ID
	finish("r2", reply, err)
	return url, s, conv, ids
}

// TestShowBranches: show prints the active path and marks each message
// that has other versions with its place among them; after a switch it
// prints the other branch; --json is the API's form (siblings, the
// count of every message).
func TestShowBranches(t *testing.T) {
	t.Parallel()
	url, s, conv, ids := branched(t)
	env := dbEnv(url)

	r := runAdvisor(t, env, "conversations", "show", conv)
	mustSucceed(t, r, "show")
	checkShown(t, r.stdout, "messages: 5 (2 on the active path)\n", []string{
		"[1] * user (" + ids["q2"] + ") [version 2/2]\nq2\n",
		"[2] * assistant (" + ids["r2"] + ") model m\nr2\n",
	})

	if err := s.SwitchBranch(context.Background(), conv, ids["a1"]); err != nil {
		t.Fatal(err)
	}
	r = runAdvisor(t, env, "conversations", "show", conv)
	mustSucceed(t, r, "show after the switch")
	checkShown(t, r.stdout, "messages: 5 (2 on the active path)\n", []string{
		"[1] * user (" + ids["q1"] + ") [version 1/2]\nq1\n",
		"[2] * assistant (" + ids["a1"] + ") [version 1/2]\na1\n",
	})

	r = runAdvisor(t, env, "conversations", "show", "--json", conv)
	mustSucceed(t, r, "show --json")
	var c wire.Conversation
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != 2 || c.MessageCount != 5 || c.ActiveMessageID == nil || *c.ActiveMessageID != ids["a1"] ||
		!slices.Equal(c.Messages[1].Siblings, []string{ids["a1"], ids["a1b"]}) ||
		c.Messages[1].ParentID == nil || *c.Messages[1].ParentID != ids["q1"] {
		t.Errorf("show --json = %s", r.stdout)
	}
}

// TestShowTree: --tree prints every message, depth-first, a branch one
// step deeper than the message it branches from, a chain at one depth,
// "*" on the active path; --tree --json is the export's form.
func TestShowTree(t *testing.T) {
	t.Parallel()
	url, _, conv, ids := branched(t)
	env := dbEnv(url)

	r := runAdvisor(t, env, "conversations", "show", "--tree", conv)
	mustSucceed(t, r, "show --tree")
	contains(t, r.stdout, "messages: 5\n", "show --tree")
	// Two roots (versions of the first question): each a step in. q1's two
	// answers: a step further. q2's one answer: at q2's depth.
	checkShown(t, r.stdout, "active:   "+ids["r2"]+"\n", []string{
		"  [1] . user (" + ids["q1"] + ")\n      q1\n",
		"    [2] . assistant (" + ids["a1"] + ")\n        a1\n",
		"    [3] . assistant (" + ids["a1b"] + ") model m\n        a1b\n",
		"  [4] * user (" + ids["q2"] + ")\n      q2\n",
		"  [5] * assistant (" + ids["r2"] + ") model m\n      r2\n",
	})

	r = runAdvisor(t, env, "conversations", "show", "--tree", "--json", conv)
	mustSucceed(t, r, "show --tree --json")
	var c wire.Conversation
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	parents := map[string]string{}
	for _, m := range c.Messages {
		if m.ParentID != nil {
			parents[m.ID] = *m.ParentID
		}
		if m.Siblings != nil {
			t.Errorf("the tree carries siblings on %s: %v", m.ID, m.Siblings)
		}
	}
	want := map[string]string{ids["a1"]: ids["q1"], ids["a1b"]: ids["q1"], ids["r2"]: ids["q2"]}
	if fmt.Sprint(parents) != fmt.Sprint(want) || c.MessageCount != 5 || c.ActiveMessageID == nil || *c.ActiveMessageID != ids["r2"] {
		t.Errorf("show --tree --json = %s", r.stdout)
	}

	if r := runAdvisor(t, env, "conversations", "show", "--tree", "00000000-0000-0000-0000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("show --tree of an unknown id: %+v", r)
	}
}

// checkShown finds head, then each message in order, in show's output. A
// message is given as its heading and its content lines, the heading
// through collapseTime.
func checkShown(t *testing.T, out, head string, msgs []string) {
	t.Helper()
	at := strings.Index(out, head)
	if at < 0 {
		t.Fatalf("output lacks %q:\n%s", head, out)
	}
	lines := strings.Split(out[at+len(head):], "\n")
	var got []string
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		heading := collapseTime(lines[i])
		block := heading + "\n"
		for i+1 < len(lines) && lines[i+1] != "" {
			i++
			block += lines[i] + "\n"
		}
		got = append(got, block)
	}
	if fmt.Sprint(got) != fmt.Sprint(msgs) {
		t.Errorf("messages shown:\n%q\nwant\n%q\nin:\n%s", got, msgs, out)
	}
}

// collapseTime drops a heading's time, which is the store's, and puts the
// mark after the number, spelt out: "  * [4] 2026-…Z user (…)" (--tree,
// on the active path, depth 1) is "  [4] * user (…)"; "    [1] 2026-…Z
// user" (--tree, off it, depth 1: two spaces of depth, two of blank
// mark) is "  [1] . user"; "[1] 2026-…Z user" (show: every message is on
// the path) is "[1] * user".
func collapseTime(h string) string {
	indent := h[:len(h)-len(strings.TrimLeft(h, " "))]
	rest := h[len(indent):]
	mark := "*"
	switch {
	case strings.HasPrefix(rest, "* "):
		rest = rest[2:]
	case len(indent) >= 2:
		mark, indent = ".", indent[:len(indent)-2]
	}
	num, rest, _ := strings.Cut(rest, " ")
	_, rest, _ = strings.Cut(rest, " ") // the time
	return indent + num + " " + mark + " " + rest
}
