package storewrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/quartz"
	"github.com/lib/pq"
)

// ErrListenerStartup is wrapped by the error that [New] returns when the
// listener's startup check fails: no connection within
// [ListenerOptions.StartupCheckTimeout], a LISTEN that PostgreSQL rejects,
// or a probe notification that does not come back.
var ErrListenerStartup = errors.New("storewrap: listener startup check failed")

const (
	// pqRetryInterval is the reconnect interval given to lib/pq. lib/pq
	// sleeps that long between attempts in a time.Sleep that Close cannot
	// interrupt, so it is kept tiny. The configured back-off is waited out
	// by listenerDialer instead, which close interrupts.
	pqRetryInterval = 10 * time.Millisecond

	// applyQueueLen is how many parsed notifications may wait to be
	// applied. When the queue is full, the next notification is replaced
	// by one drop of everything.
	applyQueueLen = 256

	// closeTimeout bounds, in real time, how long close waits for lib/pq's
	// goroutine to end. It is a safety net: with the dialer closing every
	// connection, that goroutine ends within about pqRetryInterval.
	closeTimeout = 5 * time.Second
)

// listenerConfig contains the settings and callbacks that an
// invalidationListener takes from the Querier.
type listenerConfig struct {
	dsn          string
	channel      string
	minReconnect time.Duration
	maxReconnect time.Duration
	checkTimeout time.Duration // zero or less: no startup check
	clock        quartz.Clock
	logger       *slog.Logger

	// apply applies one invalidation received from another replica, and
	// dropAll drops every cached read. Both must return quickly: they run
	// on the listener's goroutines, and dropAll also on lib/pq's.
	apply   func(Invalidation)
	dropAll func()

	// notify sends a notification on channel, for the startup check.
	notify func(ctx context.Context, channel, payload string) error
}

// invalidationListener receives the invalidations that other replicas and
// triggers publish, through a lib/pq Listener on its own connection, and
// applies them.
//
// Three goroutines run. lib/pq's owns the connection, reconnects, and sends
// notifications on its Notify channel. receive drains that channel at once,
// so that lib/pq never waits, parses each payload and queues it. applyLoop
// applies the queue. A full queue and a payload that cannot be parsed turn
// into a request to drop every cached read, and requests that arrive before
// applyLoop handles them share one drop.
//
// Connection events arrive on lib/pq's goroutine through onEvent. Each
// time the listener becomes connected and listening it drops every cached
// read, since notifications may have been lost while it was not, and only
// then reports itself connected.
type invalidationListener struct {
	cfg    listenerConfig
	dialer *listenerDialer
	pq     *pq.Listener

	// probeChannel and probeToken make up the startup check's notification.
	// The channel is random, so no other listener receives the probe.
	probeChannel string
	probeToken   string
	probed       chan struct{} // receives once the probe has arrived
	attemptFail  chan error    // receives the first failed connection attempt

	queue       chan Invalidation // parsed notifications for applyLoop
	wake        chan struct{}     // signals applyLoop that dropPending is set
	dropPending atomic.Bool       // set when everything must be dropped once

	closing    atomic.Bool
	stop       chan struct{} // closed by close to end applyLoop
	received   chan struct{} // closed when receive returns
	applied    chan struct{} // closed when applyLoop returns
	listenDone chan struct{} // closed when the goroutine calling Listen returns
	closeOnce  sync.Once
	closeErr   error

	mu        sync.Mutex
	pqUp      bool   // guarded by mu; lib/pq reports a connection
	listening bool   // guarded by mu; LISTEN on the channel succeeded
	up        bool   // guarded by mu; pqUp && listening
	epoch     uint64 // guarded by mu; advanced by every update that leaves up false
	lastErr   error  // guarded by mu; the last connection error lib/pq reported

	connected     atomic.Bool // up, and every cached read dropped since
	reconnects    atomic.Uint64
	notifications atomic.Uint64
	malformed     atomic.Uint64
	dropAlls      atomic.Uint64
	nils          uint64 // nil notifications seen; receive only

	malformedLog  logLimiter
	connectionLog logLimiter // lost connections and failed attempts
	reconnectLog  logLimiter
	burstLog      logLimiter
}

