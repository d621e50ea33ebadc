package bench

import (
	"context"

	"github.com/hotread/hotread/querycache"
)

// querycacheCache needs no help: querycache has a loader, coalescing, a
// TTL and a clone hook of its own.
type querycacheCache[V any] struct {
	entry *querycache.Entry[int, V]
}

func newQuerycache[V any](ctx context.Context, spec Spec[V]) (Cache[V], error) {
	entry, err := querycache.New(ctx, spec.Fill, querycache.Options[V]{
		TTL:        spec.TTL,
		MaxEntries: spec.MaxEntries,
		Clone:      spec.Clone,
	})
	if err != nil {
		return nil, err
	}
	return &querycacheCache[V]{entry: entry}, nil
}

func (c *querycacheCache[V]) Get(ctx context.Context, key int) (V, error) {
	return c.entry.Get(ctx, key)
}

// Close does nothing: an Entry starts no goroutine that outlives a fill.
func (c *querycacheCache[V]) Close() {}
