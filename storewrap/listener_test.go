package storewrap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/quartz"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/hotread/hotread/internal/pgserver"
)

// waitTimeout bounds every wait for something to happen on loopback.
const waitTimeout = 10 * time.Second

// waitUntil polls cond until it holds, and fails the test after
// waitTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", waitTimeout, what)
		}
		<-tick.C
	}
}

// applyRecorder stands in for a Querier's caches: it records what a listener
// applies and how often it drops everything.
type applyRecorder struct {
	block chan struct{} // when not nil, apply waits until it is closed

	mu      sync.Mutex
	applied []Invalidation // guarded by mu
	drops   int            // guarded by mu
}

func (r *applyRecorder) apply(inv Invalidation) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, inv)
}

func (r *applyRecorder) dropAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drops++
}

func (r *applyRecorder) snapshot() (applied []Invalidation, drops int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.applied), r.drops
}

// logCapture is a slog.Handler that keeps every record as text.
type logCapture struct {
	mu    sync.Mutex
	lines []string // guarded by mu
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCapture) WithGroup(string) slog.Handler            { return h }

func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, b.String())
	return nil
}

// matching returns the lines that contain substr.
func (h *logCapture) matching(substr string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for _, l := range h.lines {
		if strings.Contains(l, substr) {
			lines = append(lines, l)
		}
	}
	return lines
}

// testDatabase returns the DSN of a fresh test database and a pool on it,
// closed when the test ends.
func testDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dsn := pgserver.TestDSN(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open the test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return dsn, db
}

func notifyFunc(db *sql.DB) func(ctx context.Context, channel, payload string) error {
	return func(ctx context.Context, channel, payload string) error {
		_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload)
		return err
	}
}

func sendNotification(t *testing.T, db *sql.DB, payload string) {
	t.Helper()
	if err := notifyFunc(db)(t.Context(), DefaultChannel, payload); err != nil {
		t.Fatalf("pg_notify(%d-byte payload): %v", len(payload), err)
	}
}

// listenerFixture is a listener under test with what it applied and
// logged.
type listenerFixture struct {
	*invalidationListener
	rec  *applyRecorder
	logs *logCapture
}

// testListenerConfig returns a configuration for a listener on dsn that
// applies to rec and logs to logs, with short reconnect intervals and a
// startup check that sends through db.
func testListenerConfig(dsn string, db *sql.DB, rec *applyRecorder, logs *logCapture) listenerConfig {
	return listenerConfig{
		dsn:          dsn,
		channel:      DefaultChannel,
		minReconnect: 10 * time.Millisecond,
		maxReconnect: 100 * time.Millisecond,
		checkTimeout: waitTimeout,
		clock:        quartz.NewReal(),
		logger:       slog.New(logs),
		apply:        rec.apply,
		dropAll:      rec.dropAll,
		notify:       notifyFunc(db),
	}
}

// startListener starts a listener with the configuration of
// testListenerConfig, changed by edit when it is not nil, and closes it
// when the test ends.
func startListener(t *testing.T, dsn string, db *sql.DB, edit func(*listenerConfig)) listenerFixture {
	t.Helper()
	f := listenerFixture{rec: &applyRecorder{}, logs: &logCapture{}}
	cfg := testListenerConfig(dsn, db, f.rec, f.logs)
	if edit != nil {
		edit(&cfg)
	}
	l, err := startInvalidationListener(cfg)
	if err != nil {
		t.Fatalf("start the listener: %v", err)
	}
	t.Cleanup(func() {
		if err := l.close(); err != nil {
			t.Errorf("close the listener: %v", err)
		}
	})
	f.invalidationListener = l
	return f
}

