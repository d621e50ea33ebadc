package querycache

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestMaxEntriesHoldsUnderConcurrentHits stores new keys into a full entry
// while another goroutine keeps reading the key it holds. Hits set the
// referenced bit without the lock, so they can set it again each time the
// eviction hand clears it. The bound must hold all the same.
//
// The race it needs depends on timing. Without the fallback in
// ring.victim it fails in most runs within the budget, so a pass proves
// less than a failure.
func TestMaxEntriesHoldsUnderConcurrentHits(t *testing.T) {
	const (
		maxEntries = 1
		budget     = 1500 * time.Millisecond
	)
	fill := func(_ context.Context, key int) (int, error) { return key, nil }
	e, err := New(context.Background(), fill, Options[int]{TTL: time.Hour, MaxEntries: maxEntries})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.Get(ctx, 0); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.Get(ctx, 0); err != nil {
				t.Errorf("Get(0): %v", err)
				return
			}
		}
	})
	defer func() {
		close(stop)
		reader.Wait()
	}()

	deadline := time.Now().Add(budget)
	for key := 1; time.Now().Before(deadline); key++ {
		if _, err := e.Get(ctx, key); err != nil {
			t.Fatalf("Get(%d): %v", key, err)
		}
		if got := e.Len(); got > maxEntries {
			t.Fatalf("Len after storing key %d = %d, want at most MaxEntries %d", key, got, maxEntries)
		}
	}
}
