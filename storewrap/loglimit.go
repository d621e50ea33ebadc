package storewrap

import (
	"sync"
	"time"

	"github.com/coder/quartz"
)

// logInterval is the shortest time between two log lines of one kind from
// the listener.
const logInterval = 10 * time.Second

// logLimiter lets one log line through per interval and counts the lines it
// suppresses in between, so that a flood of invalid notifications or a
// connection that keeps failing cannot flood the log. It is safe for
// concurrent use.
type logLimiter struct {
	clock    quartz.Clock
	interval time.Duration

	mu         sync.Mutex
	next       time.Time // guarded by mu; when the next line may be logged
	suppressed uint64    // guarded by mu; lines suppressed since the last one logged
}

// allow reports whether a line may be logged now. When it may, it also
// returns how many lines were suppressed since the last one logged, for the
// caller to include in the line.
func (r *logLimiter) allow() (ok bool, suppressed uint64) {
	now := r.clock.Now("listener", "log")
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.next) {
		r.suppressed++
		return false, 0
	}
	suppressed = r.suppressed
	r.suppressed = 0
	r.next = now.Add(r.interval)
	return true, suppressed
}
