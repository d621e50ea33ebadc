package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"

	_ "github.com/lib/pq" // registers the "postgres" driver

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/internal/dbcount"
	"github.com/hotread/hotread/internal/pgserver"
	"github.com/hotread/hotread/storewrap"
)

// serverConnectionsSpare is how many connections beyond the load's pool
// the private server allows: the admin, the listeners and pgserver's own.
const serverConnectionsSpare = 10

// runAll starts or connects to PostgreSQL, seeds a fresh database, runs
// the three loads on it and returns their report. It removes the database,
// and the server it started, before it returns.
func runAll(ctx context.Context, cfg *config, stderr io.Writer) (_ *report, err error) {
	srv, err := pgserver.Start(ctx, pgserver.Options{
		DSN: cfg.dsn,
		MaxConnections: max(pgserver.DefaultMaxConnections,
			cfg.concurrency+cfg.replicas+serverConnectionsSpare),
	})
	if err != nil {
		return nil, fmt.Errorf("scaletest: start PostgreSQL: %w", err)
	}
	defer func() {
		if closeErr := srv.Close(); closeErr != nil && err == nil {
			err = fmt.Errorf("scaletest: stop PostgreSQL: %w", closeErr)
		}
	}()

	dsn, err := srv.CreateDatabase(ctx)
	if err != nil {
		return nil, fmt.Errorf("scaletest: create the database: %w", err)
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("scaletest: open the database: %w", err)
	}
	defer db.Close()
	// One connection per turn in flight, and one for the admin. Idle
	// connections are kept, so that no turn pays for a new connection.
	db.SetMaxOpenConns(cfg.concurrency + 1)
	db.SetMaxIdleConns(cfg.concurrency + 1)

	plain := chatdb.New(db)
	ds, err := seed(ctx, plain, cfg)
	if err != nil {
		return nil, err
	}

	l := &loads{cfg: cfg, ds: ds, plain: plain, showProgress: showProgress(stderr, cfg.json), stderr: stderr}
	rep := &report{Turns: cfg.totalTurns(), promptUsers: len(ds.prompts)}

	uncachedCalls := dbcount.New(db)
	uncached, err := l.measure(ctx, "uncached", readTurn(l.sameQuerier(chatdb.New(uncachedCalls)), nil))
	if err != nil {
		return nil, err
	}

	cachedCalls := dbcount.New(db)
	cached, err := l.runCached(ctx, db, dsn, cachedCalls)
	if err != nil {
		return nil, err
	}

	limitCalls := dbcount.New(db)
	limit, err := l.measure(ctx, "limit", writeTurn(chatdb.New(limitCalls)))
	if err != nil {
		return nil, err
	}

	floor := floors(floorInputs{
		epoch:   cached.epoch,
		reads:   cached.reads,
		changes: cached.changes,
		drops:   cached.dropTimes,
	})
	rep.Queries = queryReports(uncachedCalls.Counts(), cachedCalls.Counts(), floor)
	rep.Uncached = newRunReport(uncached)
	rep.Cached = newRunReport(cached.loadResult)
	rep.Limit = newRunReport(limit)
	rep.Coherence = cached.coherence
	for r, n := range cached.drops {
		if n > 0 {
			fmt.Fprintf(stderr, "scaletest: the listener of replica %d dropped every cached read %d "+
				"times during the cached run, because it reconnected or fell behind\n", r, n)
		}
	}
	rep.elapsed = [3]time.Duration{uncached.elapsed, cached.elapsed, limit.elapsed}
	return rep, nil
}

// loads runs the loads of one scaletest invocation on its seeded database.
type loads struct {
	cfg          *config
	ds           *dataset
	plain        chatdb.Querier // uncounted, for checks
	showProgress bool
	stderr       io.Writer
}

// sameQuerier returns a slice that maps every replica index to q.
func (l *loads) sameQuerier(q chatdb.Querier) []chatdb.Querier {
	qs := make([]chatdb.Querier, l.cfg.replicas)
	for i := range qs {
		qs[i] = q
	}
	return qs
}

// measure runs the load with turn and checks that it wrote one message per
// turn.
func (l *loads) measure(ctx context.Context, name string, turn turnFunc) (*loadResult, error) {
	before, err := l.plain.CountChatMessages(ctx)
	if err != nil {
		return nil, fmt.Errorf("scaletest: %s run: count messages: %w", name, err)
	}

	p := startProgress(l.stderr, name, l.cfg.totalTurns(), l.showProgress)
	result, err := runLoad(ctx, l.cfg, l.ds.chats, turn, p)
	p.finish()
	if err != nil {
		return nil, fmt.Errorf("scaletest: %s run: %w", name, err)
	}

	after, err := l.plain.CountChatMessages(ctx)
	if err != nil {
		return nil, fmt.Errorf("scaletest: %s run: count messages: %w", name, err)
	}
	if written, want := after-before, int64(l.cfg.totalTurns()); written != want {
		return nil, fmt.Errorf("scaletest: %s run wrote %d messages, want one per turn, %d",
			name, written, want)
	}
	return result, nil
}

