package storewrap

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/lib/pq"
)

// Defaults for the zero values of [ListenerOptions]. The reconnect
// intervals are those of lib/pq's Listener example.
const (
	DefaultMinReconnectInterval = 10 * time.Second
	DefaultMaxReconnectInterval = time.Minute
	DefaultStartupCheckTimeout  = 5 * time.Second
)

// ListenerOptions configures the listener through which a replica receives
// the invalidations that other replicas, and the SQL triggers of
// [github.com/hotread/hotread.Triggers], publish on [Options.Channel]. With
// a DSN, [New] starts a listener on a connection of its own, and
// [Querier.Close] stops it.
//
// Each notification invalidates what the change it names makes stale, as
// [Querier.Invalidate] does. The listener drops every cached read when it
// connects or reconnects, because notifications may have been lost while it
// was not connected. It also drops everything when a payload cannot be
// parsed, and when notifications arrive faster than they are applied.
// While it is disconnected, cached reads are bounded by their TTL, unless
// BypassCacheWhileDisconnected is set.
type ListenerOptions struct {
	// DSN is the connection string of the listener's own connection, in
	// any form that lib/pq accepts. It must reach the database of the
	// wrapped Querier directly or through a session-pooling proxy: a
	// transaction-pooling proxy, such as PgBouncer in transaction mode,
	// accepts LISTEN but does not deliver notifications. Empty means no
	// listener: changes made through other replicas reach this one when
	// its cached reads expire.
	DSN string

	// MinReconnectInterval is the wait after the first failed connection
	// attempt; each further failure doubles it, up to MaxReconnectInterval.
	// A lost connection is retried at once, unless it was made less than
	// MinReconnectInterval ago. Zero means DefaultMinReconnectInterval
	// (10s); it must not be negative.
	MinReconnectInterval time.Duration

	// MaxReconnectInterval is the longest wait between connection
	// attempts. Zero means DefaultMaxReconnectInterval (1m), or
	// MinReconnectInterval when that is longer; it must not be negative
	// nor shorter than MinReconnectInterval.
	MaxReconnectInterval time.Duration

	// BypassCacheWhileDisconnected sends hot reads straight to the wrapped
	// Querier while the listener is not connected, for users who prefer
	// load on the database to data as old as the TTL. That includes the
	// time before the first connection, when StartupCheckTimeout is
	// negative. It requires a DSN.
	BypassCacheWhileDisconnected bool

	// StartupCheckTimeout bounds the check that New runs before it
	// returns: connect, LISTEN on the channel and on a random probe
	// channel, send a probe notification through the wrapped Querier and
	// wait for it to arrive. New fails with an error wrapping
	// [ErrListenerStartup] when the check does not pass in time, so that a
	// listener that would never receive anything fails loudly. The probe
	// uses its own channel, so other replicas never receive it.
	//
	// Zero means DefaultStartupCheckTimeout (5s). A negative value skips
	// the check: New returns at once, the listener connects in the
	// background, and its errors are logged to [Options.Logger].
	StartupCheckTimeout time.Duration
}

// validate returns an error naming the first invalid field of o.
func (o *ListenerOptions) validate() error {
	switch {
	case o.MinReconnectInterval < 0:
		return fmt.Errorf("%w: Listener.MinReconnectInterval is %v, want zero (default %v) "+
			"or a positive duration", ErrInvalidOptions, o.MinReconnectInterval, DefaultMinReconnectInterval)
	case o.MaxReconnectInterval < 0:
		return fmt.Errorf("%w: Listener.MaxReconnectInterval is %v, want zero (default %v) "+
			"or a positive duration", ErrInvalidOptions, o.MaxReconnectInterval, DefaultMaxReconnectInterval)
	case o.MaxReconnectInterval != 0 && o.MaxReconnectInterval < o.MinReconnectInterval:
		return fmt.Errorf("%w: Listener.MaxReconnectInterval %v is shorter than "+
			"Listener.MinReconnectInterval %v", ErrInvalidOptions, o.MaxReconnectInterval, o.MinReconnectInterval)
	case o.MaxReconnectInterval != 0 && o.MinReconnectInterval == 0 &&
		o.MaxReconnectInterval < DefaultMinReconnectInterval:
		return fmt.Errorf("%w: Listener.MaxReconnectInterval %v is shorter than the default "+
			"Listener.MinReconnectInterval %v; set both", ErrInvalidOptions, o.MaxReconnectInterval,
			DefaultMinReconnectInterval)
	case o.DSN == "" && o.BypassCacheWhileDisconnected:
		return fmt.Errorf("%w: Listener.BypassCacheWhileDisconnected is set but Listener.DSN is "+
			"empty, so there is no listener to be disconnected", ErrInvalidOptions)
	}
	if o.DSN == "" {
		return nil
	}
	if _, err := pq.NewConfig(o.DSN); err != nil {
		// A URL that does not parse comes back quoted in the error, and
		// it may contain a password.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return fmt.Errorf("%w: Listener.DSN is not a valid connection string: %w", ErrInvalidOptions, err)
	}
	return nil
}

// withDefaults returns a copy of o with every zero field that has a
// default set to it. o must be valid.
func (o ListenerOptions) withDefaults() ListenerOptions {
	if o.MinReconnectInterval == 0 {
		o.MinReconnectInterval = DefaultMinReconnectInterval
	}
	if o.MaxReconnectInterval == 0 {
		o.MaxReconnectInterval = max(DefaultMaxReconnectInterval, o.MinReconnectInterval)
	}
	if o.StartupCheckTimeout == 0 {
		o.StartupCheckTimeout = DefaultStartupCheckTimeout
	}
	return o
}

// ListenerStats is a snapshot of the listener's state and counters, part of
// [Stats]. Without [ListenerOptions.DSN] every field is zero.
type ListenerStats struct {
	// Connected reports whether the listener is connected and listening,
	// and has dropped every cached read since it last was not. Only then
	// do changes made through other replicas reach this one within the
	// time a notification takes to arrive, rather than within the TTL.
	Connected bool

	// Reconnects counts the connections made after a lost one.
	Reconnects uint64

	// Notifications counts the notifications received on [Options.Channel],
	// including those that this replica's own mutations sent, which it has
	// already applied locally and applies again.
	Notifications uint64

	// MalformedPayloads counts the notifications whose payload
	// [ParsePayload] rejected. Each one causes a drop of every cached
	// read, which several may share.
	MalformedPayloads uint64

	// DropAlls counts the times the listener dropped every cached read:
	// when it connected or reconnected, after a malformed payload, and when
	// notifications arrived faster than they were applied. Several causes
	// that occur before the drop share it. A "v1:all" payload is applied
	// like any other notification and not counted here.
	DropAlls uint64
}