func TestListenerAppliesEveryKind(t *testing.T) {
	dsn, db := testDatabase(t)
	l := startListener(t, dsn, db, nil)
	if st := l.stats(); !st.Connected || st.DropAlls != 1 {
		t.Fatalf("after the startup check: Connected %v and DropAlls %d, want true and 1",
			st.Connected, st.DropAlls)
	}

	id := uuid.New()
	want := []Invalidation{
		{Kind: KindProvider, ID: id},
		{Kind: KindModelConfig, ID: id},
		{Kind: KindModelConfigs},
		{Kind: KindUserPrompt, ID: id},
		{Kind: KindAll},
	}
	for _, inv := range want {
		sendNotification(t, db, inv.Payload())
	}
	waitUntil(t, "every notification is applied", func() bool {
		applied, _ := l.rec.snapshot()
		return len(applied) >= len(want)
	})

	applied, drops := l.rec.snapshot()
	if !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v in order", applied, want)
	}
	if drops != 1 {
		t.Errorf("dropAll called %d times, want once, when the listener connected", drops)
	}
	st := l.stats()
	if st.Notifications != uint64(len(want)) {
		t.Errorf("Notifications = %d, want %d", st.Notifications, len(want))
	}
	if st.MalformedPayloads != 0 {
		t.Errorf("MalformedPayloads = %d, want 0", st.MalformedPayloads)
	}
	if st.DropAlls != 1 {
		t.Errorf("DropAlls = %d, want 1", st.DropAlls)
	}
}

func TestListenerMalformedPayloads(t *testing.T) {
	dsn, db := testDatabase(t)
	l := startListener(t, dsn, db, nil)

	// PostgreSQL rejects payloads of 8000 bytes or more.
	tests := []struct {
		name    string
		payload string
	}{
		{"empty", ""},
		{"no version", "SECRET-no-version"},
		{"unknown version", "v2:user_prompt:SECRET-unknown-version"},
		{"unknown kind", "v1:SECRET-kind"},
		{"id not a UUID", "v1:user_prompt:SECRET-id"},
		{"prompt text", "v1:user_prompt:" + uuid.NewString() + ":SECRET prompt text"},
		{"oversized", "v1:all:" + strings.Repeat("SECRET-", 7992/7)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := l.stats()
			_, dropsBefore := l.rec.snapshot()
			sendNotification(t, db, tt.payload)
			waitUntil(t, "the payload is counted as malformed", func() bool {
				return l.stats().MalformedPayloads == before.MalformedPayloads+1
			})
			waitUntil(t, "everything is dropped", func() bool {
				_, drops := l.rec.snapshot()
				return drops == dropsBefore+1
			})
			if got := l.stats().DropAlls; got != before.DropAlls+1 {
				t.Errorf("DropAlls = %d, want %d", got, before.DropAlls+1)
			}
			if got := l.stats().Notifications; got != before.Notifications+1 {
				t.Errorf("Notifications = %d, want %d", got, before.Notifications+1)
			}
			lines := l.logs.matching("invalid notification payload")
			if i == 0 {
				if len(lines) != 1 {
					t.Fatalf("log lines about invalid payloads: %q, want one", lines)
				}
				if want := fmt.Sprintf("payload_bytes=%d", len(tt.payload)); !strings.Contains(lines[0], want) {
					t.Errorf("log line %q does not contain %s", lines[0], want)
				}
			} else if len(lines) != 1 {
				// The limiter lets one line through per logInterval.
				t.Errorf("log lines about invalid payloads: %d, want still one", len(lines))
			}
		})
	}

	if lines := l.logs.matching("SECRET"); len(lines) != 0 {
		t.Errorf("log lines quote a payload: %q", lines)
	}
	inv := Invalidation{Kind: KindUserPrompt, ID: uuid.New()}
	sendNotification(t, db, inv.Payload())
	waitUntil(t, "a valid notification is applied", func() bool {
		applied, _ := l.rec.snapshot()
		return slices.Contains(applied, inv)
	})
}

