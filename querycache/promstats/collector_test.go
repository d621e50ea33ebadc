package promstats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/quartz"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/hotread/hotread/querycache"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errDatabase = errors.New("database unavailable")

// TestCollectorAfterKnownGets runs a known sequence of Gets on a real
// Entry and Singleton, driven by a mock clock, and checks every metric
// the collector reports.
func TestCollectorAfterKnownGets(t *testing.T) {
	ctx := context.Background()
	clock := quartz.NewMock(t)
	release := make(chan struct{})
	entry, err := querycache.New(ctx, func(_ context.Context, key int) (string, error) {
		switch key {
		case 2:
			return "", sql.ErrNoRows
		case 3:
			return "", errDatabase
		case 6:
			<-release
		}
		return fmt.Sprintf("value %d", key), nil
	}, querycache.Options[string]{
		TTL:        10 * time.Second,
		NotFound:   func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		MaxEntries: 2,
		Clock:      clock,
	})
	if err != nil {
		t.Fatalf("querycache.New: %v", err)
	}
	singleton, err := querycache.NewSingleton(ctx, func(context.Context) ([]string, error) {
		return []string{"openai", "anthropic"}, nil
	}, querycache.Options[[]string]{TTL: 10 * time.Second, Clock: clock})
	if err != nil {
		t.Fatalf("querycache.NewSingleton: %v", err)
	}

	c := New(Options{})
	if err := c.Add("model_config", entry); err != nil {
		t.Fatalf("Add(model_config): %v", err)
	}
	if err := c.Add("providers", singleton); err != nil {
		t.Fatalf("Add(providers): %v", err)
	}

	get := func(key int) {
		t.Helper()
		_, _ = entry.Get(ctx, key)
	}
	get(1)              // miss, fill, store 1
	get(1)              // hit
	get(1)              // hit
	get(2)              // miss, fill, store "not found" for 2
	get(2)              // negative hit
	get(3)              // miss, fill error, nothing stored
	entry.Invalidate(1) // remove 1
	get(4)              // miss, fill, store 4
	get(5)              // miss and fill, which evicts 4 (never read) from the full entry
	clock.Advance(11 * time.Second)
	get(2) // miss and fill of expired 2, whose store sweeps out expired 5

	// Three concurrent misses of 6 share one fill.
	done := make(chan struct{})
	before := entry.Stats()
	for range 3 {
		go func() {
			_, _ = entry.Get(ctx, 6)
			done <- struct{}{}
		}()
	}
	waitForStats(t, entry, func(s querycache.Stats) bool {
		return s.Misses == before.Misses+3 && s.Coalesced == before.Coalesced+2
	})
	close(release)
	for range 3 {
		<-done
	}

	_, _ = singleton.Get(ctx) // miss, fill
	_, _ = singleton.Get(ctx) // hit

	const want = `
# HELP hotread_cache_hits_total Gets answered with a fresh stored value.
# TYPE hotread_cache_hits_total counter
hotread_cache_hits_total{query="model_config"} 2
hotread_cache_hits_total{query="providers"} 1
# HELP hotread_cache_negative_hits_total Gets answered with a stored "not found" error.
# TYPE hotread_cache_negative_hits_total counter
hotread_cache_negative_hits_total{query="model_config"} 1
hotread_cache_negative_hits_total{query="providers"} 0
# HELP hotread_cache_stale_hits_total Gets answered with an expired value while it was refreshed.
# TYPE hotread_cache_stale_hits_total counter
hotread_cache_stale_hits_total{query="model_config"} 0
hotread_cache_stale_hits_total{query="providers"} 0
# HELP hotread_cache_misses_total Gets that waited for a fill, started or joined.
# TYPE hotread_cache_misses_total counter
hotread_cache_misses_total{query="model_config"} 9
hotread_cache_misses_total{query="providers"} 1
# HELP hotread_cache_coalesced_total Misses that joined a fill another Get had started.
# TYPE hotread_cache_coalesced_total counter
hotread_cache_coalesced_total{query="model_config"} 2
hotread_cache_coalesced_total{query="providers"} 0
# HELP hotread_cache_fills_total Calls of the fill function, that is, database calls.
# TYPE hotread_cache_fills_total counter
hotread_cache_fills_total{query="model_config"} 7
hotread_cache_fills_total{query="providers"} 1
# HELP hotread_cache_refreshes_total Fills started in the background by a stale hit.
# TYPE hotread_cache_refreshes_total counter
hotread_cache_refreshes_total{query="model_config"} 0
hotread_cache_refreshes_total{query="providers"} 0
# HELP hotread_cache_fill_errors_total Fills that returned an error other than "not found", or panicked.
# TYPE hotread_cache_fill_errors_total counter
hotread_cache_fill_errors_total{query="model_config"} 1
hotread_cache_fill_errors_total{query="providers"} 0
# HELP hotread_cache_fill_panics_total Fills that panicked.
# TYPE hotread_cache_fill_panics_total counter
hotread_cache_fill_panics_total{query="model_config"} 0
hotread_cache_fill_panics_total{query="providers"} 0
# HELP hotread_cache_stale_fills_discarded_total Fill results not stored because their key was invalidated meanwhile.
# TYPE hotread_cache_stale_fills_discarded_total counter
hotread_cache_stale_fills_discarded_total{query="model_config"} 0
hotread_cache_stale_fills_discarded_total{query="providers"} 0
# HELP hotread_cache_invalidations_total Calls of Invalidate and InvalidateAll.
# TYPE hotread_cache_invalidations_total counter
hotread_cache_invalidations_total{query="model_config"} 1
hotread_cache_invalidations_total{query="providers"} 0
# HELP hotread_cache_evictions_total Keys removed to stay within the entry's bound.
# TYPE hotread_cache_evictions_total counter
hotread_cache_evictions_total{query="model_config"} 1
hotread_cache_evictions_total{query="providers"} 0
# HELP hotread_cache_expirations_total Expired keys removed.
# TYPE hotread_cache_expirations_total counter
hotread_cache_expirations_total{query="model_config"} 1
hotread_cache_expirations_total{query="providers"} 0
# HELP hotread_cache_entries Keys stored, including expired keys not yet removed.
# TYPE hotread_cache_entries gauge
hotread_cache_entries{query="model_config"} 2
hotread_cache_entries{query="providers"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Errorf("collected metrics differ:\n%v", err)
	}
	if got := testutil.CollectAndCount(c); got != 2*len(cacheMetricDefs) {
		t.Errorf("CollectAndCount = %d, want %d (every metric for 2 sources)", got, 2*len(cacheMetricDefs))
	}
}

// waitForStats yields until cond holds for the entry's Stats, and fails
// the test after 10 seconds.
func waitForStats(t *testing.T, s StatsSource, cond func(querycache.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(s.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats did not reach the expected state within 10 s: %+v", s.Stats())
		}
		runtime.Gosched()
	}
}

func TestCollectorPassesLint(t *testing.T) {
	c := New(Options{})
	if err := c.Add("model_config", fixedStats{Hits: 1}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := c.AddFunc("listener_connected", "1 when the listener is connected.",
		prometheus.GaugeValue, func() float64 { return 1 }); err != nil {
		t.Fatalf("AddFunc: %v", err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatalf("CollectAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// fixedStats is a StatsSource that returns a fixed snapshot.
type fixedStats querycache.Stats

func (s fixedStats) Stats() querycache.Stats { return querycache.Stats(s) }

func TestStatsFuncReadOnEachScrape(t *testing.T) {
	c := New(Options{})
	var hits uint64
	err := c.Add("providers", StatsFunc(func() querycache.Stats {
		return querycache.Stats{Hits: hits}
	}))
	if err != nil {
		t.Fatalf("Add(StatsFunc): %v", err)
	}

	for _, want := range []uint64{0, 7} {
		hits = want
		expected := fmt.Sprintf(`
# HELP hotread_cache_hits_total Gets answered with a fresh stored value.
# TYPE hotread_cache_hits_total counter
hotread_cache_hits_total{query="providers"} %d
`, want)
		err := testutil.CollectAndCompare(c, strings.NewReader(expected), "hotread_cache_hits_total")
		if err != nil {
			t.Errorf("with Hits %d, collected metrics differ:\n%v", want, err)
		}
	}
}

func TestCollectorNamespace(t *testing.T) {
	c := New(Options{Namespace: "chat"})
	if err := c.Add("providers", fixedStats{Hits: 3, Entries: 1}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	const want = `
# HELP chat_cache_hits_total Gets answered with a fresh stored value.
# TYPE chat_cache_hits_total counter
chat_cache_hits_total{query="providers"} 3
# HELP chat_cache_entries Keys stored, including expired keys not yet removed.
# TYPE chat_cache_entries gauge
chat_cache_entries{query="providers"} 1
`
	err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"chat_cache_hits_total", "chat_cache_entries")
	if err != nil {
		t.Errorf("collected metrics differ:\n%v", err)
	}
}

func TestCollectorAddFunc(t *testing.T) {
	c := New(Options{})
	connected := 0.0
	reconnects := 0.0
	if err := c.AddFunc("listener_connected", "1 when the listener is connected, else 0.",
		prometheus.GaugeValue, func() float64 { return connected }); err != nil {
		t.Fatalf("AddFunc(gauge): %v", err)
	}
	if err := c.AddFunc("listener_reconnects_total", "Reconnections of the listener.",
		prometheus.CounterValue, func() float64 { return reconnects }); err != nil {
		t.Fatalf("AddFunc(counter): %v", err)
	}
	connected, reconnects = 1, 4

	const want = `
# HELP hotread_listener_connected 1 when the listener is connected, else 0.
# TYPE hotread_listener_connected gauge
hotread_listener_connected 1
# HELP hotread_listener_reconnects_total Reconnections of the listener.
# TYPE hotread_listener_reconnects_total counter
hotread_listener_reconnects_total 4
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Errorf("collected metrics differ:\n%v", err)
	}
}

