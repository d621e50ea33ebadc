package main

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func seconds(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

// instants returns reads that end when they start, at the given seconds.
func instants(s ...float64) []readSpan {
	out := make([]readSpan, len(s))
	for i, at := range seconds(s...) {
		out[i] = readSpan{start: at, end: at}
	}
	return out
}

func TestFills(t *testing.T) {
	const ttl = 5 * time.Second
	tests := []struct {
		name          string
		reads         []float64
		invalidations []float64
		want          int64
	}{
		{"no reads", nil, nil, 0},
		{"key read once", []float64{3}, nil, 1},
		{"reads inside one window", []float64{0.5, 1, 4, 5.4}, nil, 1},
		{"read at window end", []float64{1, 6}, nil, 2},
		{"reads spanning windows", []float64{0, 4.9, 5, 9.9, 10, 12}, nil, 3},
		{"window opens at first read", []float64{2, 6.9, 7.1}, nil, 2},
		{"late reads skip windows", []float64{0, 20}, nil, 2},
		{"invalidation mid-window", []float64{0, 1, 3, 4}, []float64{2}, 2},
		{"two invalidations between reads", []float64{0, 3}, []float64{1, 2}, 2},
		{"invalidation then window end", []float64{0, 2, 6, 8}, []float64{1}, 3},
		{"window opens at read after invalidation", []float64{0, 4, 8.5}, []float64{3}, 2},
		{"invalidation before first read", []float64{1, 2}, []float64{0.5}, 1},
		{"invalidation after last read", []float64{1, 2}, []float64{3}, 1},
		{"invalidation at a read's start", []float64{0, 1, 1.5}, []float64{1}, 2},
		{"invalidation between windows", []float64{0, 6, 7}, []float64{5.5}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fills(instants(tt.reads...), seconds(tt.invalidations...), ttl)
			if got != tt.want {
				t.Errorf("fills(%v, %v, %v) = %d, want %d",
					tt.reads, tt.invalidations, ttl, got, tt.want)
			}
		})
	}
}

// A window runs from the end of the read that opened it, as a cached value
// lives from the end of its fill.
func TestFillsWindowStartsAtReadEnd(t *testing.T) {
	const ttl = 5 * time.Second
	reads := []readSpan{
		{start: 0, end: 200 * time.Millisecond}, // a slow first read
		{start: 5100 * time.Millisecond, end: 5100 * time.Millisecond},
		{start: 5300 * time.Millisecond, end: 5300 * time.Millisecond},
	}
	if got := fills(reads, nil, ttl); got != 2 {
		t.Errorf("fills = %d, want 2 (the read at 5.1 s is served, the one at 5.3 s is not)", got)
	}
}

func TestFloors(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return epoch.Add(time.Duration(s * float64(time.Second))) }
	config1, config2 := uuid.New(), uuid.New()
	user1, user2, user3 := uuid.New(), uuid.New(), uuid.New()

	in := floorInputs{
		epoch: epoch,
		reads: []map[versionKey][]readSpan{
			{ // replica 0, out of order as a recorder may append them
				{read: readProviders}:                instants(9, 1, 3, 5),
				{read: readModelConfig, id: config1}: instants(1, 5, 9),
				{read: readModelConfig, id: config2}: instants(2),
				{read: readDefaultModelConfig}:       instants(1, 3, 5, 9),
				{read: readUserPrompt, id: user1}:    instants(1, 4, 6.5),
				{read: readUserPrompt, id: user2}:    instants(2, 8),
			},
			{ // replica 1
				{read: readProviders}:                instants(1, 9),
				{read: readModelConfig, id: config1}: instants(1, 2),
				{read: readDefaultModelConfig}:       instants(1, 9),
				{read: readUserPrompt, id: user2}:    instants(1, 2),
			},
		},
		changes: []adminChange{
			{kind: changeProvider, at: at(4)},
			{kind: changeModelConfig, id: config1, at: at(7)},
			{kind: changeDefault, at: at(8)},
			{kind: changePrompt, id: user1, at: at(5)},
			{kind: changePrompt, id: user3, at: at(5)},
		},
		drops: [][]time.Time{nil, {at(1.5)}},
	}

	want := map[string]int64{
		// Replica 0: the window of 1 closes at the provider change (4).
		// Replica 1: 1, then 9 after the drop and the change.
		"GetEnabledChatProviders": 2 + 2,
		// Replica 0: config1 at 1, 5 after the provider change, 9 after
		// its update and the move; config2 once. Replica 1: config1 at 1,
		// and 2 after the drop.
		"GetChatModelConfigByID": (3 + 1) + 2,
		// Replica 0: 1, 5 (provider change), 9 (update and move).
		// Replica 1: 1, 9.
		"GetDefaultChatModelConfig": 3 + 2,
		// Replica 0: user1 at 1, 6.5 after its upsert at 5; user2 at 2,
		// then 8 in a new TTL window. Replica 1: user2 at 1, 2 after the
		// drop. user3 is read nowhere.
		"GetUserChatCustomPrompt": (2 + 2) + 2,
	}
	got := floors(in)
	for _, name := range hotReads {
		if got[name] != want[name] {
			t.Errorf("floor of %s = %d, want %d", name, got[name], want[name])
		}
	}
	if len(got) != len(hotReads) {
		t.Errorf("floors returned %d queries, want %d: %v", len(got), len(hotReads), got)
	}
}
