package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// hotReads are the names of the four cached queries, in report order,
// which is also the order of readKind.
var hotReads = []string{
	"GetEnabledChatProviders",
	"GetChatModelConfigByID",
	"GetDefaultChatModelConfig",
	"GetUserChatCustomPrompt",
}

// report is the outcome of the three runs. Its exported fields are the
// -json output.
type report struct {
	Turns     int              `json:"turns"`
	Queries   []queryReport    `json:"queries"`
	Uncached  runReport        `json:"uncached"`
	Cached    runReport        `json:"cached"`
	Limit     runReport        `json:"limit"`
	Coherence *coherenceReport `json:"coherence,omitempty"`

	// Shown in the table only.
	promptUsers int
	elapsed     [3]time.Duration // uncached, cached, limit
}

// queryReport compares one hot read's database calls without and with the
// cache.
type queryReport struct {
	Name          string  `json:"name"`
	CallsUncached int64   `json:"calls_uncached"`
	CallsCached   int64   `json:"calls_cached"`
	Floor         int64   `json:"floor"`
	Reduction     float64 `json:"reduction"` // 1 - cached/uncached
}

// runReport is the throughput and turn latency of one run.
type runReport struct {
	TurnsPerSecond float64 `json:"turns_per_second"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
}

// coherenceReport contains the results of the cached run's staleness checks.
type coherenceReport struct {
	Replicas       int     `json:"replicas"`
	ReadsChecked   int64   `json:"reads_checked"`
	StaleReads     int64   `json:"stale_reads"`
	MaxStalenessMs float64 `json:"max_staleness_ms"`
}

func newRunReport(r *loadResult) runReport {
	return runReport{
		TurnsPerSecond: r.turnsPerSecond(),
		P50Ms:          milliseconds(r.percentile(0.50)),
		P99Ms:          milliseconds(r.percentile(0.99)),
	}
}

func milliseconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// queryReports returns the report line of each hot read.
func queryReports(uncached, cached, floor map[string]int64) []queryReport {
	reports := make([]queryReport, 0, len(hotReads))
	for _, name := range hotReads {
		q := queryReport{
			Name:          name,
			CallsUncached: uncached[name],
			CallsCached:   cached[name],
			Floor:         floor[name],
		}
		if q.CallsUncached > 0 {
			q.Reduction = 1 - float64(q.CallsCached)/float64(q.CallsUncached)
		}
		reports = append(reports, q)
	}
	return reports
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("scaletest: write the JSON report: %w", err)
	}
	return nil
}

func (r *report) writeTable(w io.Writer, cfg *config) error {
	fmt.Fprintf(w, "%d chats x %d turns = %d turns per run, %d users (%d with a custom prompt), "+
		"%d model configs, concurrency %d\n\n",
		cfg.chats, cfg.turns, r.Turns, cfg.users, r.promptUsers, cfg.models, cfg.concurrency)

	fmt.Fprintf(w, "%-26s %15s %13s %8s %10s\n",
		"hot read", "calls uncached", "calls cached", "floor", "reduction")
	for _, q := range r.Queries {
		fmt.Fprintf(w, "%-26s %15d %13d %8d %8.3f %%\n",
			q.Name, q.CallsUncached, q.CallsCached, q.Floor, 100*q.Reduction)
	}

	fmt.Fprintf(w, "\n%-8s %9s %8s %8s %7s\n", "run", "turns/s", "p50 ms", "p99 ms", "time s")
	runs := []struct {
		name string
		run  runReport
	}{{"uncached", r.Uncached}, {"cached", r.Cached}, {"limit", r.Limit}}
	for i, run := range runs {
		fmt.Fprintf(w, "%-8s %9.0f %8.2f %8.2f %7.1f\n",
			run.name, run.run.TurnsPerSecond, run.run.P50Ms, run.run.P99Ms, r.elapsed[i].Seconds())
	}

	fmt.Fprintf(w, "\ncached run: %.1f %% of the limit run's turns per second\n",
		100*r.Cached.TurnsPerSecond/r.Limit.TurnsPerSecond)
	if c := r.Coherence; c != nil {
		fmt.Fprintf(w, "coherence: %d replicas, %d reads checked, %d stale by more than %v, "+
			"max staleness %.2f ms\n",
			c.Replicas, c.ReadsChecked, c.StaleReads, staleThreshold, c.MaxStalenessMs)
	}
	if _, err := fmt.Fprintln(w, "every run wrote one message per turn"); err != nil {
		return fmt.Errorf("scaletest: write the table: %w", err)
	}
	return nil
}