func TestCollectorAddRejects(t *testing.T) {
	c := New(Options{})
	if err := c.Add("providers", fixedStats{}); err != nil {
		t.Fatalf("Add(providers): %v", err)
	}
	tests := []struct {
		name   string
		query  string
		source StatsSource
		want   error
	}{
		{"empty label", "", fixedStats{}, ErrInvalid},
		{"nil source", "model_config", nil, ErrInvalid},
		{"nil StatsFunc", "model_config", StatsFunc(nil), ErrInvalid},
		{"duplicate label", "providers", fixedStats{}, ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Add(tt.query, tt.source)
			if !errors.Is(err, tt.want) {
				t.Errorf("Add(%q) error = %v, want %v", tt.query, err, tt.want)
			}
		})
	}
}

func TestCollectorAddFuncRejects(t *testing.T) {
	c := New(Options{})
	one := func() float64 { return 1 }
	if err := c.AddFunc("listener_connected", "help", prometheus.GaugeValue, one); err != nil {
		t.Fatalf("AddFunc(listener_connected): %v", err)
	}
	tests := []struct {
		name      string
		metric    string
		valueType prometheus.ValueType
		f         func() float64
		want      error
	}{
		{"empty name", "", prometheus.GaugeValue, one, ErrInvalid},
		{"dash in name", "listener-state", prometheus.GaugeValue, one, ErrInvalid},
		{"colon in name", "listener:state", prometheus.GaugeValue, one, ErrInvalid},
		{"nil function", "listener_up", prometheus.GaugeValue, nil, ErrInvalid},
		{"counter without _total", "listener_reconnects", prometheus.CounterValue, one, ErrInvalid},
		{"untyped", "listener_up", prometheus.UntypedValue, one, ErrInvalid},
		{"duplicate name", "listener_connected", prometheus.GaugeValue, one, ErrDuplicate},
		{"cache metric name", "cache_hits_total", prometheus.CounterValue, one, ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.AddFunc(tt.metric, "help", tt.valueType, tt.f)
			if !errors.Is(err, tt.want) {
				t.Errorf("AddFunc(%q) error = %v, want %v", tt.metric, err, tt.want)
			}
		})
	}
}

func TestCollectorRegisters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := New(Options{})
	if err := c.Add("providers", fixedStats{Fills: 2}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := reg.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}
	// A source added after registration is reported too.
	if err := c.Add("model_config", fixedStats{Fills: 5}); err != nil {
		t.Fatalf("Add after Register: %v", err)
	}
	const want = `
# HELP hotread_cache_fills_total Calls of the fill function, that is, database calls.
# TYPE hotread_cache_fills_total counter
hotread_cache_fills_total{query="model_config"} 5
hotread_cache_fills_total{query="providers"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "hotread_cache_fills_total"); err != nil {
		t.Errorf("gathered metrics differ:\n%v", err)
	}
}
