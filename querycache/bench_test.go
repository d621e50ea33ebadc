package querycache

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const benchKeys = 64

func benchKeyNames() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "model-config-" + strconv.Itoa(i)
	}
	return keys
}

// benchValue has the shape of a model configuration row: a slice and raw
// JSON that a Clone hook must copy.
type benchValue struct {
	ID      int
	Tags    []string
	Options json.RawMessage
}

func cloneBenchValue(v benchValue) benchValue {
	v.Tags = append([]string(nil), v.Tags...)
	return v
}

func cloneBenchValueDeep(v benchValue) benchValue {
	v.Tags = append([]string(nil), v.Tags...)
	v.Options = append(json.RawMessage(nil), v.Options...)
	return v
}

func warmEntry(b *testing.B, keys []string, clone func(benchValue) benchValue) *Entry[string, benchValue] {
	fill := func(_ context.Context, key string) (benchValue, error) {
		return benchValue{ID: len(key), Tags: []string{"a", "b"}, Options: json.RawMessage(`{"t":1}`)}, nil
	}
	e, err := New(context.Background(), fill, Options[benchValue]{TTL: time.Hour, Clone: clone})
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		if _, err := e.Get(context.Background(), k); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkGetHit measures parallel hits on warm keys. The sub-benchmarks
// differ in the Clone hook: none, one that copies a slice (one allocation)
// and one that also copies the raw JSON (two allocations).
func BenchmarkGetHit(b *testing.B) {
	keys := benchKeyNames()
	for _, bc := range []struct {
		name  string
		clone func(benchValue) benchValue
	}{
		{"NoClone", nil},
		{"SliceClone", cloneBenchValue},
		{"DeepClone", cloneBenchValueDeep},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := warmEntry(b, keys, bc.clone)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := e.Get(ctx, keys[i%benchKeys]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.StopTimer()
			if s := e.Stats(); s.Fills != benchKeys {
				b.Fatalf("fills = %d, want %d: the benchmark measured misses", s.Fills, benchKeys)
			}
		})
	}
}

// BenchmarkBaselineMutexMap measures the floor that BenchmarkGetHit/NoClone
// is compared with: a map lookup under sync.RWMutex.RLock, with no expiry
// check and no counters.
func BenchmarkBaselineMutexMap(b *testing.B) {
	keys := benchKeyNames()
	var mu sync.RWMutex
	m := make(map[string]benchValue, benchKeys)
	for _, k := range keys {
		m[k] = benchValue{ID: len(k), Tags: []string{"a", "b"}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			mu.RLock()
			v, ok := m[keys[i%benchKeys]]
			mu.RUnlock()
			if !ok || v.ID == 0 {
				b.Error("missing key")
				return
			}
			i++
		}
	})
}

// BenchmarkGetMissCoalesced measures a cold key that 64 goroutines miss at
// once, followed by an invalidation: one fill per round is the target, and
// the fills/op metric reports it.
func BenchmarkGetMissCoalesced(b *testing.B) {
	const callers = 64
	var fills atomic.Int64
	fill := func(context.Context, string) (int, error) {
		fills.Add(1)
		time.Sleep(50 * time.Microsecond) // a fast query, so that callers overlap
		return 1, nil
	}
	e, err := New(context.Background(), fill, Options[int]{TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var start, done sync.WaitGroup
		start.Add(1)
		for range callers {
			done.Go(func() {
				start.Wait()
				if _, err := e.Get(ctx, "cold"); err != nil {
					b.Error(err)
				}
			})
		}
		start.Done()
		done.Wait()
		e.Invalidate("cold")
	}
	b.ReportMetric(float64(fills.Load())/float64(b.N), "fills/op")
}
