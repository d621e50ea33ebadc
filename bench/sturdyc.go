package bench

import (
	"context"
	"strconv"

	"github.com/viccon/sturdyc"
)

// sturdycCache uses GetOrFetch, which coalesces concurrent misses of a key,
// with the settings of sturdyc's README: 10 shards and an eviction of 10 %
// of a shard when it is full. MaxEntries is split evenly over the shards.
//
// sturdyc keys are strings: the adapter formats the keys 0 to Spec.Keys-1
// once up front. GetOrFetch takes the fetch function per call, so the
// adapter builds a closure on every Get, as sturdyc's callers do. sturdyc
// has no clone hook, so the adapter clones on store and after every Get.
//
// NOTE: sturdyc starts a goroutine that removes expired items and, in
// v1.1.5, offers no way to stop it, so every cache built here stays
// reachable for the life of the process.
type sturdycCache[V any] struct {
	client *sturdyc.Client[V]
	keys   []string
	spec   Spec[V]
}

func newSturdyc[V any](_ context.Context, spec Spec[V]) (Cache[V], error) {
	const shards, evictionPercentage = 10, 10
	keys := make([]string, spec.Keys)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	return &sturdycCache[V]{
		client: sturdyc.New[V](spec.MaxEntries, shards, spec.TTL, evictionPercentage),
		keys:   keys,
		spec:   spec,
	}, nil
}

func (c *sturdycCache[V]) Get(ctx context.Context, key int) (V, error) {
	var s string
	if key >= 0 && key < len(c.keys) {
		s = c.keys[key]
	} else {
		s = strconv.Itoa(key)
	}
	v, err := c.client.GetOrFetch(ctx, s, func(ctx context.Context) (V, error) {
		v, err := c.spec.Fill(ctx, key)
		if err != nil {
			return v, err
		}
		return c.spec.cloneOf(v), nil
	})
	if err != nil {
		return v, err
	}
	return c.spec.cloneOf(v), nil
}

func (c *sturdycCache[V]) Close() {}
