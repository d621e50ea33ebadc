// Command scaletest replays the load of a chat server against a real
// PostgreSQL and measures what storewrap saves.
//
// Every chat turn reads the enabled model providers, the chat's model
// config, the default model config and the user's custom prompt, then
// inserts a message. scaletest runs the same load three times on one
// seeded database: through the plain generated Querier, through storewrap,
// and making only each turn's write, which is the limit that a perfect
// cache approaches. It prints, for each hot read, the database calls
// without and with the cache, the floor and the reduction, then the turns
// per second and the p50 and p99 turn latency of the three runs. Calls are
// counted at the database boundary, by the sqlc query name, never by the
// cache. The floor is the fewest calls that a cache with storewrap's
// default TTLs could make for the reads of the cached run: per key, one
// per TTL window that a read opened, and one after each invalidation.
//
// With -replicas N the cached run goes through N decorators, each with its
// own LISTEN connection, while an admin goroutine changes providers, model
// configs and prompts through the first one. Every hot read is checked
// against the value the database held when the read started, and the
// report adds the number of reads checked, the stale reads and the longest
// staleness.
//
// Without -dsn, scaletest starts a throwaway PostgreSQL from the local
// binaries and removes it on exit, also on SIGINT and SIGTERM.
//
// Usage:
//
//	go run ./examples/scaletest [flags]
//
// Run it with -help for the flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run parses args, runs the three loads and writes the report to stdout.
// Progress and usage go to stderr. It returns an error for invalid flags,
// for any failed query, and when a run did not write one message per turn.
// -help prints the usage and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	rep, err := runAll(ctx, cfg, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("scaletest: interrupted: %w", err)
		}
		return err
	}

	if cfg.json {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout, cfg)
}
