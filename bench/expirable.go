package bench

import (
	"context"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// expirableCache is an LRU with a TTL per cache. It has no loader and no
// coalescing: the adapter fills on a miss and stores with Add, so
// concurrent misses of a key each call the fill. It has no clone hook, so
// the adapter clones on store and after every Get.
//
// NOTE: expirable starts a goroutine that removes expired items and, in
// v2.0.7, offers no way to stop it, so every cache built here stays
// reachable for the life of the process.
type expirableCache[V any] struct {
	cache *expirable.LRU[int, V]
	spec  Spec[V]
}

func newExpirable[V any](_ context.Context, spec Spec[V]) (Cache[V], error) {
	cache := expirable.NewLRU[int, V](spec.MaxEntries, nil, spec.TTL)
	return &expirableCache[V]{cache: cache, spec: spec}, nil
}

func (c *expirableCache[V]) Get(ctx context.Context, key int) (V, error) {
	if v, ok := c.cache.Get(key); ok {
		return c.spec.cloneOf(v), nil
	}
	v, err := c.spec.Fill(ctx, key)
	if err != nil {
		return v, err
	}
	c.cache.Add(key, c.spec.cloneOf(v))
	return v, nil
}

func (c *expirableCache[V]) Close() {}
