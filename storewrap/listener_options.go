package storewrap

// ListenerOptions configures the listener through which a replica receives
// the invalidations that other replicas publish on [Options.Channel].
//
// NOTE: the listener is not built yet, so ListenerOptions has no fields and
// New starts no listener. Until it is, a change made through another
// replica reaches this one's caches only when their TTL expires.
type ListenerOptions struct{}

// validate returns an error naming the first invalid field of o.
func (o *ListenerOptions) validate() error {
	return nil
}

// ListenerStats is a snapshot of the listener's state and counters, part of
// [Stats]. It has no fields until the listener is built.
type ListenerStats struct{}
