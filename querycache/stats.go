package querycache

// Stats is a snapshot of an entry's counters. Every field except Entries
// only grows over the entry's life, so the difference of two snapshots
// counts what happened between them.
type Stats struct {
	// Hits counts Gets served from a fresh stored value.
	Hits uint64
	// NegativeHits counts Gets served from a stored "not found" error.
	NegativeHits uint64
	// StaleHits counts Gets served from an expired value inside the
	// StaleWhileRefresh window.
	StaleHits uint64
	// Misses counts Gets that found nothing usable and waited for a fill,
	// whether they started it or joined one.
	Misses uint64
	// Coalesced counts the Misses that joined a fill another caller had
	// already started, instead of starting their own.
	Coalesced uint64
	// Fills counts calls of the fill function, that is, database calls.
	Fills uint64
	// Refreshes counts the Fills that a stale hit started in the
	// background.
	Refreshes uint64
	// FillErrors counts fills that returned an error not matched by
	// NotFound, or panicked.
	FillErrors uint64
	// FillPanics counts the FillErrors that were panics.
	FillPanics uint64
	// StaleFillsDiscarded counts fills whose result was not stored because
	// an invalidation of their key happened while they ran.
	StaleFillsDiscarded uint64
	// Invalidations counts calls of Invalidate and InvalidateAll.
	Invalidations uint64
	// Evictions counts keys removed to stay within MaxEntries.
	Evictions uint64
	// Expirations counts expired keys removed by the background sweep that
	// runs as new keys are stored.
	Expirations uint64
	// Entries is the number of keys stored at the time of the snapshot.
	Entries int
}
