package querycache

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/quartz"
)

const testTTL = 10 * time.Second

// counter is a fill function that returns "<key>#<call number>" and counts
// its calls.
type counter struct {
	calls atomic.Int64
}

func (c *counter) fill(_ context.Context, key string) (string, error) {
	n := c.calls.Add(1)
	return fmt.Sprintf("%s#%d", key, n), nil
}

// gate is a fill function that blocks each call until the test releases it,
// so that a test can act while a fill runs.
type gate struct {
	started chan string
	release chan string
	calls   atomic.Int64
}

func newGate() *gate {
	return &gate{started: make(chan string, 100), release: make(chan string, 100)}
}

func (g *gate) fill(ctx context.Context, key string) (string, error) {
	g.calls.Add(1)
	g.started <- key
	select {
	case v := <-g.release:
		return v, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func newEntry[V any](t *testing.T, fill func(context.Context, string) (V, error), opts Options[V]) *Entry[string, V] {
	t.Helper()
	e, err := New(context.Background(), fill, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func mustGet[V any](t *testing.T, e *Entry[string, V], key string) V {
	t.Helper()
	v, err := e.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

// getAsync runs Get in a goroutine and returns a channel with its result.
func getAsync[V any](e *Entry[string, V], ctx context.Context, key string) <-chan result[V] {
	ch := make(chan result[V], 1)
	go func() {
		v, err := e.Get(ctx, key)
		ch <- result[V]{v, err}
	}()
	return ch
}

type result[V any] struct {
	value V
	err   error
}

func TestGetHitsWithinTTL(t *testing.T) {
	clock := quartz.NewMock(t)
	var c counter
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, Clock: clock})

	for i := range 100 {
		if got, want := mustGet(t, e, "a"), "a#1"; got != want {
			t.Fatalf("Get %d = %q, want %q", i, got, want)
		}
	}
	if got := c.calls.Load(); got != 1 {
		t.Errorf("fill calls within TTL = %d, want 1", got)
	}

	clock.Advance(testTTL - time.Nanosecond).MustWait(context.Background())
	if got, want := mustGet(t, e, "a"), "a#1"; got != want {
		t.Errorf("Get just before TTL = %q, want %q", got, want)
	}

	clock.Advance(time.Nanosecond).MustWait(context.Background())
	for range 100 {
		if got, want := mustGet(t, e, "a"), "a#2"; got != want {
			t.Fatalf("Get after TTL = %q, want %q", got, want)
		}
	}
	if got := c.calls.Load(); got != 2 {
		t.Errorf("fill calls after one TTL = %d, want 2", got)
	}

	s := e.Stats()
	if s.Hits != 199 {
		t.Errorf("Stats.Hits = %d, want 199", s.Hits)
	}
	if s.Misses != 2 {
		t.Errorf("Stats.Misses = %d, want 2", s.Misses)
	}
	if s.Fills != 2 {
		t.Errorf("Stats.Fills = %d, want 2", s.Fills)
	}
}

func TestGetKeysAreIndependent(t *testing.T) {
	var c counter
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})
	for _, key := range []string{"a", "b", "a", "c", "b"} {
		if got := mustGet(t, e, key); !strings.HasPrefix(got, key+"#") {
			t.Errorf("Get(%q) = %q, want a value of key %q", key, got, key)
		}
	}
	if got := c.calls.Load(); got != 3 {
		t.Errorf("fill calls for 3 keys = %d, want 3", got)
	}
	if got := e.Len(); got != 3 {
		t.Errorf("Len = %d, want 3", got)
	}
}

func TestConcurrentMissesShareOneFill(t *testing.T) {
	const callers = 1000
	g := newGate()
	e := newEntry(t, g.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})

	results := make([]<-chan result[string], callers)
	for i := range results {
		results[i] = getAsync(e, context.Background(), "k")
	}
	<-g.started
	// Release the fill only once every caller waits on it.
	for e.Stats().Misses < callers {
		runtime.Gosched()
	}
	g.release <- "v1"

	for i, ch := range results {
		r := <-ch
		if r.err != nil || r.value != "v1" {
			t.Fatalf("caller %d got (%q, %v), want (\"v1\", nil)", i, r.value, r.err)
		}
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("fill calls for %d concurrent misses = %d, want 1", callers, got)
	}
	if got := e.Stats().Coalesced; got != callers-1 {
		t.Errorf("Stats.Coalesced = %d, want %d", got, callers-1)
	}
}

