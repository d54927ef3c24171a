package main

import (
	"errors"
	"net"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/modelstub"
)

const devModelLong = `A stand-in model for trying the advisor without a GPU: an OpenAI-compatible
chat-completions endpoint that streams an echo of the last user message (or a
canned or numbered reply) at a chosen rate, with the usage chunk when asked
(stream_options.include_usage). Point the advisor at it:

  advisor dev-model &
  ADVISOR_MODEL_URL=http://127.0.0.1:8081/v1 ADVISOR_MODEL=stub make run

It runs until Ctrl-C (SIGINT) or SIGTERM.`

func newDevModelCmd(e env) *cobra.Command {
	var (
		addr string
		opts modelstub.Options
	)
	c := &cobra.Command{
		Use:   "dev-model",
		Short: "Serve a stand-in OpenAI-compatible model that streams at a chosen rate",
		Long:  devModelLong,
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usagef("--addr %q: want host:port", addr)
			}
			if err := opts.Validate(); err != nil {
				return usagef("%v", err)
			}
			opts.Logger = newLogger(e)
			err := modelstub.ListenAndServe(c.Context(), addr, opts)
			if errors.Is(err, c.Context().Err()) {
				return nil
			}
			return err
		},
	}
	fs := c.Flags()
	fs.StringVar(&addr, "addr", modelstub.DefaultAddr, "listen address")
	fs.Float64Var(&opts.Rate, "rate", modelstub.DefaultRate, "tokens per second, 0 = as fast as possible")
	fs.StringVar(&opts.Reply, "reply", "", "answer every message with this text (default: echo it)")
	fs.BoolVar(&opts.Numbered, "numbered", false, `answer "1 2 3 … N", N from --tokens`)
	fs.IntVar(&opts.Tokens, "tokens", 0, "reply length in tokens: repeat or cut the reply (0 = as it is)")
	fs.StringVar(&opts.Model, "model", "", "model name the answers report (default: the one asked for)")
	return c
}
