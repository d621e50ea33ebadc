package bench

import (
	"context"
	"sync"
)

// mutexMap is the floor: a map behind a sync.RWMutex, with the least work
// a cache can do. It has no TTL (values never expire), no coalescing
// (concurrent misses of a key each call the fill) and no clone hook (the
// adapter clones on store and after every Get). It keeps within
// MaxEntries by deleting an arbitrary key when full.
type mutexMap[V any] struct {
	spec Spec[V]

	mu     sync.RWMutex
	values map[int]V // guarded by mu
}

func newMutexMap[V any](_ context.Context, spec Spec[V]) (Cache[V], error) {
	return &mutexMap[V]{spec: spec, values: make(map[int]V)}, nil
}

func (c *mutexMap[V]) Get(ctx context.Context, key int) (V, error) {
	c.mu.RLock()
	v, ok := c.values[key]
	c.mu.RUnlock()
	if ok {
		return c.spec.cloneOf(v), nil
	}

	v, err := c.spec.Fill(ctx, key)
	if err != nil {
		return v, err
	}
	stored := c.spec.cloneOf(v)

	c.mu.Lock()
	if _, ok := c.values[key]; !ok && c.spec.MaxEntries > 0 && len(c.values) >= c.spec.MaxEntries {
		for victim := range c.values {
			delete(c.values, victim)
			break
		}
	}
	c.values[key] = stored
	c.mu.Unlock()
	return v, nil
}

func (c *mutexMap[V]) Close() {}
