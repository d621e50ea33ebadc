package bench

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestCache[V any](t *testing.T, impl Impl[V], spec Spec[V]) Cache[V] {
	t.Helper()
	c, err := impl.New(context.Background(), spec)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestGetReturnsFilledValue(t *testing.T) {
	for _, impl := range Impls[Row]() {
		t.Run(impl.Name, func(t *testing.T) {
			var fills atomic.Int64
			c := newTestCache(t, impl, Spec[Row]{
				Fill: func(_ context.Context, key int) (Row, error) {
					fills.Add(1)
					return Row{ID: key, Name: "row"}, nil
				},
				TTL:        time.Hour,
				MaxEntries: 100,
				Keys:       16,
			})
			ctx := context.Background()
			for round := range 2 {
				for key := range 16 {
					got, err := c.Get(ctx, key)
					if err != nil {
						t.Fatalf("round %d: Get(%d) error: %v", round, key, err)
					}
					if got.ID != key {
						t.Errorf("round %d: Get(%d).ID = %d, want %d", round, key, got.ID, key)
					}
				}
				if w, ok := c.(waiter); ok {
					w.Wait()
				}
			}
			// Ristretto may drop a store; every other cache keeps each key.
			if got := fills.Load(); impl.Name != "ristretto" && got != 16 {
				t.Errorf("fills = %d, want 16 (one per key)", got)
			}
		})
	}
}

func TestGetReturnsOwnedClone(t *testing.T) {
	for _, impl := range Impls[Config]() {
		t.Run(impl.Name, func(t *testing.T) {
			c := newTestCache(t, impl, Spec[Config]{
				Fill: func(_ context.Context, key int) (Config, error) {
					return NewConfig(key), nil
				},
				TTL:        time.Hour,
				MaxEntries: 100,
				Keys:       1,
				Clone:      CloneConfig,
			})
			ctx := context.Background()
			// The first Get fills, so the second one reads the stored value.
			for range 2 {
				got, err := c.Get(ctx, 0)
				if err != nil {
					t.Fatalf("Get error: %v", err)
				}
				got.Providers[0].Name = "changed"
				got.Options[0] = 'X'
				if w, ok := c.(waiter); ok {
					w.Wait()
				}
			}
			got, err := c.Get(ctx, 0)
			if err != nil {
				t.Fatalf("Get error: %v", err)
			}
			if name := got.Providers[0].Name; name != "provider" {
				t.Errorf("Providers[0].Name = %q after a caller changed its copy, want %q", name, "provider")
			}
			if got.Options[0] != '{' {
				t.Errorf("Options = %q after a caller changed its copy, want it to start with {", got.Options)
			}
		})
	}
}

func TestGetReturnsFillError(t *testing.T) {
	errFill := errors.New("database unavailable")
	for _, impl := range Impls[Row]() {
		t.Run(impl.Name, func(t *testing.T) {
			c := newTestCache(t, impl, Spec[Row]{
				Fill: func(context.Context, int) (Row, error) {
					return Row{}, errFill
				},
				TTL:        time.Hour,
				MaxEntries: 100,
				Keys:       1,
			})
			_, err := c.Get(context.Background(), 0)
			if err == nil {
				t.Fatal("Get returned no error, want the fill's error")
			}
			// ttlcache's loader cannot return an error, so its adapter
			// reports a missing item instead.
			if impl.Name != "ttlcache" && !errors.Is(err, errFill) {
				t.Errorf("Get error = %v, want %v", err, errFill)
			}
		})
	}
}

// TestColdMissesCoalesce starts 64 Gets of one cold key behind a fill that
// blocks, waits until all 64 are parked, then releases the fill. A cache
// that coalesces has called the fill once.
func TestColdMissesCoalesce(t *testing.T) {
	for _, impl := range Impls[Row]() {
		if !impl.Coalesces {
			continue
		}
		t.Run(impl.Name, func(t *testing.T) {
			release := make(chan struct{})
			var fills atomic.Int64
			c := newTestCache(t, impl, Spec[Row]{
				Fill: func(_ context.Context, key int) (Row, error) {
					fills.Add(1)
					<-release
					return Row{ID: key, Name: "row"}, nil
				},
				TTL:        time.Hour,
				MaxEntries: 100,
				Keys:       8,
			})

			const callers = 64
			const key = 7
			results := make([]Row, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { results[i], errs[i] = coalesceCaller(c, key) })
			}
			waitParked(t, "bench.coalesceCaller", callers)
			close(release)
			wg.Wait()

			if got := fills.Load(); got != 1 {
				t.Errorf("fills = %d, want 1 for %d concurrent misses", got, callers)
			}
			for i := range callers {
				if errs[i] != nil || results[i].ID != key {
					t.Errorf("caller %d: Get = %+v, %v; want ID %d", i, results[i], errs[i], key)
				}
			}
		})
	}
}

// coalesceCaller is a named frame that waitParked finds in goroutine stacks.
//
//go:noinline
func coalesceCaller(c Cache[Row], key int) (Row, error) {
	return c.Get(context.Background(), key)
}

// waitParked waits until n goroutines whose stack contains frame are
// parked on something other than a mutex: a channel, a select or a wait
// group, which is where a Get waits for a shared fill or where the fill
// itself blocks. It fails the test after 10 seconds.
func waitParked(t *testing.T, frame string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		for {
			size := runtime.Stack(buf, true)
			if size < len(buf) {
				buf = buf[:size]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		parked := countParked(string(buf), frame)
		if parked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines in %s parked after 10 s, want %d", parked, frame, n)
		}
		buf = buf[:cap(buf)]
		runtime.Gosched()
	}
}

// countParked counts the goroutines in a runtime.Stack dump that contain
// frame and wait on a channel, a select or a wait group.
func countParked(dump, frame string) int {
	count := 0
	for _, g := range strings.Split(dump, "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if !strings.Contains(g, frame) {
			continue
		}
		switch {
		case strings.Contains(header, "[chan receive"),
			strings.Contains(header, "[select"),
			strings.Contains(header, "[sync.WaitGroup.Wait"):
			count++
		}
	}
	return count
}
