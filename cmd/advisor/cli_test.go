//go:build integration

package main

import (
	"strings"
	"testing"
)

// TestHelpAndUsageStreams: help (asked for) goes to stdout; a usage
// mistake goes to stderr only, names the mistake and shows the usage, so
// that `advisor … | tool` never feeds an error to the tool.
func TestHelpAndUsageStreams(t *testing.T) {
	t.Parallel()
	env := dbEnv("postgres://nobody@127.0.0.1:1/none")
	cases := []struct {
		args   []string
		code   int
		stdout string // substring of stdout; "" means stdout is empty
		stderr string // substring of stderr; "" means stderr is empty
	}{
		{[]string{"help"}, 0, "advisor [command]", ""},
		{[]string{"--help"}, 0, "advisor [command]", ""},
		{[]string{"migrate", "help"}, 0, "advisor migrate [command]", ""},
		{[]string{"help", "migrate"}, 0, "advisor migrate [command]", ""},
		{[]string{"migrate", "help", "apply"}, 0, "--baseline", ""},
		{[]string{"help", "migrate", "apply"}, 0, "--baseline", ""},
		{[]string{"conversations", "help", "ls"}, 0, "--url", ""}, // the group's flag, shown on its subcommand
		{[]string{"completion", "bash"}, 0, "__advisor", ""},
		{[]string{"__complete", "migrate", "help", ""}, 0, "status", "Completion ended"}, // what the script asks
		{nil, 2, "", "missing command"},
		{[]string{"migrate"}, 2, "", "advisor migrate [command]"},
		{[]string{"migrat"}, 2, "", `did you mean "migrate"`},
		{[]string{"migrate", "frobnicate"}, 2, "", `unknown migrate subcommand "frobnicate"`},
		{[]string{"migrate", "apply", "--no-such-flag"}, 2, "", "unknown flag: --no-such-flag"},
		{[]string{"migrate", "diff"}, 2, "", "needs exactly one NAME"},
		{[]string{"help", "frobnicate"}, 2, "", `unknown help topic "frobnicate"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runAdvisor(t, env, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			for _, s := range []struct{ name, got, want string }{{"stdout", r.stdout, tc.stdout}, {"stderr", r.stderr, tc.stderr}} {
				if s.want == "" && s.got != "" || !strings.Contains(s.got, s.want) {
					t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
				}
			}
		})
	}
}

// TestInterspersedFlags: flags may come before or after the arguments,
// and a group's flag before its subcommand.
func TestInterspersedFlags(t *testing.T) {
	t.Parallel()
	url, ids := seeded(t)
	for _, args := range [][]string{
		{"conversations", "show", ids[0], "--json", "--url", url},
		{"conversations", "show", "--json", ids[0], "--url", url},
		{"conversations", "--url", url, "show", "--json", ids[0]},
		{"conversations", "show", "--url=" + url, ids[0], "--json"},
	} {
		r := runAdvisor(t, nil, args...)
		mustSucceed(t, r, strings.Join(args, " "))
		contains(t, r.stdout, `"id": "`+ids[0]+`"`, strings.Join(args, " "))
	}
}
