package querycache

import "context"

// Singleton caches a query without parameters, such as "the enabled
// providers". It is an [Entry] with a single key and keeps the same
// guarantees. A Singleton is safe for concurrent use by multiple
// goroutines.
type Singleton[V any] struct {
	entry *Entry[struct{}, V]
}

// NewSingleton returns a Singleton that calls fill on a miss. ctx and opts
// mean what they mean for [New]; MaxEntries has no effect.
func NewSingleton[V any](
	ctx context.Context,
	fill func(ctx context.Context) (V, error),
	opts Options[V],
) (*Singleton[V], error) {
	if fill == nil {
		return nil, errorNilFill
	}
	entry, err := New(ctx, func(ctx context.Context, _ struct{}) (V, error) {
		return fill(ctx)
	}, opts)
	if err != nil {
		return nil, err
	}
	return &Singleton[V]{entry: entry}, nil
}

// Get returns the stored value or fills it, as [Entry.Get] does.
func (s *Singleton[V]) Get(ctx context.Context) (V, error) {
	return s.entry.Get(ctx, struct{}{})
}

// Invalidate removes the stored value, as [Entry.Invalidate] does.
func (s *Singleton[V]) Invalidate() {
	s.entry.Invalidate(struct{}{})
}

// Stats returns a snapshot of the singleton's counters.
func (s *Singleton[V]) Stats() Stats {
	return s.entry.Stats()
}
