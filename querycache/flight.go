package querycache

// flight is one running fill that concurrent misses of a key share.
//
// Entry keeps its flights in a map keyed by K rather than using
// golang.org/x/sync/singleflight, whose keys are strings. A generic key
// would have to be formatted on every miss, and two keys whose formatted
// forms are equal would share a fill. A flight also carries the stale flag
// that an invalidation sets, which singleflight has no place for.
type flight[V any] struct {
	// done is closed after value and err are set.
	done  chan struct{}
	value V
	err   error

	// stale is set when the flight's key was invalidated while it ran, so
	// its result must not be stored. Guarded by Entry.mu.
	stale bool
}
