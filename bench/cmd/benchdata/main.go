// Command benchdata loads the benchmark data set (package benchdata) into a
// database, with a progress bar:
//
//	go run ./bench/cmd/benchdata --url postgres://… --schema migrated
//
// --schema migrated applies the embedded migrations first, original runs
// the original schema's (v1) DDL that the baseline uses (package baseline),
// existing uses the tables already there.
// The URL may also come from HWLAB_DATABASE_URL; it is never printed.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/schollz/progressbar/v3"

	"git.georgsen.dk/hwlab/bench/baseline"
	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/migrate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchdata:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchdata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", getenv("HWLAB_DATABASE_URL"), "database URL (default $HWLAB_DATABASE_URL)")
	schema := fs.String("schema", "existing", "migrated | original | existing")
	convs := fs.Int("conversations", 100_000, "conversations to load")
	per := fs.Int("messages", 10, "messages per conversation")
	threads := fs.Bool("threads", true, "also load threads of 2, 100 and 10000 messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("no --url and no HWLAB_DATABASE_URL")
	}
	if *schema != "migrated" && *schema != "original" && *schema != "existing" {
		return fmt.Errorf("--schema %q: want migrated, original or existing", *schema)
	}
	cfg, err := pgx.ParseConfig(*url)
	if err != nil {
		return err // pgx redacts the password
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	switch *schema {
	case "migrated":
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		if err := migrateDB(ctx, db); err != nil {
			return err
		}
	case "original":
		for _, q := range baseline.Schema {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
	}

	spec := benchdata.Spec{Conversations: *convs, MessagesPer: *per}
	if *threads {
		spec.Threads = []int{2, 100, 10_000}
	}
	// The bar is made once Load knows the total: a bar of unknown length
	// (-1) animates from a goroutine of its own that reads the bar's state
	// without its lock, a data race (progressbar v3.19.1, NewOptions64).
	var bar *progressbar.ProgressBar
	spec.Progress = func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription("loading rows"),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = bar.Set64(done)
	}
	start := time.Now()
	if err := benchdata.Load(ctx, conn, spec); err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	fmt.Fprintf(stderr, "loaded %d conversations of %d messages (+ threads %v) in %s\n",
		*convs, *per, spec.Threads, time.Since(start).Round(time.Millisecond))
	return nil
}

func migrateDB(ctx context.Context, db *sql.DB) error {
	_, err := migrate.Apply(ctx, db, migrate.Options{})
	return err
}
