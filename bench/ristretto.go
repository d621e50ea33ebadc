package bench

import (
	"context"

	"github.com/dgraph-io/ristretto/v2"
)

// ristrettoCache is configured as ristretto's documentation advises:
// NumCounters ten times the number of items, MaxCost the number of items
// with a cost of 1 each, and BufferItems 64.
//
// Ristretto has no loader and no coalescing: the adapter fills on a miss
// and stores with SetWithTTL, so concurrent misses of a key each call the
// fill. Ristretto admits stores asynchronously and may drop or reject
// them, so a Get right after a store can still miss; benchmarks call Wait
// after warming. It has no clone hook, so the adapter clones on store and
// after every Get.
type ristrettoCache[V any] struct {
	cache *ristretto.Cache[int, V]
	spec  Spec[V]
}

func newRistretto[V any](_ context.Context, spec Spec[V]) (Cache[V], error) {
	cache, err := ristretto.NewCache(&ristretto.Config[int, V]{
		NumCounters:        10 * int64(spec.MaxEntries),
		MaxCost:            int64(spec.MaxEntries),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &ristrettoCache[V]{cache: cache, spec: spec}, nil
}

func (c *ristrettoCache[V]) Get(ctx context.Context, key int) (V, error) {
	if v, ok := c.cache.Get(key); ok {
		return c.spec.cloneOf(v), nil
	}
	v, err := c.spec.Fill(ctx, key)
	if err != nil {
		return v, err
	}
	c.cache.SetWithTTL(key, c.spec.cloneOf(v), 1, c.spec.TTL)
	return v, nil
}

// Wait blocks until every earlier store has been applied or dropped.
func (c *ristrettoCache[V]) Wait() { c.cache.Wait() }

func (c *ristrettoCache[V]) Close() { c.cache.Close() }
