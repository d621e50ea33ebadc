package bench

import (
	"context"

	"github.com/maypok86/otter/v2"
)

// otterCache uses otter's loader, which coalesces concurrent misses, and
// ExpiryWriting for a TTL counted from the fill. Otter has no clone hook,
// so the adapter clones in the loader and after every Get.
//
// Otter calls the loader under the context of the Get that started the
// load; querycache uses the server's context instead.
type otterCache[V any] struct {
	cache  *otter.Cache[int, V]
	loader otter.Loader[int, V]
	spec   Spec[V]
}

func newOtter[V any](_ context.Context, spec Spec[V]) (Cache[V], error) {
	cache, err := otter.New(&otter.Options[int, V]{
		MaximumSize:      spec.MaxEntries,
		ExpiryCalculator: otter.ExpiryWriting[int, V](spec.TTL),
	})
	if err != nil {
		return nil, err
	}
	c := &otterCache[V]{cache: cache, spec: spec}
	c.loader = otter.LoaderFunc[int, V](func(ctx context.Context, key int) (V, error) {
		v, err := spec.Fill(ctx, key)
		if err != nil {
			return v, err
		}
		return spec.cloneOf(v), nil
	})
	return c, nil
}

func (c *otterCache[V]) Get(ctx context.Context, key int) (V, error) {
	v, err := c.cache.Get(ctx, key, c.loader)
	if err != nil {
		return v, err
	}
	return c.spec.cloneOf(v), nil
}

func (c *otterCache[V]) Close() { c.cache.StopAllGoroutines() }
