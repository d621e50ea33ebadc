package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/storewrap"
)

// cachedRecording records what the floor of the cached run depends on:
// the start time of every hot read on each replica, and when each
// replica's listener dropped every cached read.
type cachedRecording struct {
	epoch       time.Time
	replicas    []*storewrap.Querier
	recorders   []*readRecorder
	dropsBefore []uint64
	watcher     *dropWatcher // nil for a single replica, which has no listener
}

// startRecording starts recording the reads and drops of replicas.
func startRecording(replicas []*storewrap.Querier) *cachedRecording {
	c := &cachedRecording{
		epoch:       time.Now(),
		replicas:    replicas,
		recorders:   make([]*readRecorder, len(replicas)),
		dropsBefore: dropAlls(replicas),
	}
	for i, r := range replicas {
		c.recorders[i] = newReadRecorder(r, c.epoch)
	}
	if len(replicas) > 1 {
		c.watcher = watchDrops(replicas, c.dropsBefore)
	}
	return c
}

// queriers returns, per replica, the Querier through which the load's
// reads are recorded.
func (c *cachedRecording) queriers() []chatdb.Querier {
	qs := make([]chatdb.Querier, len(c.recorders))
	for i, r := range c.recorders {
		qs[i] = r
	}
	return qs
}

// finish stops recording, once the load has finished, and stores what it
// recorded in res.
func (c *cachedRecording) finish(res *cachedResult) {
	if c.watcher != nil {
		res.dropTimes = c.watcher.finish()
	}
	res.epoch = c.epoch
	res.drops = dropsSince(c.replicas, c.dropsBefore)
	res.reads = make([]map[versionKey][]readSpan, len(c.recorders))
	for i, r := range c.recorders {
		res.reads[i] = r.spans()
	}
}

// readRecorder is a chatdb.Querier that records when each hot read starts
// and ends, and forwards every call to the Querier it wraps. The floor of each hot
// read is computed from these times. It is safe for concurrent use.
//
// A read costs two clock reads and one append under a mutex that no other
// replica shares.
type readRecorder struct {
	chatdb.Querier
	epoch time.Time

	mu sync.Mutex
	// reads maps each key read through this replica to the spans of its
	// reads since epoch, in the order the reads ended. Guarded by mu.
	reads map[versionKey][]readSpan
}

// readSpan is when one read started and ended, since the run's epoch.
type readSpan struct {
	start, end time.Duration
}

// newReadRecorder returns a recorder of the hot reads made through q,
// whose times count from epoch.
func newReadRecorder(q chatdb.Querier, epoch time.Time) *readRecorder {
	return &readRecorder{Querier: q, epoch: epoch, reads: make(map[versionKey][]readSpan)}
}

// now returns the time since the recorder's epoch.
func (r *readRecorder) now() time.Duration {
	return time.Since(r.epoch)
}

// record records that a read of key started at start and ends now.
func (r *readRecorder) record(key versionKey, start time.Duration) {
	span := readSpan{start: start, end: r.now()}
	r.mu.Lock()
	r.reads[key] = append(r.reads[key], span)
	r.mu.Unlock()
}

// spans returns the recorded reads. The map is the recorder's own: call it
// once the load has finished.
func (r *readRecorder) spans() map[versionKey][]readSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

func (r *readRecorder) GetEnabledChatProviders(ctx context.Context) ([]chatdb.ChatProvider, error) {
	start := r.now()
	defer r.record(versionKey{read: readProviders}, start)
	return r.Querier.GetEnabledChatProviders(ctx)
}

func (r *readRecorder) GetChatModelConfigByID(ctx context.Context, id uuid.UUID) (chatdb.ChatModelConfig, error) {
	start := r.now()
	defer r.record(versionKey{read: readModelConfig, id: id}, start)
	return r.Querier.GetChatModelConfigByID(ctx, id)
}

func (r *readRecorder) GetDefaultChatModelConfig(ctx context.Context) (chatdb.ChatModelConfig, error) {
	start := r.now()
	defer r.record(versionKey{read: readDefaultModelConfig}, start)
	return r.Querier.GetDefaultChatModelConfig(ctx)
}

func (r *readRecorder) GetUserChatCustomPrompt(
	ctx context.Context,
	userID uuid.UUID,
) (chatdb.UserChatCustomPrompt, error) {
	start := r.now()
	defer r.record(versionKey{read: readUserPrompt, id: userID}, start)
	return r.Querier.GetUserChatCustomPrompt(ctx, userID)
}

// dropPollInterval is how often a dropWatcher reads each listener's count
// of drops of every cached read. A drop gets the time of the first poll
// that counts it, so it is timed up to this interval late.
const dropPollInterval = 10 * time.Millisecond

// dropWatcher records when each replica's listener dropped every cached
// read, by polling the replicas' counters, because storewrap reports drops
// only as a count.
type dropWatcher struct {
	replicas []*storewrap.Querier
	stop     chan struct{}
	done     chan struct{}

	// Owned by the polling goroutine until done is closed.
	counts []uint64      // per replica, the count at the last poll
	times  [][]time.Time // per replica, one time per drop seen
}

// watchDrops starts polling the drop counts of replicas, starting from
// their counts before the run, in before.
func watchDrops(replicas []*storewrap.Querier, before []uint64) *dropWatcher {
	w := &dropWatcher{
		replicas: replicas,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		counts:   slices.Clone(before),
		times:    make([][]time.Time, len(replicas)),
	}
	go w.run()
	return w
}

func (w *dropWatcher) run() {
	defer close(w.done)
	ticker := time.NewTicker(dropPollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-w.stop:
			w.poll()
			return
		case <-ticker.C:
			w.poll()
		}
	}
}

// poll times the drops since the last poll at now.
func (w *dropWatcher) poll() {
	now := time.Now()
	for i, count := range dropAlls(w.replicas) {
		for ; w.counts[i] < count; w.counts[i]++ {
			w.times[i] = append(w.times[i], now)
		}
	}
}

// finish stops the polling after one last poll and returns, per replica,
// the time of each drop seen.
func (w *dropWatcher) finish() [][]time.Time {
	close(w.stop)
	<-w.done
	return w.times
}