func TestInvalidateDuringFillIsNotStored(t *testing.T) {
	g := newGate()
	e := newEntry(t, g.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})

	first := getAsync(e, context.Background(), "k")
	<-g.started
	e.Invalidate("k")
	g.release <- "old"
	if r := <-first; r.err != nil || r.value != "old" {
		t.Fatalf("first Get = (%q, %v), want the value of its own fill (\"old\", nil)", r.value, r.err)
	}
	if got := e.Stats().StaleFillsDiscarded; got != 1 {
		t.Errorf("Stats.StaleFillsDiscarded = %d, want 1", got)
	}

	second := getAsync(e, context.Background(), "k")
	<-g.started
	g.release <- "new"
	if r := <-second; r.value != "new" {
		t.Errorf("Get after invalidation = %q, want %q", r.value, "new")
	}
	if got := g.calls.Load(); got != 2 {
		t.Errorf("fill calls = %d, want 2", got)
	}
	if got := mustGet(t, e, "k"); got != "new" {
		t.Errorf("cached value = %q, want %q", got, "new")
	}
}

func TestGetAfterInvalidateDoesNotJoinOlderFill(t *testing.T) {
	tests := []struct {
		name       string
		invalidate func(e *Entry[string, string])
	}{
		{"Invalidate", func(e *Entry[string, string]) { e.Invalidate("k") }},
		{"InvalidateAll", func(e *Entry[string, string]) { e.InvalidateAll() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			e := newEntry(t, g.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})

			before := getAsync(e, context.Background(), "k")
			<-g.started
			tt.invalidate(e)

			after := getAsync(e, context.Background(), "k")
			<-g.started // a second fill started while the first still runs
			g.release <- "v1"
			g.release <- "v2"
			r1, r2 := <-before, <-after
			if r1.err != nil || r2.err != nil {
				t.Fatalf("Get errors: %v, %v", r1.err, r2.err)
			}
			if r1.value == r2.value {
				t.Errorf("Gets before and after the invalidation shared one fill (both %q)", r1.value)
			}
			if got := g.calls.Load(); got != 2 {
				t.Errorf("fill calls = %d, want 2", got)
			}
			// Only the fill that started after the invalidation is stored.
			if got := mustGet(t, e, "k"); got != r2.value {
				t.Errorf("stored value = %q, want %q from the fill after the invalidation", got, r2.value)
			}
		})
	}
}

func TestInvalidateAllDiscardsEveryRunningFill(t *testing.T) {
	g := newGate()
	e := newEntry(t, g.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})
	stored := mustGetAfterRelease(t, e, g, "stored", "s1")
	if stored != "s1" {
		t.Fatalf("setup Get = %q, want s1", stored)
	}

	a := getAsync(e, context.Background(), "a")
	b := getAsync(e, context.Background(), "b")
	<-g.started
	<-g.started
	e.InvalidateAll()
	g.release <- "x"
	g.release <- "y"
	<-a
	<-b

	if got := e.Stats().StaleFillsDiscarded; got != 2 {
		t.Errorf("Stats.StaleFillsDiscarded = %d, want 2", got)
	}
	if got := e.Len(); got != 0 {
		t.Errorf("Len after InvalidateAll = %d, want 0", got)
	}
	if got := mustGetAfterRelease(t, e, g, "stored", "s2"); got != "s2" {
		t.Errorf("Get of a key stored before InvalidateAll = %q, want a new fill s2", got)
	}
}

// mustGetAfterRelease gets key through a gate fill that returns value.
func mustGetAfterRelease(t *testing.T, e *Entry[string, string], g *gate, key, value string) string {
	t.Helper()
	ch := getAsync(e, context.Background(), key)
	<-g.started
	g.release <- value
	r := <-ch
	if r.err != nil {
		t.Fatalf("Get(%q): %v", key, r.err)
	}
	return r.value
}

