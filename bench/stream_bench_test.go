//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
)

// The streaming benchmarks (issue 11): the whole advisor (HTTP handler,
// generations, store) on the write database, answering
// POST /api/conversations/{id}/chat as SSE from a stub model
// (internal/modelstub) in this process, read by an HTTP client in this
// process. Each chat gets a conversation of its own, so every call sends
// the model the same thread.
//
// "Persistence off" is the advisor with a flush interval of an hour and a
// flush size beyond any reply: no FlushReply happens mid-stream, and the
// reply is stored once, at its end (FinishReply), as before issue 11. It
// is a Config setting, not a code path of its own, so "on" and "off" run
// the same code; flushes/reply shows it is 0.

// streamReply is what the stub streams: a sentence of about 6 bytes a
// token, repeated or cut to the token count asked for.
const streamReply = "Check the UPS runtime before the firmware upgrade, then reboot the NAS and watch the fans."

// Stub rates: 200 tokens/s, a fast local model, and 0, as fast as
// possible. Token counts: a 1 s reply at 200 tokens/s (4 flushes at the
// default 250 ms), and at full speed a reply of about 30 KiB (3 flushes
// at the default 8 KiB).
const (
	paceRate, paceTokens = 200, 200
	fastTokens           = 5_000
)

// chatServer is one advisor with its own stub model.
type chatServer struct {
	o      opened
	url    string
	client *http.Client
}

func rateName(rate float64) string {
	if rate == 0 {
		return "max"
	}
	return strconv.FormatFloat(rate, 'f', -1, 64)
}

func persistName(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// newChatServer starts a stub answering tokens tokens at rate and an
// advisor over it on the write database, with a memory budget for streams
// chats at once; persist false switches the mid-stream flushes off (see
// above). tb's cleanup ends them.
func newChatServer(tb testing.TB, rate float64, tokens int, persist bool, streams int) *chatServer {
	tb.Helper()
	stubH, err := modelstub.NewHandler(modelstub.Options{Reply: streamReply, Tokens: tokens, Rate: rate})
	if err != nil {
		tb.Fatal(err)
	}
	stub := httptest.NewServer(stubH)
	tb.Cleanup(stub.Close)
	model, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: stub.URL + "/v1", APIKey: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	o := open(tb, implStore, writeDB(tb, schemaMigrated))
	o.queries.classify.Store(true)
	srv := httptest.NewUnstartedServer(nil)
	cfg := advisor.Config{
		Store: o.st, Model: model, DefaultModel: "stub-model",
		Addr:   srv.Listener.Addr().String(),
		Logger: slog.New(slog.DiscardHandler),
	}
	// A chat's SSE stream holds a thread read's charge (8 × the content
	// limit) for as long as it lasts, and its generation the content limit
	// (internal/advisor/memory.go): 36 MiB by default, so the default
	// budget of 192 MiB lets 5 chats stream at once and answers the 6th
	// 503. The concurrent benchmark raises it, as --memory-budget would.
	if perChat := int64(9*o.st.MaxContentBytes() + 1<<20); int64(streams)*perChat > advisor.DefaultMemoryBudget {
		cfg.MemoryBudget = int64(streams) * perChat
	}
	if !persist {
		cfg.FlushInterval, cfg.FlushBytes = time.Hour, math.MaxInt
	}
	h, err := advisor.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() { // first: the generations end while the store is open
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		h.Shutdown(ctx)
	})
	tr := &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}
	tb.Cleanup(tr.CloseIdleConnections)
	return &chatServer{o: o, url: srv.URL, client: &http.Client{Transport: tr}}
}

// streamed is one chat's SSE stream as the client saw it.
type streamed struct {
	first, last time.Time   // the first byte of the body, the end of the done event
	tokens      []time.Time // when each token event arrived
	text        string      // the deltas, joined
}

func (s streamed) firstToLast() time.Duration { return s.last.Sub(s.first) }

