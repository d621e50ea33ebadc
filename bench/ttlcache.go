package bench

import (
	"context"
	"fmt"

	"github.com/jellydator/ttlcache/v3"
)

// ttlcacheCache uses ttlcache's loader wrapped in its SuppressedLoader,
// which coalesces concurrent misses through x/sync's singleflight.
// WithDisableTouchOnHit keeps the TTL counted from the fill, as in
// querycache; by default ttlcache extends it on every hit. Start runs the
// goroutine that removes expired items.
//
// The loader receives neither a context nor a way to return an error, so
// the adapter fills under the server's context and, when the fill fails,
// returns an error that does not wrap the fill's error. ttlcache has no
// clone hook, so the adapter clones on store and after every Get.
type ttlcacheCache[V any] struct {
	cache *ttlcache.Cache[int, V]
	spec  Spec[V]
}

func newTTLCache[V any](ctx context.Context, spec Spec[V]) (Cache[V], error) {
	load := ttlcache.LoaderFunc[int, V](func(c *ttlcache.Cache[int, V], key int) *ttlcache.Item[int, V] {
		v, err := spec.Fill(ctx, key)
		if err != nil {
			return nil
		}
		return c.Set(key, spec.cloneOf(v), ttlcache.DefaultTTL)
	})
	cache := ttlcache.New(
		ttlcache.WithTTL[int, V](spec.TTL),
		ttlcache.WithCapacity[int, V](uint64(spec.MaxEntries)),
		ttlcache.WithDisableTouchOnHit[int, V](),
		ttlcache.WithLoader[int, V](ttlcache.NewSuppressedLoader[int, V](load, nil)),
	)
	go cache.Start()
	return &ttlcacheCache[V]{cache: cache, spec: spec}, nil
}

func (c *ttlcacheCache[V]) Get(_ context.Context, key int) (V, error) {
	item := c.cache.Get(key)
	if item == nil {
		var zero V
		return zero, fmt.Errorf("bench: ttlcache: loader stored no item for key %d", key)
	}
	return c.spec.cloneOf(item.Value()), nil
}

func (c *ttlcacheCache[V]) Close() { c.cache.Stop() }