func TestListenerMalformedLogRateLimited(t *testing.T) {
	dsn, db := testDatabase(t)
	clock := quartz.NewMock(t)
	l := startListener(t, dsn, db, func(cfg *listenerConfig) { cfg.clock = clock })

	sendMalformed := func(count int) {
		t.Helper()
		want := l.stats().MalformedPayloads + uint64(count)
		for range count {
			sendNotification(t, db, "malformed")
		}
		waitUntil(t, "every payload is counted", func() bool {
			return l.stats().MalformedPayloads == want
		})
	}
	sendMalformed(3)
	if lines := l.logs.matching("invalid notification payload"); len(lines) != 1 {
		t.Fatalf("after three payloads within one interval: %d log lines, want 1", len(lines))
	}

	clock.Advance(logInterval).MustWait(t.Context())
	sendMalformed(1)
	lines := l.logs.matching("invalid notification payload")
	if len(lines) != 2 {
		t.Fatalf("after one more payload an interval later: %d log lines, want 2", len(lines))
	}
	if !strings.Contains(lines[1], "suppressed=2") {
		t.Errorf("second log line %q does not count the 2 suppressed lines", lines[1])
	}
}

// terminateBackend ends the server process of the connection whose
// application_name is name, as an administrator or a failover would.
func terminateBackend(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	var pids []int
	rows, err := db.QueryContext(t.Context(),
		"SELECT pid FROM pg_stat_activity WHERE application_name = $1", name)
	if err != nil {
		t.Fatalf("find the backend named %s: %v", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatalf("scan pid: %v", err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("find the backend named %s: %v", name, err)
	}
	if len(pids) != 1 {
		t.Fatalf("backends named %s: %v, want one", name, pids)
	}

	var terminated bool
	if err := db.QueryRowContext(t.Context(), "SELECT pg_terminate_backend($1)", pids[0]).Scan(&terminated); err != nil {
		t.Fatalf("pg_terminate_backend(%d): %v", pids[0], err)
	}
	if !terminated {
		t.Fatalf("pg_terminate_backend(%d) returned false", pids[0])
	}
}

func TestListenerReconnectsAfterTerminate(t *testing.T) {
	dsn, db := testDatabase(t)
	const name = "hotread_listener_terminate"
	l := startListener(t, dsnWith(t, dsn, map[string]string{"application_name": name}), db, nil)
	_, dropsBefore := l.rec.snapshot()

	terminateBackend(t, db, name)
	waitUntil(t, "the listener reconnects", func() bool {
		st := l.stats()
		return st.Reconnects == 1 && st.Connected
	})

	if _, drops := l.rec.snapshot(); drops != dropsBefore+1 {
		t.Errorf("dropAll called %d times after the reconnect, want %d", drops, dropsBefore+1)
	}
	if got := l.stats().DropAlls; got != 2 {
		t.Errorf("DropAlls = %d, want 2: one on connect, one on reconnect", got)
	}
	if lines := l.logs.matching("lost its connection"); len(lines) != 1 {
		t.Errorf("log lines about the lost connection: %q, want one", lines)
	}
	if lines := l.logs.matching("reconnected"); len(lines) != 1 {
		t.Errorf("log lines about the reconnection: %q, want one", lines)
	}

	inv := Invalidation{Kind: KindProvider, ID: uuid.New()}
	sendNotification(t, db, inv.Payload())
	waitUntil(t, "a notification after the reconnect is applied", func() bool {
		applied, _ := l.rec.snapshot()
		return slices.Contains(applied, inv)
	})
}

// closeWithin closes l and fails the test unless close returns within
// bound.
func closeWithin(t *testing.T, l *invalidationListener, bound time.Duration) {
	t.Helper()
	start := time.Now()
	err := l.close()
	elapsed := time.Since(start)
	if err != nil {
		t.Errorf("close: %v", err)
	}
	if elapsed > bound {
		t.Errorf("close took %v, want at most %v", elapsed, bound)
	}
}

func TestListenerCloseWithServerDown(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
	}{
		// Attempts fail at once and are retried every few milliseconds.
		{"retrying", 10 * time.Millisecond, 20 * time.Millisecond},
		// The listener waits in a back-off far longer than the test.
		{"backing off", time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, db := testDatabase(t)
			proxy, proxied := startProxy(t, dsn, proxyForward)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			rec, logs := &applyRecorder{}, &logCapture{}
			cfg := testListenerConfig(proxied, db, rec, logs)
			cfg.minReconnect, cfg.maxReconnect = tt.min, tt.max
			l, err := startInvalidationListener(cfg)
			if err != nil {
				t.Fatalf("start the listener: %v", err)
			}

			proxy.stop()
			waitUntil(t, "the listener is disconnected", func() bool { return !l.stats().Connected })
			waitUntil(t, "the loss is logged", func() bool {
				return len(logs.matching("lost its connection")) == 1
			})
			closeWithin(t, l, time.Second)
			if l.stats().Connected {
				t.Error("Connected after close")
			}
		})
	}
}