type config struct {
	Names   []string
	Options json.RawMessage
}

func cloneConfig(c config) config {
	// Keep nil as nil and empty as empty, as a fresh query would.
	if c.Names != nil {
		c.Names = append(make([]string, 0, len(c.Names)), c.Names...)
	}
	if c.Options != nil {
		c.Options = append(make(json.RawMessage, 0, len(c.Options)), c.Options...)
	}
	return c
}

func TestCloneIsolatesCallers(t *testing.T) {
	var fromFill config
	fill := func(context.Context, string) (config, error) {
		fromFill = config{Names: []string{"a", "b"}, Options: json.RawMessage(`{"x":1}`)}
		return fromFill, nil
	}
	e := newEntry(t, fill, Options[config]{TTL: testTTL, Clone: cloneConfig, Clock: quartz.NewMock(t)})

	first := mustGet(t, e, "k")
	first.Names[0] = "changed"
	first.Names = append(first.Names, "appended")
	first.Options[2] = 'y'
	fromFill.Names[1] = "changed by the fill's owner"

	second := mustGet(t, e, "k")
	if got := strings.Join(second.Names, ","); got != "a,b" {
		t.Errorf("Names seen by the second caller = %q, want %q", got, "a,b")
	}
	if got := string(second.Options); got != `{"x":1}` {
		t.Errorf("Options seen by the second caller = %s, want %s", got, `{"x":1}`)
	}
}

func TestCloneAppliesToEveryWaiter(t *testing.T) {
	release := make(chan struct{})
	fill := func(context.Context, string) ([]int, error) {
		<-release
		return []int{1, 2, 3}, nil
	}
	e := newEntry(t, fill, Options[[]int]{
		TTL:   testTTL,
		Clone: func(s []int) []int { return append([]int(nil), s...) },
		Clock: quartz.NewMock(t),
	})
	const callers = 8
	var wg sync.WaitGroup
	values := make([][]int, callers)
	for i := range callers {
		wg.Go(func() {
			v, err := e.Get(context.Background(), "k")
			if err != nil {
				t.Errorf("Get: %v", err)
			}
			values[i] = v
		})
	}
	for e.Stats().Misses < callers {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i := range values {
		for j := range i {
			if &values[i][0] == &values[j][0] {
				t.Fatalf("waiters %d and %d share one backing array", i, j)
			}
		}
	}
}

func TestErrorsAreNotStored(t *testing.T) {
	var calls atomic.Int64
	errDown := errors.New("database is down")
	fill := func(context.Context, string) (string, error) {
		if calls.Add(1) < 3 {
			return "", errDown
		}
		return "up", nil
	}
	e := newEntry(t, fill, Options[string]{
		TTL:      testTTL,
		NotFound: func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		Clock:    quartz.NewMock(t),
	})
	for i := range 2 {
		if _, err := e.Get(context.Background(), "k"); !errors.Is(err, errDown) {
			t.Fatalf("Get %d error = %v, want %v", i, err, errDown)
		}
	}
	if got := mustGet(t, e, "k"); got != "up" {
		t.Errorf("Get after the errors = %q, want %q", got, "up")
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("fill calls = %d, want 3 (errors are not stored)", got)
	}
	if got := e.Stats().FillErrors; got != 2 {
		t.Errorf("Stats.FillErrors = %d, want 2", got)
	}
}

func TestNotFoundIsStoredForNotFoundTTL(t *testing.T) {
	tests := []struct {
		name        string
		notFoundTTL time.Duration
		wantTTL     time.Duration
	}{
		{"default is TTL", 0, testTTL},
		{"shorter", 2 * time.Second, 2 * time.Second},
		{"longer", time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := quartz.NewMock(t)
			var calls atomic.Int64
			notFound := fmt.Errorf("load prompt: %w", sql.ErrNoRows)
			fill := func(context.Context, string) (string, error) {
				calls.Add(1)
				return "", notFound
			}
			e := newEntry(t, fill, Options[string]{
				TTL:         testTTL,
				NotFound:    func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
				NotFoundTTL: tt.notFoundTTL,
				Clock:       clock,
			})
			for i := range 5 {
				_, err := e.Get(context.Background(), "k")
				if !errors.Is(err, sql.ErrNoRows) {
					t.Fatalf("Get %d error = %v, want one wrapping sql.ErrNoRows", i, err)
				}
				if err != notFound {
					t.Fatalf("Get %d error = %v, want the fill's own error value", i, err)
				}
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("fill calls within NotFoundTTL = %d, want 1", got)
			}
			if got := e.Stats().NegativeHits; got != 4 {
				t.Errorf("Stats.NegativeHits = %d, want 4", got)
			}

			clock.Advance(tt.wantTTL - time.Nanosecond).MustWait(context.Background())
			e.Get(context.Background(), "k")
			if got := calls.Load(); got != 1 {
				t.Errorf("fill calls just before NotFoundTTL = %d, want 1", got)
			}
			clock.Advance(time.Nanosecond).MustWait(context.Background())
			e.Get(context.Background(), "k")
			if got := calls.Load(); got != 2 {
				t.Errorf("fill calls after NotFoundTTL = %d, want 2", got)
			}
		})
	}
}

