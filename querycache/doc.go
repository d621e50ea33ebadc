// Package querycache caches the results of one database query in process.
//
// An [Entry] caches a query keyed by its parameters; a [Singleton] caches a
// query without parameters. Both keep the contract of the query they wrap:
// a Get returns the value and the error the query would have returned.
//
// The guarantees, for a key k:
//
//   - Hits within [Options.TTL] never call the fill function. A hit takes no
//     exclusive lock, reads the clock once and allocates nothing beyond the
//     optional [Options.Clone].
//   - Concurrent misses of k share one fill. The fill runs under the context
//     given to [New], never under a caller's context, so a caller that gives
//     up gets its own ctx.Err() and the fill goes on for the others.
//   - After Invalidate(k) returns, no fill of k that was running is stored,
//     and every later Get of k waits for a fill that started after the
//     invalidation. A read that starts after a committed change and its
//     invalidation therefore sees the change.
//   - Errors are not stored, except the ones that [Options.NotFound] marks
//     as "not found", which are stored for [Options.NotFoundTTL].
//   - A panic in the fill reaches every waiter as a [*PanicError].
//   - With [Options.MaxEntries], the number of stored keys stays within the
//     bound, and expired keys are removed as new keys are stored.
//
// All methods are safe for concurrent use by multiple goroutines.
//
// Data served by an entry is at most TTL old, or TTL plus
// [Options.StaleWhileRefresh] when a refresh window is set, unless the
// caller invalidates the key when the data changes.
//
// The package imports no metrics library: [Entry.Stats] returns a snapshot
// of counters that an exporter can publish.
package querycache