func TestListenerCloseWhileConnectHangs(t *testing.T) {
	dsn, db := testDatabase(t)
	proxy, proxied := startProxy(t, dsn, proxyBlackhole)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testListenerConfig(proxied, db, &applyRecorder{}, &logCapture{})
	cfg.checkTimeout = -1
	l, err := startInvalidationListener(cfg)
	if err != nil {
		t.Fatalf("start the listener without a check: %v", err)
	}

	// lib/pq now holds its lock, waiting for the server's reply to the
	// startup message, which never comes.
	waitUntil(t, "the listener's connection is accepted", func() bool { return proxy.accepted.Load() > 0 })
	if l.stats().Connected {
		t.Error("Connected while the handshake hangs")
	}
	closeWithin(t, l, time.Second)
}

func TestListenerStartupCheck(t *testing.T) {
	// The check that connects and then waits for a probe in vain gets a
	// longer timeout, so that a slow connection on a loaded machine does not
	// fail the check before the probe is sent.
	tests := []struct {
		name    string
		mode    proxyMode
		stop    bool // stop the proxy first, so that connections are refused
		timeout time.Duration
		want    string // in the error message
	}{
		{"refused", proxyForward, true, 300 * time.Millisecond, "connection refused"},
		// A refused attempt fails the check at once: the next one would
		// wait for the reconnect interval.
		{"refused long before the timeout", proxyForward, true, time.Minute, "connection refused"},
		{"hanging", proxyBlackhole, false, 300 * time.Millisecond,
			"no connection attempt has completed or failed yet"},
		{"notifications dropped", proxyDropNotifications, false, time.Second, "did not arrive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, db := testDatabase(t)
			proxy, proxied := startProxy(t, dsn, tt.mode)
			if tt.stop {
				proxy.stop()
			}
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			cfg := testListenerConfig(proxied, db, &applyRecorder{}, &logCapture{})
			cfg.checkTimeout = tt.timeout

			start := time.Now()
			l, err := startInvalidationListener(cfg)
			elapsed := time.Since(start)
			if err == nil {
				_ = l.close()
				t.Fatal("startup check passed")
			}
			if !errors.Is(err, ErrListenerStartup) {
				t.Errorf("error %v does not wrap ErrListenerStartup", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if limit := min(cfg.checkTimeout+2*time.Second, 10*time.Second); elapsed > limit {
				t.Errorf("failed after %v, want at most %v", elapsed, limit)
			}
		})
	}
}

func TestListenerBurstCollapses(t *testing.T) {
	dsn, db := testDatabase(t)
	rec := &applyRecorder{block: make(chan struct{})}
	logs := &logCapture{}
	l, err := startInvalidationListener(testListenerConfig(dsn, db, rec, logs))
	if err != nil {
		t.Fatalf("start the listener: %v", err)
	}
	t.Cleanup(func() { _ = l.close() })

	// One transaction sends distinct payloads, which PostgreSQL does not
	// merge, while apply is blocked on the first one.
	const burst = 3 * applyQueueLen
	if _, err := db.ExecContext(t.Context(), `SELECT pg_notify($1, 'v1:user_prompt:' || gen_random_uuid())
		FROM generate_series(1, $2)`, DefaultChannel, burst); err != nil {
		t.Fatalf("send the burst: %v", err)
	}
	waitUntil(t, "the whole burst is received while apply is blocked", func() bool {
		return l.stats().Notifications == burst
	})
	if lines := logs.matching("faster than they were applied"); len(lines) != 1 {
		t.Errorf("log lines about the burst: %q, want one", lines)
	}

	close(rec.block)
	waitUntil(t, "everything is dropped once", func() bool { return l.stats().DropAlls == 2 })
	applied, _ := rec.snapshot()
	if len(applied) > applyQueueLen+1 {
		t.Errorf("applied %d invalidations, want at most the queue length %d plus the one that blocked",
			len(applied), applyQueueLen)
	}
	if err := l.close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if got := l.stats().DropAlls; got != 2 {
		t.Errorf("DropAlls = %d, want 2: one on connect, one for the burst", got)
	}
}

func TestListenerDialerBackoff(t *testing.T) {
	clock := quartz.NewMock(t)
	d := newListenerDialer(clock, time.Second, 4*time.Second)
	defer d.close()

	var got []time.Duration
	for range 4 {
		got = append(got, d.failed())
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("back-off after consecutive failures = %v, want %v", got, want)
	}
	d.connected()
	if got := d.failed(); got != time.Second {
		t.Errorf("back-off after a connection and a failure = %v, want %v", got, time.Second)
	}

	d.connected()
	clock.Advance(300 * time.Millisecond).MustWait(t.Context())
	d.disconnected()
	d.mu.Lock()
	wait := clock.Until(d.waitUntil)
	d.mu.Unlock()
	if wait != 700*time.Millisecond {
		t.Errorf("wait after losing a connection made 300ms ago = %v, want 700ms", wait)
	}
}

func TestListenerDialerWaitsAndCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	clock := quartz.NewMock(t)
	trap := clock.Trap().NewTimer("listener", "backoff")
	defer trap.Close()
	d := newListenerDialer(clock, time.Second, time.Second)

	d.failed()
	dialed := make(chan error, 1)
	go func() {
		conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
		if err == nil {
			_ = conn.Close()
		}
		dialed <- err
	}()
	trap.MustWait(t.Context()).MustRelease(t.Context())
	clock.Advance(time.Second).MustWait(t.Context())
	if err := <-dialed; err != nil {
		t.Fatalf("dial after the back-off: %v", err)
	}

	d.failed()
	go func() {
		_, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
		dialed <- err
	}()
	trap.MustWait(t.Context()).MustRelease(t.Context())
	d.close()
	if err := <-dialed; err == nil {
		t.Error("dial waiting in the back-off succeeded after close, want an error")
	}
	if _, err := d.DialContext(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("dial after close: %v, want net.ErrClosed", err)
	}
}

func TestListenerDialerCloseClosesConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	d := newListenerDialer(quartz.NewReal(), time.Second, time.Second)
	conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}

	d.close()
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read from a connection after the dialer closed: %v, want net.ErrClosed", err)
	}
}

func TestLogLimiter(t *testing.T) {
	clock := quartz.NewMock(t)
	r := logLimiter{clock: clock, interval: time.Minute}

	if ok, suppressed := r.allow(); !ok || suppressed != 0 {
		t.Errorf("first line: allow() = %v, %d, want true, 0", ok, suppressed)
	}
	for i := range 3 {
		if ok, _ := r.allow(); ok {
			t.Errorf("line %d within the interval allowed", i+2)
		}
	}
	clock.Advance(time.Minute).MustWait(t.Context())
	if ok, suppressed := r.allow(); !ok || suppressed != 3 {
		t.Errorf("line after the interval: allow() = %v, %d, want true, 3", ok, suppressed)
	}
}