func TestPanicReachesEveryWaiter(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	fill := func(context.Context, string) (string, error) {
		if calls.Add(1) == 1 {
			<-release
			panic("boom")
		}
		return "recovered", nil
	}
	e := newEntry(t, fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})

	const callers = 5
	results := make([]<-chan result[string], callers)
	for i := range results {
		results[i] = getAsync(e, context.Background(), "k")
	}
	for e.Stats().Misses < callers {
		runtime.Gosched()
	}
	close(release)
	for i, ch := range results {
		r := <-ch
		var pe *PanicError
		if !errors.As(r.err, &pe) {
			t.Fatalf("caller %d error = %v, want a *PanicError", i, r.err)
		}
		if pe.Value != "boom" {
			t.Errorf("PanicError.Value = %v, want boom", pe.Value)
		}
		if !strings.Contains(string(pe.Stack), "TestPanicReachesEveryWaiter") {
			t.Errorf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
		}
	}
	if got := mustGet(t, e, "k"); got != "recovered" {
		t.Errorf("Get after the panic = %q, want a new fill", got)
	}
	s := e.Stats()
	if s.FillPanics != 1 || s.FillErrors != 1 {
		t.Errorf("Stats.FillPanics, FillErrors = %d, %d, want 1, 1", s.FillPanics, s.FillErrors)
	}
}

func TestPanicWithErrorUnwraps(t *testing.T) {
	fill := func(context.Context, string) (string, error) { panic(sql.ErrConnDone) }
	e := newEntry(t, fill, Options[string]{
		TTL:      testTTL,
		NotFound: func(error) bool { return true }, // a panic is never "not found"
		Clock:    quartz.NewMock(t),
	})
	_, err := e.Get(context.Background(), "k")
	if !errors.Is(err, sql.ErrConnDone) {
		t.Errorf("error = %v, want one wrapping sql.ErrConnDone", err)
	}
	if got := e.Len(); got != 0 {
		t.Errorf("Len after a panicking fill = %d, want 0", got)
	}
}

func TestFillCallingGoexitIsAnError(t *testing.T) {
	fill := func(context.Context, string) (string, error) {
		runtime.Goexit()
		return "unreachable", nil
	}
	e := newEntry(t, fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})
	if _, err := e.Get(context.Background(), "k"); err == nil {
		t.Error("Get error = nil, want an error for a fill that exited its goroutine")
	}
}

