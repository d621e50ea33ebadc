package main

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// fakeQuerier returns fixed results from the hot reads and counts the
// calls that reach it.
type fakeQuerier struct {
	chatdb.Querier // nil: any other method panics
	calls          atomic.Int64
}

func (f *fakeQuerier) count() {
	f.calls.Add(1)
}

func (f *fakeQuerier) GetEnabledChatProviders(context.Context) ([]chatdb.ChatProvider, error) {
	f.count()
	return []chatdb.ChatProvider{{Provider: "p"}}, nil
}

func (f *fakeQuerier) GetChatModelConfigByID(_ context.Context, id uuid.UUID) (chatdb.ChatModelConfig, error) {
	f.count()
	return chatdb.ChatModelConfig{ID: id}, nil
}

func (f *fakeQuerier) GetDefaultChatModelConfig(context.Context) (chatdb.ChatModelConfig, error) {
	f.count()
	return chatdb.ChatModelConfig{IsDefault: true}, nil
}

func (f *fakeQuerier) GetUserChatCustomPrompt(context.Context, uuid.UUID) (chatdb.UserChatCustomPrompt, error) {
	f.count()
	return chatdb.UserChatCustomPrompt{}, sql.ErrNoRows
}

func TestReadRecorder(t *testing.T) {
	fake := &fakeQuerier{}
	epoch := time.Now()
	r := newReadRecorder(fake, epoch)
	ctx := t.Context()
	config, user := uuid.New(), uuid.New()

	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if _, err := r.GetEnabledChatProviders(ctx); err != nil {
					t.Errorf("GetEnabledChatProviders: %v", err)
				}
				if c, err := r.GetChatModelConfigByID(ctx, config); err != nil || c.ID != config {
					t.Errorf("GetChatModelConfigByID = %v, %v, want config %s", c.ID, err, config)
				}
				if c, err := r.GetDefaultChatModelConfig(ctx); err != nil || !c.IsDefault {
					t.Errorf("GetDefaultChatModelConfig = %+v, %v, want the default", c, err)
				}
				if _, err := r.GetUserChatCustomPrompt(ctx, user); !errors.Is(err, sql.ErrNoRows) {
					t.Errorf("GetUserChatCustomPrompt error = %v, want sql.ErrNoRows", err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(epoch)

	if got, want := fake.calls.Load(), int64(4*workers*rounds); got != want {
		t.Errorf("calls forwarded = %d, want %d", got, want)
	}
	reads := r.spans()
	keys := []versionKey{
		{read: readProviders},
		{read: readModelConfig, id: config},
		{read: readDefaultModelConfig},
		{read: readUserPrompt, id: user},
	}
	if len(reads) != len(keys) {
		t.Errorf("recorded %d keys, want %d", len(reads), len(keys))
	}
	for _, k := range keys {
		spans := reads[k]
		if len(spans) != workers*rounds {
			t.Errorf("%v: recorded %d reads, want %d", k, len(spans), workers*rounds)
		}
		for _, span := range spans {
			if span.start < 0 || span.end < span.start || span.end > elapsed {
				t.Errorf("%v: read from %v to %v since the epoch, want 0 <= start <= end <= %v",
					k, span.start, span.end, elapsed)
				break
			}
		}
	}
}

// BenchmarkReadRecorder measures what recording adds to a hot read, with
// the fake's own cost included, from parallel goroutines over 500 users.
func BenchmarkReadRecorder(b *testing.B) {
	users := make([]uuid.UUID, 500)
	for i := range users {
		users[i] = uuid.New()
	}
	for _, recorded := range []bool{false, true} {
		name := "plain"
		if recorded {
			name = "recorded"
		}
		b.Run(name, func(b *testing.B) {
			var q chatdb.Querier = &fakeQuerier{}
			if recorded {
				q = newReadRecorder(q, time.Now())
			}
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_, _ = q.GetUserChatCustomPrompt(context.Background(), users[i%len(users)])
					i++
				}
			})
		})
	}
}
