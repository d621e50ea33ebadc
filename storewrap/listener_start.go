package storewrap

// This file holds the hooks through which a Querier runs its listener. New
// calls startListener once the caches exist, reads call bypassCache, Stats
// calls listenerStats and Close calls stopListener.
//
// NOTE: the listener is not built yet; these hooks start nothing.

// listener is the state of a Querier's listener, held in the state that a
// Querier shares with its transaction-bound copies.
//
//lint:ignore U1000 the listener's hooks below will use it.
type listener struct{}

// startListener starts receiving the invalidations of other replicas. New
// calls it after the caches are built; an error fails New, which then
// cancels the server context.
func (q *Querier) startListener() error {
	return nil
}

// stopListener stops what startListener started and waits for it to exit.
// Close calls it once, after cancelling the server context.
func (q *Querier) stopListener() error {
	return nil
}

// bypassCache reports whether hot reads must skip the caches, for example
// while the listener is disconnected and the options prefer load to
// staleness.
func (q *Querier) bypassCache() bool {
	return false
}

// listenerStats returns the listener's part of [Stats].
func (q *Querier) listenerStats() ListenerStats {
	return ListenerStats{}
}
