package bench

import (
	"context"

	"github.com/ammario/tlru"
	"tailscale.com/util/singleflight"
)

// tlruCache pairs tlru, an LRU with a TTL per item, with tailscale's
// generic singleflight, which coalesces concurrent misses of a key. tlru
// has no loader: the adapter fills inside the flight and stores with Set.
// Each item costs 1, so MaxEntries is the cost limit. tlru has no clone
// hook, so the adapter clones on store and after every Get.
//
// As in the usual pairing of the two, the flight does not look the key up
// again, so a caller whose lookup missed just before a fill finished
// starts a second fill.
type tlruCache[V any] struct {
	cache   *tlru.Cache[int, V]
	flights singleflight.Group[int, V]
	spec    Spec[V]
}

func newTLRU[V any](_ context.Context, spec Spec[V]) (Cache[V], error) {
	return &tlruCache[V]{
		cache: tlru.New[int](tlru.ConstantCost[V], spec.MaxEntries),
		spec:  spec,
	}, nil
}

func (c *tlruCache[V]) Get(ctx context.Context, key int) (V, error) {
	if v, _, ok := c.cache.Get(key); ok {
		return c.spec.cloneOf(v), nil
	}
	v, err, _ := c.flights.Do(key, func() (V, error) {
		v, err := c.spec.Fill(ctx, key)
		if err != nil {
			return v, err
		}
		c.cache.Set(key, c.spec.cloneOf(v), c.spec.TTL)
		return v, nil
	})
	if err != nil {
		return v, err
	}
	return c.spec.cloneOf(v), nil
}

func (c *tlruCache[V]) Close() {}