func TestCallerGivesUpFillContinues(t *testing.T) {
	type ctxKey struct{}
	serverCtx := context.WithValue(context.Background(), ctxKey{}, "server")
	g := newGate()
	var sawServerCtx atomic.Bool
	fill := func(ctx context.Context, key string) (string, error) {
		sawServerCtx.Store(ctx.Value(ctxKey{}) == "server")
		return g.fill(ctx, key)
	}
	e, err := New(serverCtx, fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})
	if err != nil {
		t.Fatal(err)
	}

	reqCtx, cancel := context.WithCancel(context.Background())
	waiting := getAsync(e, reqCtx, "k")
	other := getAsync(e, context.Background(), "k")
	<-g.started
	cancel()
	if r := <-waiting; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled caller error = %v, want context.Canceled", r.err)
	}

	g.release <- "v"
	if r := <-other; r.err != nil || r.value != "v" {
		t.Errorf("other caller got (%q, %v), want (\"v\", nil)", r.value, r.err)
	}
	if got := mustGet(t, e, "k"); got != "v" {
		t.Errorf("stored value = %q, want v", got)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("fill calls = %d, want 1", got)
	}
	if !sawServerCtx.Load() {
		t.Error("fill ran under the caller's context, want the server context")
	}
}

func TestServerContextDoneFailsFast(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var c counter
	e, err := New(ctx, c.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})
	if err != nil {
		t.Fatal(err)
	}
	hit := mustGet(t, e, "hit")
	cancel()

	if _, err := e.Get(context.Background(), "miss"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get on a miss after shutdown: error = %v, want one wrapping context.Canceled", err)
	}
	if got := c.calls.Load(); got != 1 {
		t.Errorf("fill calls = %d, want 1 (no fill after shutdown)", got)
	}
	if got := mustGet(t, e, "hit"); got != hit {
		t.Errorf("Get on a hit after shutdown = %q, want the stored %q", got, hit)
	}
}

func TestMaxEntriesEvictsKeysNotReadRecently(t *testing.T) {
	var c counter
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, MaxEntries: 3, Clock: quartz.NewMock(t)})

	hot := mustGet(t, e, "hot")
	for i := range 10 {
		mustGet(t, e, "hot")
		mustGet(t, e, fmt.Sprintf("cold%d", i))
		if got := e.Len(); got > 3 {
			t.Fatalf("Len = %d after %d keys, want at most 3", got, i+2)
		}
	}
	if got := mustGet(t, e, "hot"); got != hot {
		t.Errorf("hot key was evicted: Get = %q, want stored %q", got, hot)
	}
	if got := e.Stats().Evictions; got != 8 {
		t.Errorf("Stats.Evictions = %d, want 8", got)
	}
}

func TestMaxEntriesCountsNotFound(t *testing.T) {
	fill := func(_ context.Context, key string) (string, error) {
		if strings.HasPrefix(key, "missing") {
			return "", sql.ErrNoRows
		}
		return key, nil
	}
	e := newEntry(t, fill, Options[string]{
		TTL:        testTTL,
		MaxEntries: 4,
		NotFound:   func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		Clock:      quartz.NewMock(t),
	})
	for i := range 50 {
		e.Get(context.Background(), fmt.Sprintf("missing%d", i))
		e.Get(context.Background(), fmt.Sprintf("present%d", i))
	}
	if got := e.Len(); got != 4 {
		t.Errorf("Len = %d, want 4", got)
	}
	if got := e.items.Size(); got != 4 {
		t.Errorf("map size = %d, want 4", got)
	}
}

func TestInvalidateUnknownKeysLeavesNothing(t *testing.T) {
	var c counter
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, MaxEntries: 10, Clock: quartz.NewMock(t)})
	mustGet(t, e, "a")
	for i := range 10_000 {
		e.Invalidate(fmt.Sprintf("never-cached-%d", i))
	}
	e.Invalidate("a")

	if got := e.Len(); got != 0 {
		t.Errorf("Len = %d, want 0", got)
	}
	if got := e.items.Size(); got != 0 {
		t.Errorf("map size = %d, want 0", got)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := len(e.flights); n != 0 {
		t.Errorf("flights = %d, want 0", n)
	}
	if n := len(e.ring.slots) + len(e.ring.free); n != 0 {
		t.Errorf("ring slots and free list = %d, want 0", n)
	}
}

