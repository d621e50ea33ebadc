package bench

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Workload sizes, fixed so that every run measures the same thing.
const (
	hitKeys        = 1024 // warm keys read by Hit and HitClone; a power of two
	stampedeCalls  = 64   // goroutines that miss one cold key at once
	stampedeFill   = time.Millisecond
	churnKeys      = 100_000
	churnBound     = 10_000
	churnTTL       = time.Second
	churnTraceSize = 1 << 20 // a power of two
	longTTL        = time.Hour
)

// BenchmarkHit measures parallel reads of warm keys with no expiry during
// the run, sharing the stored value. It fails when any read missed.
func BenchmarkHit(b *testing.B) {
	for _, impl := range Impls[Row]() {
		b.Run(impl.Name, func(b *testing.B) {
			benchmarkHit(b, impl, func(key int) Row { return Row{ID: key, Name: "row"} }, nil)
		})
	}
}

// BenchmarkHitClone is BenchmarkHit with a value holding a slice of
// structs and raw JSON, deep-copied on store and on every read.
func BenchmarkHitClone(b *testing.B) {
	for _, impl := range Impls[Config]() {
		b.Run(impl.Name, func(b *testing.B) {
			benchmarkHit(b, impl, NewConfig, CloneConfig)
		})
	}
}

func benchmarkHit[V any](b *testing.B, impl Impl[V], value func(int) V, clone func(V) V) {
	ctx := context.Background()
	var fills atomic.Int64
	c, err := impl.New(ctx, Spec[V]{
		Fill: func(_ context.Context, key int) (V, error) {
			fills.Add(1)
			return value(key), nil
		},
		TTL:        longTTL,
		MaxEntries: 10 * hitKeys,
		Keys:       hitKeys,
		Clone:      clone,
	})
	if err != nil {
		b.Fatalf("%s: New: %v", impl.Name, err)
	}
	defer c.Close()
	warm(b, c, &fills)
	warmFills := fills.Load()

	b.ReportAllocs()
	b.ResetTimer()
	var failed atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := rand.IntN(hitKeys)
		var errs int64
		for pb.Next() {
			if _, err := c.Get(ctx, key); err != nil {
				errs++
			}
			key = (key + 1) & (hitKeys - 1)
		}
		failed.Add(errs)
	})
	b.StopTimer()

	if n := failed.Load(); n != 0 {
		b.Fatalf("%s: %d Gets failed", impl.Name, n)
	}
	if n := fills.Load() - warmFills; n != 0 {
		b.Fatalf("%s: %d fills during the run, want 0: reads missed", impl.Name, n)
	}
}

// warm fills every key of the Hit workload and returns once a full pass
// over the keys called no fill, so that every later read is a hit.
func warm[V any](b *testing.B, c Cache[V], fills *atomic.Int64) {
	b.Helper()
	ctx := context.Background()
	const maxPasses = 10
	for pass := range maxPasses {
		before := fills.Load()
		for key := range hitKeys {
			if _, err := c.Get(ctx, key); err != nil {
				b.Fatalf("warming key %d: %v", key, err)
			}
		}
		if w, ok := c.(waiter); ok {
			w.Wait()
		}
		if pass > 0 && fills.Load() == before {
			return
		}
	}
	b.Fatalf("keys still missing after %d passes", maxPasses)
}

// BenchmarkStampede measures 64 goroutines that miss the same cold key at
// once behind a 1 ms fill. It reports fills per op, which is 1 for a cache
// that coalesces concurrent misses and up to 64 for one that does not.
func BenchmarkStampede(b *testing.B) {
	for _, impl := range Impls[Row]() {
		b.Run(impl.Name, func(b *testing.B) { benchmarkStampede(b, impl) })
	}
}

func benchmarkStampede(b *testing.B, impl Impl[Row]) {
	ctx := context.Background()
	var fills atomic.Int64
	c, err := impl.New(ctx, Spec[Row]{
		Fill: func(_ context.Context, key int) (Row, error) {
			fills.Add(1)
			time.Sleep(stampedeFill)
			return Row{ID: key, Name: "row"}, nil
		},
		TTL:        longTTL,
		MaxEntries: churnBound,
	})
	if err != nil {
		b.Fatalf("%s: New: %v", impl.Name, err)
	}
	defer c.Close()

	b.ReportAllocs()
	ops := 0
	for key := 0; b.Loop(); key++ {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range stampedeCalls {
			wg.Go(func() {
				<-start
				v, err := c.Get(ctx, key)
				if err != nil || v.ID != key {
					b.Errorf("%s: Get(%d) = %+v, %v; want ID %d", impl.Name, key, v, err, key)
				}
			})
		}
		close(start)
		wg.Wait()
		ops++
	}
	b.ReportMetric(float64(fills.Load())/float64(ops), "fills/op")
}

// BenchmarkChurn measures parallel reads of keys drawn from a Zipf
// distribution over 100,000 keys, through a cache bounded to 10,000 keys
// with a 1-second TTL. It reports fills per op (the miss ratio) and the
// heap that the cache keeps live after the run.
func BenchmarkChurn(b *testing.B) {
	trace := churnTrace()
	for _, impl := range Impls[Row]() {
		b.Run(impl.Name, func(b *testing.B) { benchmarkChurn(b, impl, trace) })
	}
}

func benchmarkChurn(b *testing.B, impl Impl[Row], trace []int) {
	ctx := context.Background()
	var fills atomic.Int64
	spec := Spec[Row]{
		Fill: func(_ context.Context, key int) (Row, error) {
			fills.Add(1)
			return Row{ID: key, Name: "row"}, nil
		},
		TTL:        churnTTL,
		MaxEntries: churnBound,
		Keys:       churnKeys,
	}
	baseline := liveHeap()
	c, err := impl.New(ctx, spec)
	if err != nil {
		b.Fatalf("%s: New: %v", impl.Name, err)
	}
	defer c.Close()

	b.ReportAllocs()
	b.ResetTimer()
	var failed atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(trace))
		var errs int64
		for pb.Next() {
			if _, err := c.Get(ctx, trace[i]); err != nil {
				errs++
			}
			i = (i + 1) & (len(trace) - 1)
		}
		failed.Add(errs)
	})
	b.StopTimer()

	if n := failed.Load(); n != 0 {
		b.Fatalf("%s: %d Gets failed", impl.Name, n)
	}
	b.ReportMetric(float64(fills.Load())/float64(b.N), "fills/op")
	b.ReportMetric(float64(liveHeap()-baseline), "live-B")
	runtime.KeepAlive(c)
}

// liveHeap returns the bytes of heap objects that survive a full garbage
// collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// churnTrace returns the keys that BenchmarkChurn reads, built once so
// that every cache reads the same sequence and the trace is not counted
// in a cache's live heap.
var churnTrace = sync.OnceValue(func() []int {
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.01, 1, churnKeys-1)
	trace := make([]int, churnTraceSize)
	for i := range trace {
		trace[i] = int(zipf.Uint64())
	}
	return trace
})