// cachedResult is the outcome of the cached run.
type cachedResult struct {
	*loadResult
	epoch     time.Time                   // the instant that reads' start times count from
	reads     []map[versionKey][]readSpan // per replica, each key's read spans
	changes   []adminChange
	drops     []uint64         // per replica, the listener's drops of every cached read
	dropTimes [][]time.Time    // per replica, when each of those drops was seen
	coherence *coherenceReport // nil when the run checked no reads
}

// runCached runs the load through cfg.replicas storewrap decorators over
// calls, and records the start time of every hot read and every
// invalidation for the floor. When cfg.checksCoherence is true, every hot
// read is checked for staleness, and an admin changes data through the
// first decorator meanwhile if cfg.adminRate is positive.
func (l *loads) runCached(ctx context.Context, db *sql.DB, dsn string, calls *dbcount.DB) (*cachedResult, error) {
	replicas, err := newReplicas(ctx, l.cfg.replicas, db, dsn, chatdb.New(calls))
	if err != nil {
		return nil, err
	}
	defer closeReplicas(replicas)

	rec := startRecording(replicas)
	queriers := rec.queriers()
	res := &cachedResult{}

	if !l.cfg.checksCoherence() {
		result, err := l.measure(ctx, "cached", readTurn(queriers, nil))
		rec.finish(res)
		if err != nil {
			return nil, err
		}
		res.loadResult = result
		return res, nil
	}

	book := newVersionBook(l.ds)
	checker := &coherenceChecker{book: book}
	adm := newAdmin(replicas[0], book, l.ds, l.cfg.seed)

	adminCtx, stopAdmin := context.WithCancel(ctx)
	adminDone := make(chan error, 1)
	if l.cfg.adminRate > 0 {
		go func() { adminDone <- adm.run(adminCtx, l.cfg.adminRate) }()
	} else {
		adminDone <- nil
	}

	result, err := l.measure(ctx, "cached", readTurn(queriers, checker))
	stopAdmin()
	adminErr := <-adminDone
	rec.finish(res)
	if err != nil {
		return nil, err
	}
	if adminErr != nil {
		return nil, fmt.Errorf("scaletest: cached run: %w", adminErr)
	}

	res.loadResult = result
	res.changes = adm.changes
	res.coherence = &coherenceReport{
		Replicas:       l.cfg.replicas,
		ReadsChecked:   checker.checked.Load(),
		StaleReads:     checker.stale.Load(),
		MaxStalenessMs: milliseconds(time.Duration(checker.maxStaleness.Load())),
	}
	return res, nil
}

// newReplicas returns n decorators of q with storewrap's default cache
// options. With more than one, each listens for the others'
// invalidations on its own connection to dsn. storewrap.New returns once
// the listener has received a notification of its own, so every replica
// is listening before the load starts.
func newReplicas(ctx context.Context, n int, db *sql.DB, dsn string, q chatdb.Querier) ([]*storewrap.Querier, error) {
	replicas := make([]*storewrap.Querier, 0, n)
	for i := range n {
		opts := storewrap.Options{Context: ctx, DB: db}
		if n > 1 {
			opts.Listener = storewrap.ListenerOptions{DSN: dsn}
		}
		r, err := storewrap.New(q, opts)
		if err != nil {
			closeReplicas(replicas)
			return nil, fmt.Errorf("scaletest: start replica %d: %w", i, err)
		}
		replicas = append(replicas, r)
	}
	return replicas, nil
}

func closeReplicas(replicas []*storewrap.Querier) {
	for _, r := range replicas {
		_ = r.Close()
	}
}

// dropAlls returns how many times each replica's listener has dropped
// every cached read: on connecting, on reconnecting, after a malformed
// payload, and when notifications arrived faster than it applied them.
func dropAlls(replicas []*storewrap.Querier) []uint64 {
	drops := make([]uint64, len(replicas))
	for i, r := range replicas {
		drops[i] = r.Stats().Listener.DropAlls
	}
	return drops
}

// dropsSince returns the drops of every cached read since before was
// taken with dropAlls.
func dropsSince(replicas []*storewrap.Querier, before []uint64) []uint64 {
	drops := dropAlls(replicas)
	for i := range drops {
		drops[i] -= before[i]
	}
	return drops
}