// startInvalidationListener starts a listener on cfg.channel. With a
// startup check it returns once the check has passed, or fails and leaves
// nothing running. Without one it returns at once and connects in the
// background, reporting errors to cfg.logger.
func startInvalidationListener(cfg listenerConfig) (*invalidationListener, error) {
	probeChannel, err := randomHex()
	if err != nil {
		return nil, err
	}
	probeToken, err := randomHex()
	if err != nil {
		return nil, err
	}
	l := &invalidationListener{
		cfg:           cfg,
		dialer:        newListenerDialer(cfg.clock, cfg.minReconnect, cfg.maxReconnect),
		probeChannel:  "hotread_probe_" + probeChannel,
		probeToken:    probeToken,
		probed:        make(chan struct{}, 1),
		attemptFail:   make(chan error, 1),
		queue:         make(chan Invalidation, applyQueueLen),
		wake:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		received:      make(chan struct{}),
		applied:       make(chan struct{}),
		listenDone:    make(chan struct{}),
		malformedLog:  logLimiter{clock: cfg.clock, interval: logInterval},
		connectionLog: logLimiter{clock: cfg.clock, interval: logInterval},
		reconnectLog:  logLimiter{clock: cfg.clock, interval: logInterval},
		burstLog:      logLimiter{clock: cfg.clock, interval: logInterval},
	}
	l.pq = pq.NewDialListener(l.dialer, cfg.dsn, pqRetryInterval, pqRetryInterval, l.onEvent)
	go l.receive()
	go l.applyLoop()

	if cfg.checkTimeout <= 0 {
		go l.listenInBackground()
		return l, nil
	}
	if err := l.check(); err != nil {
		_ = l.close()
		return nil, err
	}
	return l, nil
}

func randomHex() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("storewrap: random probe name: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// listen sends LISTEN on the channel, waiting for a connection if there is
// none, and marks the listener as listening once it succeeds.
func (l *invalidationListener) listen() error {
	if err := l.pq.Listen(l.cfg.channel); err != nil {
		return err
	}
	l.update(func() { l.listening = true })
	return nil
}

// listenInBackground calls listen without a startup check and logs its
// error, which only a LISTEN that PostgreSQL rejects can cause.
func (l *invalidationListener) listenInBackground() {
	defer close(l.listenDone)
	if err := l.listen(); err != nil && !l.closing.Load() {
		l.cfg.logger.Error("storewrap: listener failed to LISTEN; changes made through other "+
			"replicas reach this one only when its cached reads expire",
			"channel", l.cfg.channel, "error", err)
	}
}

// check listens on the channel and on the probe channel, sends the probe
// through cfg.notify and waits for it, all within cfg.checkTimeout. A
// transaction-pooling proxy accepts LISTEN but does not deliver
// notifications, so only a probe that comes back shows that invalidations
// will arrive.
//
// The probe channel stays listened afterwards: nothing else sends on it,
// and UNLISTEN could block New on a connection that stops responding.
func (l *invalidationListener) check() error {
	timeout := l.cfg.checkTimeout
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timer := l.cfg.clock.AfterFunc(timeout, cancel, "listener", "startup")
	defer timer.Stop()

	listened := make(chan error, 1)
	go func() {
		defer close(l.listenDone)
		err := l.listen()
		if err == nil {
			err = l.pq.Listen(l.probeChannel)
		}
		listened <- err
	}()
	select {
	case err := <-listened:
		if err != nil {
			return fmt.Errorf("%w: LISTEN on channel %s: %w", ErrListenerStartup, l.cfg.channel, err)
		}
	case err := <-l.attemptFail:
		// The next attempt waits for the reconnect interval, usually
		// longer than the check's timeout, so report this one at once.
		return fmt.Errorf("%w: connect to Listener.DSN: %w", ErrListenerStartup, err)
	case <-ctx.Done():
		return fmt.Errorf("%w: not connected within %v: %w",
			ErrListenerStartup, timeout, l.lastError())
	}

	if err := l.cfg.notify(ctx, l.probeChannel, l.probeToken); err != nil {
		return fmt.Errorf("%w: send the probe notification on channel %s: %w",
			ErrListenerStartup, l.probeChannel, err)
	}
	select {
	case <-l.probed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the probe notification did not arrive within %v. The listener's "+
			"DSN must reach the Querier's database directly or through a session-pooling proxy: "+
			"a transaction-pooling proxy, such as PgBouncer in transaction mode, does not "+
			"deliver notifications", ErrListenerStartup, timeout)
	}
}

