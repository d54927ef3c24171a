//go:build integration

package advisor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
)

// dashboardFile is the Grafana dashboard over the metrics (deploy/).
const dashboardFile = "../../deploy/grafana-advisor.json"

// newMetricsFixture is a fixture whose store reports to the server's
// Metrics, as `advisor serve` wires them.
func newMetricsFixture(t *testing.T, edit func(*advisor.Config)) *fixture {
	t.Helper()
	m := advisor.NewMetrics()
	return newFixture(t, func(c *advisor.Config) {
		c.Metrics = m
		if edit != nil {
			edit(c)
		}
	}, m.StoreOption())
}

// TestDashboardQueriesNameRealMetrics: every metric and label that the
// dashboard's PromQL names exists in /metrics after a chat has run against
// a real server on a real database, so a panel over a renamed or missing
// metric fails here rather than showing "No data".
func TestDashboardQueriesNameRealMetrics(t *testing.T) {
	t.Parallel()
	exprs := dashboardExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has %d queries; it did not parse as expected", len(exprs))
	}
	f := newMetricsFixture(t, nil)
	id := f.create()
	if r := f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"hello"}`); r.status != http.StatusOK {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	f.do("GET", "/api/conversations/"+id, "")
	// A request is counted once its handler returns, just after its
	// answer reached the client: scrape until the condition holds.
	var problems []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		exp := parseExposition(t, f.scrape())
		problems = nil
		for _, e := range exprs {
			problems = append(problems, checkQuery(e, exp)...)
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCheckQueryCatchesMissingNames: the dashboard's check finds a metric,
// a matcher's label and a grouping label that the server does not expose,
// and a query it cannot read a metric from.
func TestCheckQueryCatchesMissingNames(t *testing.T) {
	t.Parallel()
	exp := parseExposition(t, `# HELP x
