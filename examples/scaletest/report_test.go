package main

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestWindows(t *testing.T) {
	tests := []struct {
		elapsed, ttl time.Duration
		want         int64
	}{
		{0, 10 * time.Second, 1},
		{6 * time.Second, 10 * time.Second, 1},
		{10 * time.Second, 10 * time.Second, 1},
		{10*time.Second + time.Millisecond, 10 * time.Second, 2},
		{6 * time.Second, 5 * time.Second, 2},
		{22 * time.Second, 5 * time.Second, 5},
	}
	for _, tt := range tests {
		if got := windows(tt.elapsed, tt.ttl); got != tt.want {
			t.Errorf("windows(%v, %v) = %d, want %d", tt.elapsed, tt.ttl, got, tt.want)
		}
	}
}

func TestFloors(t *testing.T) {
	config1, config2, config3 := uuid.New(), uuid.New(), uuid.New()
	user1, user2, user3 := uuid.New(), uuid.New(), uuid.New()
	ds := &dataset{chats: []chat{
		{modelConfigID: config1, userID: user1, replica: 0},
		{modelConfigID: config2, userID: user1, replica: 0},
		{modelConfigID: config1, userID: user2, replica: 1},
		{modelConfigID: config1, userID: user2, replica: 1},
	}}
	in := floorInputs{
		cfg:     &config{replicas: 2},
		ds:      ds,
		elapsed: 7 * time.Second, // one config window, two prompt windows
		changes: adminChanges{
			providers:    1,
			configs:      []uuid.UUID{config2, config3},
			defaultMoves: 1,
			prompts:      []uuid.UUID{user1, user3},
		},
		drops: []uint64{0, 1},
	}

	// Replica 0 reads configs {1, 2} and user {1}; replica 1 reads config
	// {1} and user {2} and dropped every cached read once.
	want := map[string]int64{
		// 1 window + 1 provider change on each, plus one drop on replica 1.
		"GetEnabledChatProviders": (1 + 1) + (1 + 1 + 1),
		// Replica 0: 2 keys x (1 window + 1 provider + 1 move) + config2
		// updated. Replica 1: 1 key x (1 + 1 + 1 + 1 drop).
		"GetChatModelConfigByID": (2*3 + 1) + 1*4,
		// Window, provider change, move and both config updates, on each,
		// plus the drop on replica 1.
		"GetDefaultChatModelConfig": (1 + 1 + 1 + 2) + (1 + 1 + 1 + 2 + 1),
		// Replica 0: 1 user x 2 windows + user1's upsert. Replica 1: 1 user
		// x (2 windows + 1 drop); user3 is read nowhere.
		"GetUserChatCustomPrompt": (2 + 1) + 3,
	}
	got := floors(in)
	for name, n := range want {
		if got[name] != n {
			t.Errorf("floor of %s = %d, want %d", name, got[name], n)
		}
	}
}

func TestPercentile(t *testing.T) {
	r := &loadResult{elapsed: time.Second}
	for i := 1; i <= 100; i++ {
		r.latencies = append(r.latencies, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0.50, 50 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{0.001, time.Millisecond},
	}
	for _, tt := range tests {
		if got := r.percentile(tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := r.turnsPerSecond(); got != 100 {
		t.Errorf("turnsPerSecond = %v, want 100", got)
	}
}
