package querycache

// flight is one running fill that concurrent misses of a key share.
type flight[V any] struct {
	// done is closed after value and err are set.
	done  chan struct{}
	value V
	err   error

	// stale is set when the flight's key was invalidated while it ran, so
	// its result must not be stored. Guarded by Entry.mu.
	stale bool
}