func TestExpiredKeysAreRemovedAsNewKeysArrive(t *testing.T) {
	clock := quartz.NewMock(t)
	var c counter
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, Clock: clock})
	const n = 100
	for i := range n {
		mustGet(t, e, fmt.Sprintf("old%d", i))
	}
	clock.Advance(testTTL).MustWait(context.Background())
	for i := range n {
		mustGet(t, e, fmt.Sprintf("new%d", i))
	}
	// Each store advances the sweep by two slots, so n stores pass all of
	// at most 2n slots and remove every expired key.
	if got := e.Len(); got != n {
		t.Errorf("Len = %d, want %d (expired keys removed)", got, n)
	}
	if got := e.Stats().Expirations; got != n {
		t.Errorf("Stats.Expirations = %d, want %d", got, n)
	}
}

func TestStaleWhileRefresh(t *testing.T) {
	clock := quartz.NewMock(t)
	g := newGate()
	const window = 5 * time.Second
	e := newEntry(t, g.fill, Options[string]{TTL: testTTL, StaleWhileRefresh: window, Clock: clock})
	if got := mustGetAfterRelease(t, e, g, "k", "v1"); got != "v1" {
		t.Fatalf("first Get = %q, want v1", got)
	}

	clock.Advance(testTTL).MustWait(context.Background())
	for i := range 3 {
		if got := mustGet(t, e, "k"); got != "v1" {
			t.Fatalf("Get %d in the window = %q, want the expired v1 at once", i, got)
		}
	}
	<-g.started // one background refresh
	if got := g.calls.Load(); got != 2 {
		t.Fatalf("fill calls = %d, want 2 (one refresh for three stale hits)", got)
	}
	g.release <- "v2"
	for mustGet(t, e, "k") != "v2" {
		runtime.Gosched()
	}
	s := e.Stats()
	if s.Refreshes != 1 {
		t.Errorf("Stats.Refreshes = %d, want 1", s.Refreshes)
	}

	t.Run("not after invalidation", func(t *testing.T) {
		clock.Advance(testTTL).MustWait(context.Background())
		e.Invalidate("k")
		ch := getAsync(e, context.Background(), "k")
		<-g.started
		select {
		case r := <-ch:
			t.Fatalf("Get after invalidation returned %q before the fill finished", r.value)
		default:
		}
		g.release <- "v3"
		if r := <-ch; r.value != "v3" {
			t.Errorf("Get after invalidation = %q, want v3", r.value)
		}
	})

	t.Run("not after the window", func(t *testing.T) {
		clock.Advance(testTTL + window).MustWait(context.Background())
		ch := getAsync(e, context.Background(), "k")
		<-g.started
		g.release <- "v4"
		if r := <-ch; r.value != "v4" {
			t.Errorf("Get after the window = %q, want v4 from a fill", r.value)
		}
	})
}

func TestStaleWhileRefreshRetriesFailedRefresh(t *testing.T) {
	clock := quartz.NewMock(t)
	var calls atomic.Int64
	fill := func(context.Context, string) (string, error) {
		if calls.Add(1) == 2 {
			return "", errors.New("refresh failed")
		}
		return fmt.Sprintf("v%d", calls.Load()), nil
	}
	e := newEntry(t, fill, Options[string]{TTL: testTTL, StaleWhileRefresh: time.Minute, Clock: clock})
	mustGet(t, e, "k")
	clock.Advance(testTTL).MustWait(context.Background())

	if got := mustGet(t, e, "k"); got != "v1" {
		t.Fatalf("stale Get = %q, want v1", got)
	}
	for e.Stats().FillErrors < 1 {
		runtime.Gosched()
	}
	if got := mustGet(t, e, "k"); got != "v1" {
		t.Fatalf("stale Get after a failed refresh = %q, want v1", got)
	}
	for mustGet(t, e, "k") != "v3" {
		runtime.Gosched()
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("fill calls = %d, want 3", got)
	}
}

func TestTTLJitterSpreadsExpiry(t *testing.T) {
	clock := quartz.NewMock(t)
	var c counter
	const keys = 200
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, TTLJitter: 0.5, Clock: clock})
	for i := range keys {
		mustGet(t, e, fmt.Sprint(i))
	}
	refilled := func() int64 {
		before := c.calls.Load()
		for i := range keys {
			mustGet(t, e, fmt.Sprint(i))
		}
		return c.calls.Load() - before
	}

	clock.Advance(testTTL/2 - time.Nanosecond).MustWait(context.Background())
	if got := refilled(); got != 0 {
		t.Errorf("keys refilled before TTL/2 = %d, want 0 (jitter of 0.5 shortens by less than half)", got)
	}
	clock.Advance(testTTL / 4).MustWait(context.Background())
	if got := refilled(); got == 0 || got == keys {
		t.Errorf("keys refilled at 3/4 TTL = %d, want some but not all of %d", got, keys)
	}
}