// chat starts a conversation (untimed) and reads its chat's SSE stream to
// the end. It fails unless the stream ends with done, and the stored reply
// it carries is complete and byte-equal to the deltas.
func (c *chatServer) chat(ctx context.Context) (streamed, error) {
	conv, err := c.o.st.CreateConversation(ctx, "")
	if err != nil {
		return streamed{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/api/conversations/"+conv+"/chat",
		strings.NewReader(`{"content":"How long will the UPS hold the rack?"}`))
	if err != nil {
		return streamed{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		return streamed{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return streamed{}, fmt.Errorf("chat: %d %s", resp.StatusCode, b)
	}
	var (
		s     streamed
		text  strings.Builder
		event string
	)
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := r.ReadBytes('\n') // a done event holds the whole reply
		if s.first.IsZero() && len(line) > 0 {
			s.first = time.Now()
		}
		if err != nil {
			return s, fmt.Errorf("chat: the stream ended before done (%d bytes of text): %w", text.Len(), err)
		}
		line = bytes.TrimRight(line, "\n")
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			data := line[len("data: "):]
			switch event {
			case "token":
				var d struct{ Delta string }
				if err := json.Unmarshal(data, &d); err != nil {
					return s, err
				}
				s.tokens = append(s.tokens, time.Now())
				text.WriteString(d.Delta)
			case "done":
				s.last = time.Now()
				var m struct{ Content, Status string }
				if err := json.Unmarshal(data, &m); err != nil {
					return s, err
				}
				s.text = text.String()
				if m.Status != "complete" || m.Content != s.text {
					return s, fmt.Errorf("chat: stored reply %s, %d bytes, streamed %d", m.Status, len(m.Content), len(s.text))
				}
				_, _ = io.Copy(io.Discard, r)
				return s, nil
			case "error":
				return s, fmt.Errorf("chat: error event %s", data)
			}
		}
	}
}

// BenchmarkChatStream is one chat at a time; ns/op is the client's time
// from the stream's first byte to the end of its done event, persistence
// on and off, with what the reply cost (costMeter). TestPairedRatios
// compares the two sides' times interleaved, which a busy machine cannot
// bias.
func BenchmarkChatStream(b *testing.B) {
	for _, tc := range []struct {
		rate   float64
		tokens int
	}{{paceRate, paceTokens}, {0, fastTokens}} {
		for _, persist := range []bool{false, true} {
			b.Run(fmt.Sprintf("rate=%s/persist=%s", rateName(tc.rate), persistName(persist)), func(b *testing.B) {
				c := newChatServer(b, tc.rate, tc.tokens, persist, 1)
				m := newCostMeter(b, c)
				var total time.Duration
				for range b.N {
					m.start()
					s, err := c.chat(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					m.stop()
					total += s.firstToLast()
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
				m.report(b.N)
			})
		}
	}
}

// BenchmarkChatConcurrent runs 50 chats at once at 200 tokens/s, each on
// its own conversation; one op is the 50 streams (ns/op: until the last
// ends). Each must deliver its whole reply (chat checks). It reports the
// p99 and the largest gap between two token events of one stream as the
// client saw them (the stub sends one every 5 ms), each stream's mean time
// from first to last byte, its token events (fewer than the model's
// tokens when a stream falls behind: the deltas that arrived meanwhile go
// out as one event), and what a reply cost (costMeter).
func BenchmarkChatConcurrent(b *testing.B) {
	const streams = 50
	for _, persist := range []bool{false, true} {
		b.Run(fmt.Sprintf("streams=%d/persist=%s", streams, persistName(persist)), func(b *testing.B) {
			c := newChatServer(b, paceRate, paceTokens, persist, streams)
			m := newCostMeter(b, c)
			var (
				gaps      []time.Duration
				perStream time.Duration
				events    int
			)
			for range b.N {
				results := make([]streamed, streams)
				errs := make([]error, streams)
				m.start()
				var wg sync.WaitGroup
				for i := range streams {
					wg.Go(func() { results[i], errs[i] = c.chat(context.Background()) })
				}
				wg.Wait()
				m.stop()
				for i, s := range results {
					if errs[i] != nil {
						b.Fatalf("stream %d of %d: %v", i+1, streams, errs[i])
					}
					perStream += s.firstToLast()
					events += len(s.tokens)
					for j := 1; j < len(s.tokens); j++ {
						gaps = append(gaps, s.tokens[j].Sub(s.tokens[j-1]))
					}
				}
			}
			replies := b.N * streams
			slices.Sort(gaps)
			b.ReportMetric(millis(gaps[len(gaps)*99/100]), "p99-gap-ms")
			b.ReportMetric(millis(gaps[len(gaps)-1]), "max-gap-ms")
			b.ReportMetric(millis(perStream)/float64(replies), "first-last-ms/stream")
			b.ReportMetric(float64(events)/float64(replies), "token-events/stream")
			m.report(replies)
		})
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// costMeter measures what chats cost between start and stop, and reports
// it per reply: the CPU time of this process (advisor, stub model and
// clients together: getrusage), the CPU time of the PostgreSQL server's
// processes when the server runs on this machine (/proc), the WAL
// written, and the store's statements (reportPerReply). It makes one
// untimed chat first, to warm connections and statement caches, and
// stops b's timer outside start … stop.
type costMeter struct {
	b   *testing.B
	c   *chatServer
	mon *pgx.Conn
	cpu time.Duration
	pg  *pgCPU
	wal float64
	// at start
	cpu0 time.Duration
	lsn  string
}

func newCostMeter(b *testing.B, c *chatServer) *costMeter {
	ctx := context.Background()
	pg := newPGCPU(b, writeDB(b, schemaMigrated))
	if _, err := c.chat(ctx); err != nil {
		b.Fatal(err)
	}
	c.o.queries.reset()
	b.StopTimer()
	b.ResetTimer()
	return &costMeter{b: b, c: c, mon: pg.mon, pg: pg}
}

func (m *costMeter) start() {
	ctx := context.Background()
	m.pg.start()
	var lsn string
	if err := m.mon.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		m.b.Fatal(err)
	}
	m.lsn = lsn
	m.cpu0 = processCPU()
	m.b.StartTimer()
}

func (m *costMeter) stop() {
	m.b.StopTimer()
	ctx := context.Background()
	m.cpu += processCPU() - m.cpu0
	m.pg.stop()
	var w float64
	if err := m.mon.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8", m.lsn).Scan(&w); err != nil {
		m.b.Fatal(err)
	}
	m.wal += w
}

func (m *costMeter) report(replies int) {
	n := float64(replies)
	m.b.ReportMetric(millis(m.cpu)/n, "cpu-ms/reply")
	m.pg.reportMillis(replies, "pg-cpu-ms/reply")
	m.b.ReportMetric(m.wal/n, "WAL-B/reply")
	reportPerReply(m.b, m.c.o, replies)
}

// reportPerReply reports the statements of the store per chat (one user
// message and its reply), the writes among them and the flushes.
// CreateConversation's own statement is left out.
func reportPerReply(b *testing.B, o opened, replies int) {
	n := float64(replies)
	b.ReportMetric(float64(o.queries.n.Load()-int64(replies))/n, "stmts/reply")
	b.ReportMetric(float64(o.queries.writes.Load()-int64(replies))/n, "writes/reply")
	b.ReportMetric(float64(o.queries.flushes.Load())/n, "flushes/reply")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgServerCPU is the CPU time so far of each PostgreSQL server process
// (backends and background workers, from pg_stat_activity, the monitor's
// own backend left out), read from /proc; false when the server is not on
// this machine or /proc cannot be read.
func pgServerCPU(ctx context.Context, mon *pgx.Conn) (map[int]time.Duration, bool) {
	rows, err := mon.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
	if err != nil {
		return nil, false
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		return nil, false
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		d, err := procCPU(int(pid))
		if err != nil {
			continue // exited meanwhile
		}
		out[int(pid)] = d
	}
	return out, len(out) > 0
}

// procCPU reads utime + stime of a process from /proc/PID/stat, in clock
// ticks of 1/100 s (USER_HZ on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// pgCPU adds up the PostgreSQL server's CPU time (pgServerCPU) over one
// or more start … stop intervals, through a monitor connection of its
// own; b's cleanup closes it. Its per-operation figure is what
// docs/scaling.md extrapolates from: operations per second of one core
// are 1 s ÷ the server CPU of one operation.
type pgCPU struct {
	b     *testing.B
	mon   *pgx.Conn
	known bool // every interval could read the server's processes
	total time.Duration
	at    map[int]time.Duration // at the last start
}

func newPGCPU(b *testing.B, dsn string) *pgCPU {
	mon, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mon.Close(context.Background()) })
	return &pgCPU{b: b, mon: mon, known: true}
}

func (p *pgCPU) start() {
	at, ok := pgServerCPU(context.Background(), p.mon)
	p.at, p.known = at, p.known && ok
}

func (p *pgCPU) stop() {
	now, ok := pgServerCPU(context.Background(), p.mon)
	p.known = p.known && ok
	p.total += cpuDelta(p.at, now)
}

// report reports the server's CPU per operation in µs, reportMillis in ms;
// neither reports anything when the server is not on this machine.
func (p *pgCPU) report(n int, unit string) {
	if p.known {
		p.b.ReportMetric(float64(p.total)/float64(time.Microsecond)/float64(n), unit)
	}
}

func (p *pgCPU) reportMillis(n int, unit string) {
	if p.known {
		p.b.ReportMetric(millis(p.total)/float64(n), unit)
	}
}

// cpuDelta is the CPU the processes of after used since before; one that
// started in between counts from zero.
func cpuDelta(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}
