package querycache

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/coder/quartz"
)

// ErrInvalidOptions is wrapped by the error that [New] and [NewSingleton]
// return when a field of [Options] is out of range.
var ErrInvalidOptions = errors.New("querycache: invalid options")

// Options configures an [Entry] or a [Singleton]. [New] validates a copy and
// never modifies the caller's struct. Only TTL must be set; every other zero
// value selects the documented default.
type Options[V any] struct {
	// TTL is how long a stored value is served before the next Get fills it
	// again. It must be positive.
	TTL time.Duration

	// TTLJitter shortens the lifetime of each stored value by a random
	// fraction of TTL, drawn uniformly from [0, TTLJitter), so that keys and
	// replicas filled at the same moment do not expire together. Jitter only
	// shortens lifetimes, so TTL stays the upper bound. It must be in [0, 1);
	// zero disables jitter.
	TTLJitter float64

	// StaleWhileRefresh is how long after its expiry a value may still be
	// returned while a single background fill refreshes it. A caller that
	// finds such a value gets it at once, without waiting for the database.
	// An invalidation removes the value, so a value is never served after
	// an invalidation of its key. Zero disables the window, so every Get
	// after expiry waits for a fill. With a window, data can be up to
	// TTL + StaleWhileRefresh old.
	StaleWhileRefresh time.Duration

	// NotFound reports whether an error returned by the fill means that the
	// row does not exist. Such an error is stored for NotFoundTTL and
	// returned unchanged by later Gets, so errors.Is keeps working on it.
	// Any other error is never stored. Nil means no error is stored.
	NotFound func(error) bool

	// NotFoundTTL is how long an error matched by NotFound is stored. Zero
	// means TTL. It must not be negative.
	NotFoundTTL time.Duration

	// Clone copies a value. When set, the cache stores a clone of each
	// filled value and hands every caller its own clone, so no caller can
	// change what another sees. Nil means every caller shares the stored
	// value and must treat it as read-only.
	Clone func(V) V

	// MaxEntries bounds how many keys the entry stores, values and cached
	// "not found" errors alike. When the bound is reached, a new key evicts
	// one that has not been read recently (the CLOCK approximation of LRU).
	// Zero means no bound. It must not be negative.
	MaxEntries int

	// Clock is the time source for TTLs. Nil means the real clock. Tests
	// pass quartz's mock clock to drive expiry without sleeping.
	Clock quartz.Clock
}

// validate returns an error naming the first invalid field of o.
func (o *Options[V]) validate() error {
	switch {
	case o.TTL <= 0:
		return fmt.Errorf("%w: TTL is %v, want a positive duration", ErrInvalidOptions, o.TTL)
	case o.TTLJitter < 0 || o.TTLJitter >= 1 || math.IsNaN(o.TTLJitter):
		return fmt.Errorf("%w: TTLJitter is %v, want a fraction in [0, 1)",
			ErrInvalidOptions, o.TTLJitter)
	case o.StaleWhileRefresh < 0:
		return fmt.Errorf("%w: StaleWhileRefresh is %v, want zero or a positive duration",
			ErrInvalidOptions, o.StaleWhileRefresh)
	case o.NotFoundTTL < 0:
		return fmt.Errorf("%w: NotFoundTTL is %v, want zero or a positive duration",
			ErrInvalidOptions, o.NotFoundTTL)
	case o.MaxEntries < 0:
		return fmt.Errorf("%w: MaxEntries is %d, want zero (no bound) or more",
			ErrInvalidOptions, o.MaxEntries)
	}
	return nil
}