func TestNewRejectsInvalidArguments(t *testing.T) {
	valid := Options[string]{TTL: time.Second}
	var c counter
	tests := []struct {
		name    string
		ctx     context.Context
		fill    func(context.Context, string) (string, error)
		opts    func(o *Options[string])
		wantErr string
	}{
		{"zero TTL", context.Background(), c.fill, func(o *Options[string]) { o.TTL = 0 }, "TTL is 0s"},
		{"negative TTL", context.Background(), c.fill, func(o *Options[string]) { o.TTL = -time.Second }, "TTL is -1s"},
		{"negative NotFoundTTL", context.Background(), c.fill, func(o *Options[string]) { o.NotFoundTTL = -1 }, "NotFoundTTL is -1ns"},
		{"negative MaxEntries", context.Background(), c.fill, func(o *Options[string]) { o.MaxEntries = -5 }, "MaxEntries is -5"},
		{"negative jitter", context.Background(), c.fill, func(o *Options[string]) { o.TTLJitter = -0.1 }, "TTLJitter is -0.1"},
		{"jitter of one", context.Background(), c.fill, func(o *Options[string]) { o.TTLJitter = 1 }, "TTLJitter is 1"},
		{"NaN jitter", context.Background(), c.fill, func(o *Options[string]) { o.TTLJitter = math.NaN() }, "TTLJitter is NaN"},
		{"negative window", context.Background(), c.fill, func(o *Options[string]) { o.StaleWhileRefresh = -time.Second }, "StaleWhileRefresh is -1s"},
		{"nil fill", context.Background(), nil, func(*Options[string]) {}, "fill function is nil"},
		{"nil context", nil, c.fill, func(*Options[string]) {}, "context is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid
			tt.opts(&opts)
			e, err := New(tt.ctx, tt.fill, opts)
			if err == nil {
				t.Fatalf("New returned %v and no error", e)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "querycache: ") {
				t.Errorf("error = %q, want the prefix %q", err, "querycache: ")
			}
		})
	}
	t.Run("options errors wrap ErrInvalidOptions", func(t *testing.T) {
		_, err := New(context.Background(), c.fill, Options[string]{})
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("error = %v, want one wrapping ErrInvalidOptions", err)
		}
	})
}

func TestNewKeepsCallerOptions(t *testing.T) {
	opts := Options[string]{TTL: time.Second}
	var c counter
	if _, err := New(context.Background(), c.fill, opts); err != nil {
		t.Fatal(err)
	}
	if opts.NotFoundTTL != 0 || opts.Clock != nil {
		t.Errorf("New modified the caller's options: %+v", opts)
	}
}

