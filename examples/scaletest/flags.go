package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
)

// defaultConcurrency is the default of -concurrency. On a 2-core machine
// that runs both this program and PostgreSQL, more turns in flight add
// latency but no throughput; see the -concurrency help.
const defaultConcurrency = 8

// defaultReplicaAdminRate is the -admin-rate used when -replicas is more
// than 1 and -admin-rate is not given: enough changes for every kind of
// invalidation to cross replicas many times in a run of a few seconds.
const defaultReplicaAdminRate = 10

// errHelp is returned by parseFlags after it printed the usage for -help.
var errHelp = errors.New("scaletest: help requested")

// config is the load shape and the options of one scaletest invocation.
type config struct {
	chats       int
	turns       int
	users       int
	models      int
	concurrency int
	dsn         string
	json        bool
	seed        uint64
	replicas    int
	adminRate   float64 // admin changes per second during the cached run
}

// totalTurns returns the number of turns in one run.
func (c *config) totalTurns() int {
	return c.chats * c.turns
}

// checksCoherence reports whether the cached run checks every hot read
// against the database's committed versions.
func (c *config) checksCoherence() bool {
	return c.replicas > 1 || c.adminRate > 0
}

// parseFlags parses args into a config. It prints the usage to stderr and
// returns errHelp for -help.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("scaletest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usageHeader, configTTL, userPromptTTL)
		fs.PrintDefaults()
	}

	fs.IntVar(&cfg.chats, "chats", 5000, "number of concurrent chats in each run")
	fs.IntVar(&cfg.turns, "turns", 10, "number of turns of each chat")
	fs.IntVar(&cfg.users, "users", 500,
		"number of users the chats belong to; about 1 in 5 has a custom prompt")
	fs.IntVar(&cfg.models, "models", 8,
		"number of model configs the chats use; the first is the default")
	fs.IntVar(&cfg.concurrency, "concurrency", defaultConcurrency,
		"maximum number of turns in flight, which is also the size of the connection\n"+
			"pool. Measured on 2 cores shared with PostgreSQL, throughput stops growing\n"+
			"near 8 and latency grows beyond it. scaletest opens up to -concurrency +\n"+
			"-replicas + 3 connections: with -dsn, keep that below the server's\n"+
			"max_connections (100 by default)")
	fs.StringVar(&cfg.dsn, "dsn", "",
		"connection string of an existing PostgreSQL server, as a postgres:// URL or\n"+
			"key=value pairs, for a role that may create databases. scaletest creates a\n"+
			"fresh database there and drops it on exit. Empty means start a throwaway\n"+
			"server from the local PostgreSQL binaries")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object instead of the table, and no progress bar")
	fs.Uint64Var(&cfg.seed, "seed", 1,
		"seed of the random assignment of users and model configs to chats,\n"+
			"and of the admin's changes")
	fs.IntVar(&cfg.replicas, "replicas", 1,
		"number of storewrap decorators in the cached run, each with its own\n"+
			"listener for other replicas' invalidations when there are more than one")
	fs.Float64Var(&cfg.adminRate, "admin-rate", 0,
		"admin changes per second to providers, model configs and prompts during the\n"+
			"cached run; with a nonzero rate or more than one replica, every hot read is\n"+
			fmt.Sprintf("checked for staleness (default 0 with -replicas 1, %d otherwise)",
				defaultReplicaAdminRate))

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, fmt.Errorf("scaletest: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("scaletest: unexpected argument %q: every option is a flag, see -help",
			fs.Arg(0))
	}

	adminRateSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "admin-rate" {
			adminRateSet = true
		}
	})
	if !adminRateSet && cfg.replicas > 1 {
		cfg.adminRate = defaultReplicaAdminRate
	}

	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// usageHeader is the text before the flags in the usage. Its verbs take
// the config and prompt TTLs.
const usageHeader = `Usage: scaletest [flags]

scaletest replays a chat server's load on PostgreSQL three times: through the
plain generated Querier, through storewrap, and making only each turn's write.
It prints the database calls of each hot read without and with the cache, the
floor, and the turns per second and p50 and p99 turn latency of each run. The
floor is the fewest calls that a cache with storewrap's default TTLs (%v, and
%v for prompts) could make for the reads of the cached run: per key, one per
TTL window that a read opened, and one after each invalidation that a later
read follows. A turn's latency is measured from the moment it gets one of the
-concurrency slots, so it excludes the wait for a slot.

Flags:
`

// validate returns an error naming the first invalid field of c.
func (c *config) validate() error {
	positive := []struct {
		name  string
		value int
	}{
		{"chats", c.chats},
		{"turns", c.turns},
		{"users", c.users},
		{"models", c.models},
		{"concurrency", c.concurrency},
		{"replicas", c.replicas},
	}
	for _, p := range positive {
		if p.value < 1 {
			return fmt.Errorf("scaletest: invalid -%s %d: must be at least 1", p.name, p.value)
		}
	}
	if c.chats > math.MaxInt32/c.turns {
		return fmt.Errorf("scaletest: invalid -chats %d with -turns %d: more than %d turns",
			c.chats, c.turns, math.MaxInt32)
	}
	if c.adminRate < 0 || math.IsNaN(c.adminRate) || math.IsInf(c.adminRate, 0) {
		return fmt.Errorf("scaletest: invalid -admin-rate %v: must be zero or a positive number",
			c.adminRate)
	}
	return nil
}