// lastError returns the last connection error, or an error saying that
// there was none.
func (l *invalidationListener) lastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr == nil {
		return errors.New("no connection attempt has completed or failed yet, so the server " +
			"or the network does not respond")
	}
	return l.lastErr
}

// onEvent is lib/pq's event callback. It runs on lib/pq's goroutine before
// that goroutine sends any notification of the new connection.
func (l *invalidationListener) onEvent(event pq.ListenerEventType, err error) {
	if l.closing.Load() {
		return
	}
	switch event {
	case pq.ListenerEventConnected:
		l.dialer.connected()
		l.update(func() { l.pqUp = true })

	case pq.ListenerEventReconnected:
		l.dialer.connected()
		n := l.reconnects.Add(1)
		l.update(func() { l.pqUp = true })
		if ok, suppressed := l.reconnectLog.allow(); ok {
			l.cfg.logger.Info("storewrap: listener reconnected and dropped every cached read, "+
				"because notifications may have been lost while it was disconnected",
				"channel", l.cfg.channel, "reconnects", n, "suppressed", suppressed)
		}

	case pq.ListenerEventDisconnected:
		l.dialer.disconnected()
		l.update(func() { l.pqUp = false; l.lastErr = err })
		if ok, suppressed := l.connectionLog.allow(); ok {
			l.cfg.logger.Warn("storewrap: listener lost its connection; cached reads are bounded "+
				"by their TTL until it reconnects",
				"channel", l.cfg.channel, "error", err, "suppressed", suppressed)
		}

	case pq.ListenerEventConnectionAttemptFailed:
		retryIn := l.dialer.failed()
		l.update(func() { l.pqUp = false; l.lastErr = err })
		select {
		case l.attemptFail <- err:
		default:
		}
		if ok, suppressed := l.connectionLog.allow(); ok {
			l.cfg.logger.Warn("storewrap: listener failed to connect; retrying",
				"channel", l.cfg.channel, "error", err, "retry_in", retryIn, "suppressed", suppressed)
		}
	}
}

// update applies change to the connection flags. When the listener becomes
// connected and listening, update drops every cached read and only then
// reports it connected, unless the connection was lost meanwhile.
func (l *invalidationListener) update(change func()) {
	l.mu.Lock()
	wasUp := l.up
	change()
	l.up = l.pqUp && l.listening
	if !l.up {
		l.epoch++
		l.connected.Store(false)
	}
	epoch := l.epoch
	becameUp := l.up && !wasUp
	l.mu.Unlock()

	if !becameUp {
		return
	}
	l.drop()
	l.mu.Lock()
	if l.up && l.epoch == epoch {
		l.connected.Store(true)
	}
	l.mu.Unlock()
}

// drop drops every cached read and counts it.
func (l *invalidationListener) drop() {
	l.dropAlls.Add(1)
	l.cfg.dropAll()
}

// receive drains lib/pq's Notify channel until lib/pq closes it. Its sends
// to applyLoop never block: a full queue becomes a drop request.
func (l *invalidationListener) receive() {
	defer close(l.received)
	for n := range l.pq.Notify {
		l.handle(n)
	}
}

