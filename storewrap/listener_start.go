package storewrap

import (
	"context"

	"github.com/hotread/hotread/chatdb"
)

// This file holds the hooks through which a Querier runs its listener. New
// calls startListener once the caches exist, reads call bypassCache, Stats
// calls listenerStats and Close calls stopListener.

// listener is the state of a Querier's listener, held in the state that a
// Querier shares with its transaction-bound copies. It is written once, by
// New, before the Querier is returned.
type listener struct {
	run    *invalidationListener // nil without Options.Listener.DSN
	bypass bool                  // Options.Listener.BypassCacheWhileDisconnected
}

// startListener starts receiving the invalidations of other replicas when
// Options.Listener.DSN is set. New calls it after the caches are built; an
// error fails New, which then cancels the server context.
func (q *Querier) startListener() error {
	s := q.s
	o := s.opts.Listener.withDefaults()
	if o.DSN == "" {
		return nil
	}
	run, err := startInvalidationListener(listenerConfig{
		dsn:          o.DSN,
		channel:      s.opts.Channel,
		minReconnect: o.MinReconnectInterval,
		maxReconnect: o.MaxReconnectInterval,
		checkTimeout: o.StartupCheckTimeout,
		clock:        s.opts.Clock,
		logger:       s.opts.Logger,
		apply:        s.invalidate,
		dropAll:      func() { s.invalidate(Invalidation{Kind: KindAll}) },
		notify: func(ctx context.Context, channel, payload string) error {
			return s.next.NotifyInvalidation(ctx, chatdb.NotifyInvalidationParams{
				Channel: channel,
				Payload: payload,
			})
		},
	})
	if err != nil {
		return err
	}
	s.listener = listener{run: run, bypass: o.BypassCacheWhileDisconnected}
	return nil
}

// stopListener stops what startListener started and waits for it to exit.
// Close calls it once, after cancelling the server context.
func (q *Querier) stopListener() error {
	if q.s.listener.run == nil {
		return nil
	}
	return q.s.listener.run.close()
}

// bypassCache reports whether hot reads must skip the caches, because the
// listener is not connected and the options prefer load to staleness.
func (q *Querier) bypassCache() bool {
	l := &q.s.listener
	return l.bypass && !l.run.isConnected()
}

// listenerStats returns the listener's part of [Stats].
func (q *Querier) listenerStats() ListenerStats {
	if q.s.listener.run == nil {
		return ListenerStats{}
	}
	return q.s.listener.run.stats()
}
