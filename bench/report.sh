#!/usr/bin/env bash
# report.sh BENCH_OUTPUT: the benchstat tables docs/performance.md shows,
# as Markdown. Every ratio is from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
in=$1
bs() { go tool benchstat "$@" "$in"; }
section() { printf '\n#### %s\n\n```\n' "$1"; shift; bs "$@"; printf '```\n'; }

section "Repository (store) against the hand-written pgx baseline" \
	-col '/impl@(baseline store)' -filter '-.name:ExecMode -.name:/^Chat/'
section "GetConversation against the baseline plus an index on messages(conversation_id)" \
	-col '/impl@(baseline-idx store)' -filter '.name:GetConversation'
section "ListConversations, 10k against 100k conversations (store)" \
	-col /convs -filter '.name:ListConversations /impl:store'
section "First page against page 900 of the 100k listing" \
	-col /page -filter '.name:ListConversationsPage'
section "Statement cache (default) against exec mode, for PgBouncer (store)" \
	-col /mode -filter '.name:ExecMode'
section "Chat SSE, one at a time: first to last byte (ns/op) and cost per reply, persistence off against on" \
	-col '/persist@(off on)' -filter '.name:ChatStream'
section "50 chats at once at 200 tokens/s, persistence off against on" \
	-col '/persist@(off on)' -filter '.name:ChatConcurrent'