advisor_http_requests_total{code="200",route="GET /api/config"} 3
advisor_store_operation_duration_seconds_bucket{operation="add message",le="0.001"} 1
advisor_store_operation_duration_seconds_count{operation="add message"} 1
go_goroutines 9
`)
	for _, tc := range []struct {
		expr string
		want string // "" no problem; else a substring of one of them
	}{
		{`sum by (route, code) (rate(advisor_http_requests_total{instance=~"$instance"}[$__rate_interval]))`, ""},
		{`histogram_quantile(0.95, sum by (le, operation) (rate(advisor_store_operation_duration_seconds_bucket[5m])))`, ""},
		{`go_goroutines{job="advisor"} > bool 10`, ""},
		{`label_values(advisor_http_requests_total, instance)`, ""},
		{`sum(rate(advisor_no_such_metric_total[5m]))`, `metric advisor_no_such_metric_total`},
		{`advisor_http_requests_total{path="/api/x"}`, `label path`},
		{`sum by (status) (rate(advisor_http_requests_total[5m]))`, `label status`},
		{`histogram_quantile(0.9, sum by (le) (rate(advisor_http_requests_total_bucket[5m])))`, `metric advisor_http_requests_total_bucket`},
		{`sum(rate({route="x"}[5m]))`, `names no metric`},
		{`label_values(advisor_gone, instance)`, `metric advisor_gone`},
	} {
		got := checkQuery(tc.expr, exp)
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%s: %q, want no problem", tc.expr, got)
		case tc.want != "" && !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tc.want) }):
			t.Errorf("%s: %q, want a problem about %q", tc.expr, got, tc.want)
		}
	}
}

// TestMetricsToken: /metrics takes the API's token when one is set (as
// `advisor serve` requires beyond loopback), and is open without one.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, auth string
		want              int
	}{
		{"no token configured", "", "", http.StatusOK},
		{"token configured, none sent", "s3cret-token", "", http.StatusUnauthorized},
		{"token configured, wrong one", "s3cret-token", "Bearer nope", http.StatusUnauthorized},
		{"token configured, sent", "s3cret-token", "Bearer s3cret-token", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newMetricsFixture(t, func(c *advisor.Config) { c.Token = tc.token })
			r := f.do("GET", "/metrics", "", "Authorization", tc.auth)
			if r.status != tc.want {
				t.Fatalf("GET /metrics: %d %s, want %d", r.status, r.body, tc.want)
			}
			if body := string(r.body); tc.want == http.StatusOK && !strings.Contains(body, "go_sql_max_open_connections") {
				t.Errorf("no pool statistics in /metrics:\n%s", body)
			}
			if strings.Contains(string(r.body), tc.token) && tc.token != "" {
				t.Error("the token appears in /metrics")
			}
		})
	}
}

// TestMetricsLabelsBounded: a request is counted under the pattern that
// routed it, never its path, so conversation ids and made-up paths add no
// series: unknown API paths are "/api/" (the API's catch-all), unknown
// pages "unmatched", and a request refused before routing is its outer
// pattern.
func TestMetricsLabelsBounded(t *testing.T) {
	t.Parallel()
	f := newMetricsFixture(t, nil)
	ids := []string{f.create(), f.create()}
	for _, id := range ids {
		if r := f.do("GET", "/api/conversations/"+id, ""); r.status != http.StatusOK {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
	}
	f.do("GET", "/api/conversations/00000000-0000-0000-0000-00000000beef", "")
	f.do("GET", "/api/no-such-thing-123", "")
	f.do("GET", "/no/such/page-456", "")
	f.do("GET", "/api/conversations", "", "Host", "evil.example:1")

	want := map[string]float64{
		`advisor_http_requests_total{code="201",route="POST /api/conversations"}`:     2,
		`advisor_http_requests_total{code="200",route="GET /api/conversations/{id}"}`: 2,
		`advisor_http_requests_total{code="404",route="GET /api/conversations/{id}"}`: 1,
		`advisor_http_requests_total{code="404",route="/api/"}`:                       1,
		`advisor_http_requests_total{code="403",route="/api/"}`:                       1,
	}
	var body string
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		body = f.scrape()
		exp := parseExposition(t, body)
		missing = nil
		for series, n := range want {
			if got, ok := exp.values[series]; !ok || got != n {
				missing = append(missing, fmt.Sprintf("%s = %v (present %v), want %v", series, got, ok, n))
			}
		}
		if _, ok := exp.values[`advisor_store_operation_duration_seconds_count{operation="read conversation"}`]; !ok {
			missing = append(missing, "no store operation read conversation")
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Error(m)
	}
	if !strings.Contains(body, `route="unmatched"`) {
		t.Error(`the unknown page is not counted under route "unmatched"`)
	}
	for _, s := range append(ids, "beef", "no-such-thing", "page-456", "evil.example") {
		if strings.Contains(body, s) {
			t.Errorf("/metrics contains %q from a request's path or Host", s)
		}
	}
}

// TestGenerationMetrics: a reply counts as started and in flight while it
// runs, and as finished under how it ended, with its duration, its time to
// first token and the tokens the model reported. The counts are updated
// before the reply's end is answered, so each step reads them at once.
func TestGenerationMetrics(t *testing.T) {
	t.Parallel()
	f := newMetricsFixture(t, nil)
	id := f.create()
	chat := func(content string) { f.do("POST", "/api/conversations/"+id+"/chat", `{"content":"`+content+`"}`) }
	var stream *sseReader
	for _, step := range []struct {
		name string
		run  func()
		want map[string]float64 // series: value, cumulative over the steps
	}{
		{"complete", func() { chat("hello there") }, map[string]float64{
			`advisor_generations_started_total`:                                        1,
			`advisor_generations_in_flight`:                                            0,
			`advisor_generations_finished_total{status="complete"}`:                    1,
			`advisor_generation_duration_seconds_count{status="complete"}`:             1,
			`advisor_generation_first_token_seconds_count`:                             1,
			`advisor_model_tokens_total{direction="out"}`:                              3, // "echo: hello there", words
			`advisor_store_operation_duration_seconds_count{operation="start chat"}`:   1,
			`advisor_store_operation_duration_seconds_count{operation="finish reply"}`: 1,
		}},
		{"failed", func() { f.stub.SetMode(modelstub.Fail500); chat("again") }, map[string]float64{
			`advisor_generations_started_total`:                   2,
			`advisor_generations_in_flight`:                       0,
			`advisor_generations_finished_total{status="failed"}`: 1,
			`advisor_generation_first_token_seconds_count`:        1, // no text, no first token
		}},
		{"in flight", func() {
			f.stub.SetMode(modelstub.HoldMidStream)
			stream = f.openStream(context.Background(), "/api/conversations/"+id+"/chat", `{"content":"hold on"}`)
			for ev, ok := stream.next(); ev.name != "token"; ev, ok = stream.next() {
				if !ok {
					t.Fatal("stream ended before the first token")
				}
			}
		}, map[string]float64{
			`advisor_generations_started_total`:            3,
			`advisor_generations_in_flight`:                1,
			`advisor_generation_first_token_seconds_count`: 2,
		}},
		{"stopped", func() {
			if r := f.do("POST", "/api/conversations/"+id+"/stop", `{}`); r.status != http.StatusOK {
				t.Fatalf("stop: %d %s", r.status, r.body)
			}
			stream.all()
		}, map[string]float64{
			`advisor_generations_in_flight`:                               0,
			`advisor_generations_finished_total{status="stopped"}`:        1,
			`advisor_generation_duration_seconds_count{status="stopped"}`: 1,
			`advisor_generations_finished_total{status="complete"}`:       1,
		}},
	} {
		step.run()
		exp := parseExposition(t, f.scrape())
		for series, want := range step.want {
			if got, ok := exp.values[series]; !ok || got != want {
				t.Errorf("after %s: %s = %v (present %v), want %v", step.name, series, got, ok, want)
			}
		}
	}
}

// scrape is GET /metrics' body.
func (f *fixture) scrape() string {
	f.t.Helper()
	r := f.do("GET", "/metrics", "")
	if r.status != http.StatusOK {
		f.t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	return string(r.body)
}

// dashboardExprs are the PromQL of every panel's targets (rows' nested
// panels too) and of the template variables' queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string                  `json:"title"`
		Targets []struct{ Expr string } `json:"targets"`
		Panels  []json.RawMessage       `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: panel: %v", dashboardFile, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q has a target without a query", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("%s: template variable query: %v", dashboardFile, err)
		}
		exprs = append(exprs, q.Query)
	}
	return exprs
}

