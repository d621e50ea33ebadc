package storewrap

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/coder/quartz"
)

// listenerKeepAlive makes the kernel notice a listener connection whose
// server vanished without closing it (a network partition or a crashed
// host) after about Idle + Interval*Count = 30s. The listener never writes
// on its own, so only keep-alive probes find such a loss, and Go's defaults
// (15s idle, 15s interval, 9 probes) take about 2.5 minutes.
var listenerKeepAlive = net.KeepAliveConfig{
	Enable:   true,
	Idle:     15 * time.Second,
	Interval: 5 * time.Second,
	Count:    3,
}

// listenerDialer opens the connections of a listener, implementing
// [pq.Dialer] and [pq.DialerContext], so that closing the listener can
// interrupt everything lib/pq does on the network. lib/pq v1.12.3 holds
// the Listener's lock while it dials, authenticates and sends LISTEN, and
// Listener.Close waits for that lock. Without this dialer, a Close during a
// connection attempt to an unresponsive server blocks until the attempt
// fails on its own, which may be never. close cancels dials, including the
// back-off wait before them, closes every connection the dialer opened, and
// makes later dials fail at once.
//
// The dialer also waits out the reconnect back-off itself, because
// lib/pq's own wait is a time.Sleep that Close cannot interrupt: the
// Listener is built with a tiny fixed interval, and the event callback
// arms the real wait through failed, disconnected and connected.
type listenerDialer struct {
	clock quartz.Clock
	net   net.Dialer
	min   time.Duration // back-off after the first failure, and reconnect spacing
	max   time.Duration // longest back-off

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc

	mu          sync.Mutex
	closed      bool                      // guarded by mu
	conns       map[*trackedConn]struct{} // guarded by mu; connections not yet closed
	interval    time.Duration             // guarded by mu; the next back-off after a failure
	waitUntil   time.Time                 // guarded by mu; when the next dial may start
	connectedAt time.Time                 // guarded by mu; the last successful connection
}

func newListenerDialer(clock quartz.Clock, minInterval, maxInterval time.Duration) *listenerDialer {
	ctx, cancel := context.WithCancel(context.Background())
	return &listenerDialer{
		clock:    clock,
		net:      net.Dialer{KeepAliveConfig: listenerKeepAlive},
		min:      minInterval,
		max:      maxInterval,
		ctx:      ctx,
		cancel:   cancel,
		conns:    make(map[*trackedConn]struct{}),
		interval: minInterval,
	}
}

// Dial implements [pq.Dialer].
func (d *listenerDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout implements [pq.Dialer].
func (d *listenerDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext implements [pq.DialerContext]. It first waits out the
// back-off armed by the last connection event, then dials under ctx and the
// dialer's own context.
func (d *listenerDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.ctx, cancel)
	defer stop()

	if err := d.wait(ctx); err != nil {
		return nil, err
	}
	conn, err := d.net.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return d.track(conn)
}

// wait sleeps until the armed back-off has passed, or until ctx is done.
// Only the first dial of a connection attempt waits: lib/pq may dial again
// within one attempt, for the next host of the DSN or without TLS.
func (d *listenerDialer) wait(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return net.ErrClosed
	}
	delay := d.clock.Until(d.waitUntil)
	d.waitUntil = time.Time{}
	d.mu.Unlock()

	if delay <= 0 {
		return nil
	}
	timer := d.clock.NewTimer(delay, "listener", "backoff")
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// track records conn so that close can close it, or closes it at once when
// the dialer closed while it was being dialed.
func (d *listenerDialer) track(conn net.Conn) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: conn, dialer: d}
	d.conns[tc] = struct{}{}
	return tc, nil
}

// failed arms the back-off after a failed connection attempt: the current
// interval, which then doubles up to max.
func (d *listenerDialer) failed() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	delay := d.interval
	d.waitUntil = d.clock.Now().Add(delay)
	d.interval = min(2*d.interval, d.max)
	return delay
}

// disconnected arms the wait after a lost connection: the next attempt
// starts no sooner than min after the lost connection was made, so a
// connection that keeps dropping right after it is made is not retried in a
// tight loop.
func (d *listenerDialer) disconnected() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.waitUntil = d.connectedAt.Add(d.min)
}

// connected resets the back-off after a successful connection.
func (d *listenerDialer) connected() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.interval = d.min
	d.waitUntil = time.Time{}
	d.connectedAt = d.clock.Now()
}

// close cancels dials in progress, closes every open connection and makes
// later dials fail with [net.ErrClosed].
func (d *listenerDialer) close() {
	d.mu.Lock()
	d.closed = true
	conns := make([]*trackedConn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()

	d.cancel()
	for _, c := range conns {
		_ = c.Close()
	}
}

// trackedConn is a connection that removes itself from its dialer's set
// when closed.
type trackedConn struct {
	net.Conn
	dialer *listenerDialer
	once   sync.Once
	err    error
}

// Close closes the connection once; later calls return the first result.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.dialer.mu.Lock()
		delete(c.dialer.conns, c)
		c.dialer.mu.Unlock()
		c.err = c.Conn.Close()
	})
	return c.err
}