func TestSingleton(t *testing.T) {
	clock := quartz.NewMock(t)
	var calls atomic.Int64
	s, err := NewSingleton(context.Background(), func(context.Context) ([]string, error) {
		calls.Add(1)
		return []string{"openai", "anthropic"}, nil
	}, Options[[]string]{
		TTL:   testTTL,
		Clone: func(v []string) []string { return append([]string(nil), v...) },
		Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		v, err := s.Get(context.Background())
		if err != nil || len(v) != 2 {
			t.Fatalf("Get = (%v, %v), want two providers", v, err)
		}
		v[0] = "mutated"
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("fill calls = %d, want 1", got)
	}
	s.Invalidate()
	v, _ := s.Get(context.Background())
	if got := calls.Load(); got != 2 {
		t.Errorf("fill calls after Invalidate = %d, want 2", got)
	}
	if v[0] != "openai" {
		t.Errorf("Get = %v, want the unmutated value", v)
	}
	if got := s.Stats().Invalidations; got != 1 {
		t.Errorf("Stats.Invalidations = %d, want 1", got)
	}
	if _, err := NewSingleton[int](context.Background(), nil, Options[int]{TTL: time.Second}); err == nil {
		t.Error("NewSingleton with a nil fill returned no error")
	}
}

// TestConcurrentReadsSeeEveryCompletedInvalidation checks the generation
// rule under load: a Get that starts after a write and its invalidation
// have completed returns that write or a newer one, whatever runs
// concurrently (gets, invalidations, clock advances, evictions).
func TestConcurrentReadsSeeEveryCompletedInvalidation(t *testing.T) {
	const (
		keys    = 8
		readers = 8
		writes  = 300
	)
	clock := quartz.NewMock(t)
	var version [keys]atomic.Int64     // the "database"
	var invalidated [keys]atomic.Int64 // versions whose invalidation completed
	fill := func(_ context.Context, key int) (int64, error) {
		v := version[key].Load()
		runtime.Gosched() // widen the window between read and store
		return v, nil
	}
	e, err := New(context.Background(), fill, Options[int64]{
		TTL:        testTTL,
		MaxEntries: keys / 2,
		Clock:      clock,
	})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var checked atomic.Int64
	for r := range readers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := (r + i) % keys
				floor := invalidated[key].Load()
				got, err := e.Get(context.Background(), key)
				if err != nil {
					t.Errorf("Get(%d): %v", key, err)
					return
				}
				if got < floor {
					t.Errorf("Get(%d) = version %d, want >= %d (invalidated before the read)", key, got, floor)
					return
				}
				checked.Add(1)
			}
		})
	}
	var writers sync.WaitGroup
	for key := range keys {
		writers.Go(func() {
			for range writes {
				v := version[key].Add(1)
				if v%50 == 0 {
					e.InvalidateAll()
				} else {
					e.Invalidate(key)
				}
				invalidated[key].Store(v)
				runtime.Gosched()
			}
		})
	}
	writers.Go(func() {
		for range 50 {
			clock.Advance(time.Second).MustWait(context.Background())
			runtime.Gosched()
		}
	})
	writers.Wait()
	close(stop)
	wg.Wait()
	if checked.Load() == 0 {
		t.Fatal("no read was checked")
	}
	if got := e.Len(); got > keys/2 {
		t.Errorf("Len = %d, want at most %d", got, keys/2)
	}
}

// TestMissAfterConcurrentStoreDoesNotFillAgain covers a caller whose
// lock-free lookup missed just before another fill stored the key: miss
// re-checks the map under the lock and returns the stored value.
func TestMissAfterConcurrentStoreDoesNotFillAgain(t *testing.T) {
	var c counter
	e := newEntry(t, c.fill, Options[string]{TTL: testTTL, Clock: quartz.NewMock(t)})
	stored := mustGet(t, e, "k")

	got, err := e.miss(context.Background(), "k")
	if err != nil || got != stored {
		t.Errorf("miss = (%q, %v), want the stored (%q, nil)", got, err, stored)
	}
	if calls := c.calls.Load(); calls != 1 {
		t.Errorf("fill calls = %d, want 1", calls)
	}
}

func TestPanickingHookIsAnError(t *testing.T) {
	tests := []struct {
		name string
		opts Options[string]
		fill func(context.Context, string) (string, error)
	}{
		{
			name: "Clone",
			opts: Options[string]{TTL: testTTL, Clone: func(string) string { panic("clone failed") }},
			fill: func(context.Context, string) (string, error) { return "v", nil },
		},
		{
			name: "NotFound",
			opts: Options[string]{TTL: testTTL, NotFound: func(error) bool { panic("not found failed") }},
			fill: func(context.Context, string) (string, error) { return "", sql.ErrNoRows },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Clock = quartz.NewMock(t)
			e := newEntry(t, tt.fill, tt.opts)
			_, err := e.Get(context.Background(), "k")
			var pe *PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("Get error = %v, want a *PanicError", err)
			}
			if got := e.Len(); got != 0 {
				t.Errorf("Len = %d, want 0 (nothing stored)", got)
			}
			if got := e.Stats().FillPanics; got != 1 {
				t.Errorf("Stats.FillPanics = %d, want 1", got)
			}
		})
	}
}