// exposition is a scrape: each sample name's label names, and each
// series' value by its text (name{a="x",b="y"}, labels sorted).
type exposition struct {
	labels map[string]map[string]bool
	values map[string]float64
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func parseExposition(t *testing.T, text string) exposition {
	t.Helper()
	exp := exposition{labels: map[string]map[string]bool{}, values: map[string]float64{}}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("exposition line %q", line)
		}
		name := m[1]
		if exp.labels[name] == nil {
			exp.labels[name] = map[string]bool{}
		}
		var pairs []string
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			exp.labels[name][p[1]] = true
			pairs = append(pairs, p[1]+`="`+p[2]+`"`)
		}
		slices.Sort(pairs)
		series := name
		if len(pairs) > 0 {
			series += "{" + strings.Join(pairs, ",") + "}"
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		exp.values[series] = v
	}
	return exp
}

// targetLabels are added by Prometheus at scrape time, so no /metrics
// carries them.
var targetLabels = map[string]bool{"instance": true, "job": true}

// checkQuery lists what expr names that exp lacks: a metric, a label in a
// metric's matchers that the metric lacks, or a grouping label (by,
// without, on, ignoring) that none of expr's metrics has. A query it reads
// no metric from is a problem too, so a parse gone wrong cannot pass.
func checkQuery(expr string, exp exposition) []string {
	sels, grouping := promqlRefs(expr)
	var problems []string
	if len(sels) == 0 {
		return []string{fmt.Sprintf("%s: names no metric", expr)}
	}
	for _, s := range sels {
		if s.metric == "" {
			problems = append(problems, fmt.Sprintf("%s: a selector names no metric", expr))
			continue
		}
		have, ok := exp.labels[s.metric]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: metric %s is not in /metrics", expr, s.metric))
			continue
		}
		for _, l := range s.labels {
			if !have[l] && !targetLabels[l] {
				problems = append(problems, fmt.Sprintf("%s: label %s is not on %s", expr, l, s.metric))
			}
		}
	}
	for _, l := range grouping {
		found := targetLabels[l]
		for _, s := range sels {
			found = found || exp.labels[s.metric][l]
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: label %s is on none of its metrics", expr, l))
		}
	}
	return problems
}

// selector is a metric a query reads and the labels its matchers name.
type selector struct {
	metric string
	labels []string
}

var (
	promToken = regexp.MustCompile(`\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`" +
		`|\[[^\]]*\]|\$\{[^}]*\}|\$\w+|[a-zA-Z_:][a-zA-Z0-9_:]*|[0-9][0-9.eE+]*[a-z]*|=~|!~|!=|==|>=|<=|.`)
	promIdent      = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promAggregator = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
		"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true}
	promKeyword  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true, "Inf": true, "NaN": true}
	promGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	labelValues  = regexp.MustCompile(`^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)
)

// promqlRefs reads the metrics, their matchers' labels and the grouping
// labels from a PromQL expression, or from Grafana's label_values(metric,
// label). It is a tokenizer, not a parser: enough for the dashboard's
// queries (strings, ranges and Grafana's $variables are skipped whole).
func promqlRefs(expr string) (sels []selector, grouping []string) {
	if m := labelValues.FindStringSubmatch(expr); m != nil {
		return []selector{{metric: m[1], labels: []string{m[2]}}}, nil
	}
	var toks []string
	for _, tok := range promToken.FindAllString(expr, -1) {
		if strings.TrimSpace(tok) != "" {
			toks = append(toks, tok)
		}
	}
	next := func(i int) string {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return ""
	}
	// matchers reads {label op value, ...} from toks[i] == "{" and returns
	// the labels and the index of the "}".
	matchers := func(i int) ([]string, int) {
		var labels []string
		for i++; i < len(toks) && toks[i] != "}"; i++ {
			if promIdent.MatchString(toks[i]) && slices.Contains([]string{"=", "!=", "=~", "!~"}, next(i)) {
				labels = append(labels, toks[i])
			}
		}
		return labels, i
	}
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		switch {
		case tok == "{":
			var s selector
			s.labels, i = matchers(i)
			sels = append(sels, s)
		case !promIdent.MatchString(tok) || promKeyword[tok]:
		case promGrouping[tok]:
			if next(i) == "(" {
				for i += 2; i < len(toks) && toks[i] != ")"; i++ {
					if promIdent.MatchString(toks[i]) {
						grouping = append(grouping, toks[i])
					}
				}
			}
		case next(i) == "(" || promAggregator[tok]: // a function or an aggregation
		default:
			s := selector{metric: tok}
			if next(i) == "{" {
				s.labels, i = matchers(i + 1)
			}
			sels = append(sels, s)
		}
	}
	return sels, grouping
}
