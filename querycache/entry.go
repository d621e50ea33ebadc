package querycache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/quartz"
	"github.com/puzpuzpuz/xsync/v4"
)

// Entry caches the results of one query, keyed by K. Gets of a key share
// one fill while it runs, and hits read a lock-free map. An Entry is safe
// for concurrent use by multiple goroutines.
//
// Every fill runs under the context given to [New], never under a caller's
// context: a caller that gives up does not cancel the fill for the others.
//
// Invalidations advance a generation. A fill that was running when its key
// was invalidated is not stored, and a Get that starts after the
// invalidation starts a new fill instead of joining the old one.
type Entry[K comparable, V any] struct {
	ctx   context.Context
	fill  func(context.Context, K) (V, error)
	opts  Options[V]
	clock quartz.Clock
	// epoch is the instant New ran. Expiry is kept as a duration since
	// epoch because clock.Since reads only the monotonic clock, while
	// clock.Now also reads the wall clock and costs twice as much on a hit.
	epoch time.Time

	// items is read without a lock. It is written only with mu held, so
	// that a store and an invalidation of the same key are ordered.
	items *xsync.Map[K, *item[K, V]]

	mu      sync.Mutex
	flights map[K]*flight[V] // guarded by mu
	ring    ring[K, V]       // guarded by mu

	entries atomic.Int64
	// Hits are counted in xsync's counters, which keep one stripe per
	// processor, so that concurrent hits on different cores write
	// different cache lines.
	hits         *xsync.Counter
	negativeHits *xsync.Counter
	staleHits    *xsync.Counter
	misses       atomic.Uint64
	coalesced    atomic.Uint64
	fills        atomic.Uint64
	refreshes    atomic.Uint64
	fillErrors   atomic.Uint64
	fillPanics   atomic.Uint64
	discarded    atomic.Uint64
	invalidated  atomic.Uint64
	evictions    atomic.Uint64
	expirations  atomic.Uint64
}

// item is one stored result. Its fields other than referenced and
// refreshing never change after it is published in Entry.items.
type item[K comparable, V any] struct {
	key     K
	value   V
	err     error         // a stored "not found" error, or nil
	expires time.Duration // since Entry.epoch

	// referenced is set by hits and cleared by the eviction hand.
	referenced atomic.Bool
	// refreshing is set while a background refresh of this item runs.
	refreshing atomic.Bool

	slot int // index in Entry.ring.slots; guarded by Entry.mu
}