func (l *invalidationListener) handle(n *pq.Notification) {
	switch {
	case n == nil:
		// lib/pq sends nil right after the Reconnected event, for which
		// onEvent has already dropped everything. A nil without that
		// event drops everything here.
		l.nils++
		if l.nils > l.reconnects.Load() {
			l.requestDrop()
		}
		return
	case n.Channel == l.probeChannel:
		if n.Extra == l.probeToken {
			select {
			case l.probed <- struct{}{}:
			default:
			}
		}
		return
	case n.Channel != l.cfg.channel:
		return
	}

	l.notifications.Add(1)
	inv, err := ParsePayload(n.Extra)
	if err != nil {
		l.requestDrop()
		// The payload itself is not logged: anyone who can connect can
		// send one, and it may contain user data.
		if ok, suppressed := l.malformedLog.allow(); ok {
			l.cfg.logger.Warn("storewrap: dropped every cached read after an invalid notification payload",
				"channel", n.Channel, "sender_pid", n.BePid, "payload_bytes", len(n.Extra),
				"error", err, "suppressed", suppressed)
		}
		// Counted last, so that a reader who sees the count also sees the
		// log line.
		l.malformed.Add(1)
		return
	}
	select {
	case l.queue <- inv:
	default:
		l.requestDrop()
		if ok, suppressed := l.burstLog.allow(); ok {
			l.cfg.logger.Info("storewrap: notifications arrived faster than they were applied; "+
				"dropping every cached read once instead", "channel", n.Channel,
				"queue_len", applyQueueLen, "suppressed", suppressed)
		}
	}
}

// requestDrop signals applyLoop to drop everything once, however many times
// it is called before applyLoop handles the request.
func (l *invalidationListener) requestDrop() {
	l.dropPending.Store(true)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// applyLoop applies queued invalidations and requested drops until close.
func (l *invalidationListener) applyLoop() {
	defer close(l.applied)
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
			l.dropIfPending()
		case inv := <-l.queue:
			if !l.dropIfPending() {
				l.cfg.apply(inv)
			}
		}
	}
}

// dropIfPending drops everything if a drop was requested, and reports
// whether it did. It first empties the queue: every queued invalidation
// was received before the drop, which covers it.
func (l *invalidationListener) dropIfPending() bool {
	if !l.dropPending.Swap(false) {
		return false
	}
	for len(l.queue) > 0 {
		<-l.queue
	}
	l.drop()
	return true
}

// stats returns a snapshot of the listener's state and counters.
func (l *invalidationListener) stats() ListenerStats {
	return ListenerStats{
		Connected:         l.connected.Load(),
		Reconnects:        l.reconnects.Load(),
		Notifications:     l.notifications.Load(),
		MalformedPayloads: l.malformed.Load(),
		DropAlls:          l.dropAlls.Load(),
	}
}

// isConnected reports whether the listener is connected, listening, and
// has dropped every cached read since it last was not.
func (l *invalidationListener) isConnected() bool {
	return l.connected.Load()
}

// close stops the listener and waits for its goroutines, at most
// closeTimeout in all. It is safe to call more than once; later calls
// return the first call's result.
func (l *invalidationListener) close() error {
	l.closeOnce.Do(func() {
		l.closing.Store(true)
		l.mu.Lock()
		l.epoch++
		l.connected.Store(false)
		l.mu.Unlock()

		// Closing the dialer first ends any connection attempt, so that
		// lib/pq releases the lock that Listener.Close waits for. Close
		// still runs on its own goroutine, so that a lib/pq that blocks
		// anyway cannot block this one beyond closeTimeout.
		l.dialer.close()
		pqClosed := make(chan struct{})
		go func() {
			defer close(pqClosed)
			_ = l.pq.Close()
		}()

		if !waitClosed(closeTimeout, pqClosed, l.received, l.listenDone) {
			l.closeErr = fmt.Errorf("storewrap: listener on channel %s did not stop within %v; "+
				"its goroutines end when lib/pq's does", l.cfg.channel, closeTimeout)
		}
		close(l.stop)
		<-l.applied
	})
	return l.closeErr
}

// waitClosed waits until every channel of chans is closed, and reports
// false when that takes longer than timeout, in real time.
func waitClosed(timeout time.Duration, chans ...chan struct{}) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, c := range chans {
		select {
		case <-c:
		case <-deadline.C:
			return false
		}
	}
	return true
}
