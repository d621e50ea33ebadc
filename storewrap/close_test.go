package storewrap

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/hotread/hotread/chatdb"
)

func TestCloseTwiceReturnsNil(t *testing.T) {
	q, err := New(&recorder{}, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for i := range 2 {
		if err := q.Close(); err != nil {
			t.Errorf("Close %d: %v", i+1, err)
		}
	}
}

func TestReadsAfterCloseQueryEachTime(t *testing.T) {
	f := primed(t, Options{}, false)
	if err := f.q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		f.expectReads(readEverything)
		readAll(t, f.q)
	}
}

func TestMutationAfterCloseInvalidatesAndPublishes(t *testing.T) {
	f := primed(t, Options{}, true)
	if err := f.q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectCommit()
	if err := f.q.DeleteChatModelConfig(t.Context(), configD.ID); err != nil {
		t.Fatalf("DeleteChatModelConfig: %v", err)
	}
}

func TestCloseCancelsRunningFill(t *testing.T) {
	fillStarted := make(chan struct{})
	fillErr := make(chan error, 1)
	rec := &recorder{
		results: map[string][]any{"GetEnabledChatProviders": {[]chatdb.ChatProvider{providerA}}},
	}
	var calls atomic.Int32
	rec.onCall = func(ctx context.Context, method string) error {
		if calls.Add(1) > 1 {
			return nil
		}
		// The first call is the fill: it waits for the server context and
		// fails with its error, as a driver does.
		close(fillStarted)
		<-ctx.Done()
		fillErr <- ctx.Err()
		return ctx.Err()
	}
	q, err := New(rec, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	type result struct {
		providers []chatdb.ChatProvider
		err       error
	}
	done := make(chan result)
	go func() {
		providers, err := q.GetEnabledChatProviders(t.Context())
		done <- result{providers, err}
	}()
	<-fillStarted
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-fillErr; !errors.Is(err, context.Canceled) {
		t.Errorf("fill's context error = %v, want context.Canceled", err)
	}

	// The waiting read is sent to the wrapped Querier again.
	got := <-done
	if got.err != nil {
		t.Fatalf("GetEnabledChatProviders: %v", got.err)
	}
	if want := []chatdb.ChatProvider{providerA}; !reflect.DeepEqual(got.providers, want) {
		t.Errorf("GetEnabledChatProviders = %+v, want %+v", got.providers, want)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 2 {
		t.Errorf("wrapped Querier got %d calls, want 2 (the cancelled fill and the retry)", len(rec.calls))
	}
}
