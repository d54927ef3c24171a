package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Cobra's defaults differ from this command's documented behaviour; the
// mapping lives here:
//   - a usage mistake (unknown command, unknown flag, wrong arguments)
//     exits 2, not 1: flag errors go through flagError, argument errors
//     through usageArgs, and groups handle unknown subcommands (runGroup);
//   - a bare group (`advisor`, `advisor migrate`) is a usage error listing
//     its subcommands, not help with exit 0;
//   - `help` works under every group (`advisor migrate help`) as well as at
//     the top (`advisor help migrate`), and an unknown topic exits 2.
//
// Cobra adds `advisor completion bash|zsh|fish|powershell` on its own.

// serveFunc is what `advisor serve` runs once its options are complete:
// runServe, or a test's capture.
type serveFunc func(ctx context.Context, e env, o serveOptions) error

func newRootCmd(e env, serve serveFunc) *cobra.Command {
	root := newGroup(&cobra.Command{
		Use:   "advisor",
		Short: "The lab advisor: an LLM chat whose history lives in PostgreSQL",
		Long: `The lab advisor: an LLM chat whose history lives in PostgreSQL.

Results go to stdout; messages, logs and progress to stderr, with every
database password masked. Exit codes: 0 done, 1 failed, 2 wrong usage.
Shell completion: source <(advisor completion bash), or zsh, fish, powershell.`,
		SilenceErrors: true, // main prints the (masked) error once
		SilenceUsage:  true,
	}, newServeCmd(e, serve), newMigrateCmd(e), newConversationsCmd(e), newDevModelCmd(e))
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	// A group runs (runGroup) only to report a usage mistake: its usage
	// shows "advisor migrate [command]", not a line of its own.
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(),
		"{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	return root
}

// execute runs the command line args on root.
func execute(ctx context.Context, root *cobra.Command, args []string) error {
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	root.InitDefaultCompletionCmd(args...)
	usageArgs(root)
	return root.ExecuteContext(ctx)
}

// newGroup makes c a command that only holds subcommands, with a help
// subcommand of its own.
func newGroup(c *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs // so that runGroup sees an unknown subcommand
	c.RunE = runGroup
	help := newHelpCmd()
	c.AddCommand(append(subs, help)...)
	c.SetHelpCommand(help) // at the top, instead of cobra's (which exits 0 on an unknown topic)
	return c
}

// runGroup runs when no subcommand matched: none given, or an unknown one.
func runGroup(c *cobra.Command, args []string) error {
	what := "command"
	if c.HasParent() {
		what = c.Name() + " subcommand"
	}
	if len(args) == 0 {
		return usagef("missing %s\n\n%s", what, c.UsageString())
	}
	hint := ""
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usagef("unknown %s %q%s\n\n%s", what, args[0], hint, c.UsageString())
}

// newHelpCmd is `help [command]` under a group: help on the group itself or
// on one of its commands, on stdout.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			if target, rest, err := c.Parent().Find(args); err == nil && len(rest) == 0 {
				for _, sub := range target.Commands() {
					if sub.IsAvailableCommand() {
						names = append(names, sub.Name())
					}
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Parent().Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("unknown help topic %q\n\n%s", strings.Join(args, " "), c.Parent().UsageString())
			}
			target.InitDefaultHelpFlag() // as --help would: list it
			return target.Help()
		},
	}
}

func flagError(c *cobra.Command, err error) error {
	return usagef("%v\nRun '%s --help' for usage.", err, c.CommandPath())
}

// usageArgs makes every argument error of c and its subcommands a usage
// error: ours (noArgs, exactlyOne) and those of cobra's own commands
// (completion), whose group it also makes behave as ours.
func usageArgs(c *cobra.Command) {
	if !c.Runnable() && c.HasSubCommands() {
		// cobra's completion: a bare or unknown subcommand would show
		// help and exit 0.
		c.Args, c.RunE = cobra.ArbitraryArgs, runGroup
	}
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usagef("%v\nRun '%s --help' for usage.", err, c.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", c.CommandPath(), args)
	}
	return nil
}

// exactlyOne accepts one non-empty argument, named what in the error.
func exactlyOne(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 || args[0] == "" {
			return fmt.Errorf("%s needs exactly one %s", c.CommandPath(), what)
		}
		return nil
	}
}
