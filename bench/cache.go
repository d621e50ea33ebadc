package bench

import (
	"context"
	"time"
)

// Cache is the interface of every adapter. Get returns the value for key,
// calling [Spec.Fill] on a miss, and Close stops the adapter's background
// goroutines where the peer allows it. A Cache is safe for concurrent use.
type Cache[V any] interface {
	Get(ctx context.Context, key int) (V, error)
	Close()
}

// Spec is the configuration every adapter receives. It is the same for all
// peers in a benchmark; each adapter maps it to its peer's own settings.
type Spec[V any] struct {
	// Fill loads the value of key, as the database call would.
	Fill func(ctx context.Context, key int) (V, error)
	// TTL is how long a filled value is served, counted from the fill.
	TTL time.Duration
	// MaxEntries bounds the number of keys held.
	MaxEntries int
	// Keys is the number of distinct keys the workload uses, 0 to Keys-1.
	// Adapters of caches keyed by strings format these keys once up front,
	// so that no benchmark measures key formatting.
	Keys int
	// Clone copies a value, or is nil when callers may share the stored
	// value. When set, every adapter stores a clone of each filled value
	// and returns a fresh clone on every Get.
	Clone func(V) V
}

// cloneOf returns a clone of v when spec sets Clone, else v itself.
func (s *Spec[V]) cloneOf(v V) V {
	if s.Clone == nil {
		return v
	}
	return s.Clone(v)
}

// Impl names one cache and builds it for a [Spec].
type Impl[V any] struct {
	// Name is the sub-benchmark name.
	Name string
	// Coalesces reports whether concurrent misses of one key share one
	// fill, by the peer itself or by the adapter.
	Coalesces bool
	// New builds the cache. ctx is the server's context, used by adapters
	// whose peer runs fills under no caller's context.
	New func(ctx context.Context, spec Spec[V]) (Cache[V], error)
}

// Impls returns every cache under comparison, in the order the results
// are published.
func Impls[V any]() []Impl[V] {
	return []Impl[V]{
		{Name: "querycache", Coalesces: true, New: newQuerycache[V]},
		{Name: "otter", Coalesces: true, New: newOtter[V]},
		{Name: "ristretto", Coalesces: false, New: newRistretto[V]},
		{Name: "ttlcache", Coalesces: true, New: newTTLCache[V]},
		{Name: "expirable", Coalesces: false, New: newExpirable[V]},
		{Name: "sturdyc", Coalesces: true, New: newSturdyc[V]},
		{Name: "tlru", Coalesces: true, New: newTLRU[V]},
		{Name: "mutexmap", Coalesces: false, New: newMutexMap[V]},
	}
}

// waiter is implemented by adapters whose peer stores values
// asynchronously. Wait returns once every earlier store is visible.
type waiter interface {
	Wait()
}