// New returns an Entry that calls fill on a miss. ctx is the server's
// context: every fill runs under it, and once it is done, Gets that miss
// fail at once with an error wrapping ctx.Err(). New returns an error
// wrapping [ErrInvalidOptions] when a field of opts is out of range.
func New[K comparable, V any](
	ctx context.Context,
	fill func(ctx context.Context, key K) (V, error),
	opts Options[V],
) (*Entry[K, V], error) {
	if ctx == nil {
		return nil, errors.New("querycache: New: context is nil")
	}
	if fill == nil {
		return nil, errorNilFill
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.NotFoundTTL == 0 {
		opts.NotFoundTTL = opts.TTL
	}
	clock := opts.Clock
	if clock == nil {
		clock = quartz.NewReal()
	}
	return &Entry[K, V]{
		ctx:          ctx,
		fill:         fill,
		opts:         opts,
		clock:        clock,
		items:        xsync.NewMap[K, *item[K, V]](),
		flights:      make(map[K]*flight[V]),
		epoch:        clock.Now(),
		hits:         xsync.NewCounter(),
		negativeHits: xsync.NewCounter(),
		staleHits:    xsync.NewCounter(),
	}, nil
}

// Get returns the value stored for key, or fills it. It returns what the
// fill returned: the same value (a clone of it when [Options.Clone] is set)
// and the same error, so errors.Is(err, sql.ErrNoRows) holds on a stored
// "not found".
//
// On a miss Get waits for the fill under ctx. When ctx is done first, Get
// returns ctx.Err() and the fill goes on: its result is still stored and
// handed to the other waiters. A fill that panics returns a [*PanicError].
func (e *Entry[K, V]) Get(ctx context.Context, key K) (V, error) {
	if it, ok := e.items.Load(key); ok {
		now := e.clock.Since(e.epoch)
		if now < it.expires {
			if !it.referenced.Load() {
				it.referenced.Store(true)
			}
			e.countHit(it)
			return e.result(it)
		}
		if e.opts.StaleWhileRefresh > 0 && now < it.expires+e.opts.StaleWhileRefresh {
			e.staleHits.Inc()
			if it.refreshing.CompareAndSwap(false, true) {
				e.refresh(it)
			}
			return e.result(it)
		}
	}
	return e.miss(ctx, key)
}

// countHit counts a Get served from the fresh item it, as a hit or, for a
// stored "not found", as a negative hit.
func (e *Entry[K, V]) countHit(it *item[K, V]) {
	if it.err != nil {
		e.negativeHits.Inc()
	} else {
		e.hits.Inc()
	}
}

// result returns the stored value or error of it, cloning the value.
func (e *Entry[K, V]) result(it *item[K, V]) (V, error) {
	if it.err != nil {
		var zero V
		return zero, it.err
	}
	return e.clone(it.value), nil
}

func (e *Entry[K, V]) clone(v V) V {
	if e.opts.Clone == nil {
		return v
	}
	return e.opts.Clone(v)
}

// miss joins the running fill of key or starts one, then waits for it.
func (e *Entry[K, V]) miss(ctx context.Context, key K) (V, error) {
	var zero V
	if err := e.ctx.Err(); err != nil {
		return zero, fmt.Errorf("querycache: fill not started, server context is done: %w", err)
	}
	now := e.clock.Since(e.epoch)

	e.mu.Lock()
	// A fill may have stored key between the lock-free lookup in Get and
	// here. Stores happen with mu held, so this check sees it, and a caller
	// that missed just as a fill finished does not start a second one.
	if it, ok := e.items.Load(key); ok && now < it.expires {
		e.mu.Unlock()
		e.countHit(it)
		return e.result(it)
	}
	f, joined := e.flights[key]
	if !joined {
		f = e.startLocked(key, nil)
	}
	e.mu.Unlock()

	e.misses.Add(1)
	if joined {
		e.coalesced.Add(1)
	}

	select {
	case <-f.done:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	if f.err != nil {
		return zero, f.err
	}
	return e.clone(f.value), nil
}

// refresh starts a background fill of the expired item it, unless a fill
// of its key already runs or it is no longer the stored item.
func (e *Entry[K, V]) refresh(it *item[K, V]) {
	if e.ctx.Err() != nil {
		it.refreshing.Store(false)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	current, ok := e.items.Load(it.key)
	if _, running := e.flights[it.key]; running || !ok || current != it {
		it.refreshing.Store(false)
		return
	}
	e.startLocked(it.key, it)
	e.refreshes.Add(1)
}

// startLocked registers a new flight for key and starts its fill. stale is
// the expired item that a background refresh replaces, or nil.
func (e *Entry[K, V]) startLocked(key K, stale *item[K, V]) *flight[V] {
	f := &flight[V]{done: make(chan struct{})}
	e.flights[key] = f
	e.fills.Add(1)
	go e.run(key, f, stale)
	return f
}

// run calls the fill for key and publishes its result, also when the fill
// panics or exits its goroutine.
func (e *Entry[K, V]) run(key K, f *flight[V], stale *item[K, V]) {
	var value V
	err := errFillExited
	defer func() { e.finish(key, f, stale, value, err) }()
	value, err = e.callFill(key)
}

// callFill calls the fill function, turning a panic into a [*PanicError].
func (e *Entry[K, V]) callFill(key K) (value V, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return e.fill(e.ctx, key)
}

// finish stores the result of flight f unless an invalidation made it
// stale, then releases the waiters. User hooks (NotFound, Clone) run before
// mu is taken.
func (e *Entry[K, V]) finish(key K, f *flight[V], stale *item[K, V], value V, err error) {
	stored, storable, err := e.prepare(value, err)
	lifetime := e.opts.TTL
	if err != nil {
		lifetime = e.opts.NotFoundTTL
	}
	if e.opts.TTLJitter > 0 {
		lifetime -= time.Duration(rand.Float64() * e.opts.TTLJitter * float64(lifetime))
	}
	now := e.clock.Since(e.epoch)

	e.mu.Lock()
	if e.flights[key] == f {
		delete(e.flights, key)
	}
	switch {
	case f.stale:
		e.discarded.Add(1)
	case storable:
		e.storeLocked(key, stored, err, now, now+lifetime)
	}
	e.mu.Unlock()

	if !storable {
		e.fillErrors.Add(1)
		var panicErr *PanicError
		if errors.As(err, &panicErr) {
			e.fillPanics.Add(1)
		}
		if stale != nil {
			// Let the next stale hit try again.
			stale.refreshing.Store(false)
		}
	}
	f.value, f.err = value, err
	close(f.done)
}

// prepare decides whether a fill's result is stored, and clones the value
// to store. It runs the NotFound and Clone hooks in the fill's goroutine,
// so a hook that panics turns the result into a [*PanicError] that reaches
// the waiters and is not stored, instead of crashing the process.
func (e *Entry[K, V]) prepare(value V, err error) (stored V, storable bool, outErr error) {
	defer func() {
		if r := recover(); r != nil {
			var zero V
			stored, storable = zero, false
			outErr = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	if err == nil {
		return e.clone(value), true, nil
	}
	var panicErr *PanicError
	if errors.As(err, &panicErr) || err == errFillExited || e.opts.NotFound == nil {
		return stored, false, err
	}
	return stored, e.opts.NotFound(err), err
}

// storeLocked publishes a result for key, evicting a key first if the
// entry is full, and removes a few expired keys.
func (e *Entry[K, V]) storeLocked(key K, value V, err error, now, expires time.Duration) {
	it := &item[K, V]{key: key, value: value, err: err, expires: expires}
	if old, ok := e.items.Load(key); ok {
		e.ring.replace(old, it)
	} else {
		if e.opts.MaxEntries > 0 && e.ring.len() >= e.opts.MaxEntries {
			if victim := e.ring.victim(); victim != nil {
				e.removeLocked(victim)
				e.evictions.Add(1)
			}
		}
		e.ring.add(it)
		e.entries.Add(1)
	}
	e.items.Store(key, it)

	for range sweepPerStore {
		old := e.ring.nextSwept()
		if old != nil && now >= old.expires+e.opts.StaleWhileRefresh {
			e.removeLocked(old)
			e.expirations.Add(1)
		}
	}
}

// sweepPerStore is how many stored keys each store examines for expiry. Any
// value above one removes expired keys faster than stores add new ones.
const sweepPerStore = 2

func (e *Entry[K, V]) removeLocked(it *item[K, V]) {
	e.items.Delete(it.key)
	e.ring.remove(it)
	e.entries.Add(-1)
}

// Invalidate removes the value stored for key. A fill of key that is
// running is not stored when it finishes, and Gets that start after
// Invalidate returns start a new fill. Invalidating a key that is not
// stored leaves nothing behind.
func (e *Entry[K, V]) Invalidate(key K) {
	e.mu.Lock()
	if it, ok := e.items.Load(key); ok {
		e.removeLocked(it)
	}
	if f, ok := e.flights[key]; ok {
		f.stale = true
		delete(e.flights, key)
	}
	e.mu.Unlock()
	e.invalidated.Add(1)
}

// InvalidateAll removes every stored value, and no fill running at the time
// of the call is stored.
func (e *Entry[K, V]) InvalidateAll() {
	e.mu.Lock()
	for key, f := range e.flights {
		f.stale = true
		delete(e.flights, key)
	}
	e.items.Clear()
	e.ring = ring[K, V]{}
	e.entries.Store(0)
	e.mu.Unlock()
	e.invalidated.Add(1)
}

// Len returns the number of keys stored, including expired keys that have
// not been removed yet.
func (e *Entry[K, V]) Len() int {
	return int(e.entries.Load())
}

// Stats returns a snapshot of the entry's counters.
func (e *Entry[K, V]) Stats() Stats {
	return Stats{
		Hits:                uint64(e.hits.Value()),
		NegativeHits:        uint64(e.negativeHits.Value()),
		StaleHits:           uint64(e.staleHits.Value()),
		Misses:              e.misses.Load(),
		Coalesced:           e.coalesced.Load(),
		Fills:               e.fills.Load(),
		Refreshes:           e.refreshes.Load(),
		FillErrors:          e.fillErrors.Load(),
		FillPanics:          e.fillPanics.Load(),
		StaleFillsDiscarded: e.discarded.Load(),
		Invalidations:       e.invalidated.Load(),
		Evictions:           e.evictions.Load(),
		Expirations:         e.expirations.Load(),
		Entries:             e.Len(),
	}
}
