package main

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/hotread/hotread/storewrap"
)

// The TTLs of storewrap's default options, which the cached run uses and
// the floor depends on.
const (
	configTTL     = storewrap.DefaultConfigTTL // providers, model configs, default model config
	userPromptTTL = storewrap.DefaultUserPromptTTL
)

// ttlOf returns the TTL of the cache that serves read.
func ttlOf(read readKind) time.Duration {
	if read == readUserPrompt {
		return userPromptTTL
	}
	return configTTL
}

// floorInputs is what the floor of each hot read depends on.
type floorInputs struct {
	epoch time.Time // the instant that the read start times count from
	// reads maps, per replica, each key read to the spans of its reads
	// since epoch, in any order.
	reads   []map[versionKey][]readSpan
	changes []adminChange // made through one replica, and invalidated on every replica
	drops   [][]time.Time // per replica, when its listener dropped every cached read
}

// floors returns, by query name, the fewest database calls that a cache
// with storewrap's default TTLs could make for the reads of the cached
// run: per replica and key, one call per window that a read opened. The
// key's first read opens a window. So does the first read that starts a
// TTL or more after the end of the read that opened the last window, and
// the first read after an invalidation of the key. A window runs from the
// end of its read because storewrap counts a value's TTL from the end of
// its fill, which is no later than the end of the read that waited for it.
// So no cache with these TTLs can make fewer calls.
//
// The invalidation rules are storewrap's, as [changeKind] lists them. A
// listener's drop of every cached read invalidates every key of its
// replica. An admin change takes effect on every replica at the instant
// its mutation returned, which is also when the coherence check counts it
// as committed.
//
// NOTE: a replica other than the admin's invalidates only when the
// notification arrives, milliseconds after the commit that this floor
// uses, so with several replicas a run can make a call fewer than its
// floor when a read falls in between.
func floors(in floorInputs) map[string]int64 {
	changes := newInvalidationIndex(in.epoch, in.changes)
	out := make(map[string]int64, len(hotReads))
	for r, keys := range in.reads {
		var drops []time.Duration
		if r < len(in.drops) {
			drops = sinceEpoch(in.epoch, in.drops[r])
		}
		for key, spans := range keys {
			reads := slices.SortedFunc(slices.Values(spans), func(a, b readSpan) int {
				return cmp.Compare(a.start, b.start)
			})
			invalidations := append(changes.of(key), drops...)
			slices.Sort(invalidations)
			out[hotReads[key.read]] += fills(reads, invalidations, ttlOf(key.read))
		}
	}
	return out
}

// fills returns the fewest fills that serve the reads of one key when a
// fill serves every read that starts within ttl of the end of the read that
// made it, unless an invalidation comes between them. reads are sorted by
// start and invalidations are sorted. An invalidation at the same instant as a read counts as
// after it, because the coherence check treats a read that begins at a
// commit's instant as begun before the commit.
//
// A greedy cover is the fewest: each window starts at the first read that
// no earlier window serves, so it reaches as far as any window serving
// that read can.
func fills(reads []readSpan, invalidations []time.Duration, ttl time.Duration) int64 {
	var n int64
	var windowEnd time.Duration
	next := 0 // index of the first invalidation not yet passed
	for i, read := range reads {
		invalidated := false
		for next < len(invalidations) && invalidations[next] < read.start {
			invalidated = true
			next++
		}
		if i == 0 || invalidated || read.start >= windowEnd {
			n++
			windowEnd = read.end + ttl
		}
	}
	return n
}

// invalidationIndex is the times, since the run's epoch, at which the
// admin's changes invalidated each cached key. Every replica invalidates
// for every change.
type invalidationIndex struct {
	providerChanges []time.Duration // invalidate providers, model configs and the default
	defaultMoves    []time.Duration // invalidate model configs and the default
	configChanges   []time.Duration // each invalidates one model config and the default
	configs         map[uuid.UUID][]time.Duration
	prompts         map[uuid.UUID][]time.Duration
}

func newInvalidationIndex(epoch time.Time, changes []adminChange) *invalidationIndex {
	x := &invalidationIndex{
		configs: make(map[uuid.UUID][]time.Duration),
		prompts: make(map[uuid.UUID][]time.Duration),
	}
	for _, c := range changes {
		at := c.at.Sub(epoch)
		switch c.kind {
		case changeProvider:
			x.providerChanges = append(x.providerChanges, at)
		case changeModelConfig:
			x.configChanges = append(x.configChanges, at)
			x.configs[c.id] = append(x.configs[c.id], at)
		case changeDefault:
			x.defaultMoves = append(x.defaultMoves, at)
		case changePrompt:
			x.prompts[c.id] = append(x.prompts[c.id], at)
		}
	}
	return x
}

// of returns the times at which the admin's changes invalidated key, in a
// new slice in no particular order.
func (x *invalidationIndex) of(key versionKey) []time.Duration {
	var times []time.Duration
	switch key.read {
	case readProviders:
		times = append(times, x.providerChanges...)
	case readModelConfig:
		times = append(times, x.providerChanges...)
		times = append(times, x.defaultMoves...)
		times = append(times, x.configs[key.id]...)
	case readDefaultModelConfig:
		times = append(times, x.providerChanges...)
		times = append(times, x.defaultMoves...)
		times = append(times, x.configChanges...)
	case readUserPrompt:
		times = append(times, x.prompts[key.id]...)
	}
	return times
}

// sinceEpoch returns times as durations since epoch.
func sinceEpoch(epoch time.Time, times []time.Time) []time.Duration {
	out := make([]time.Duration, len(times))
	for i, t := range times {
		out[i] = t.Sub(epoch)
	}
	return out
}
