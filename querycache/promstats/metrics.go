package promstats

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotread/hotread/querycache"
)

// cacheMetricDef maps one field of querycache.Stats to a metric. name
// follows the namespace and the "cache" subsystem.
type cacheMetricDef struct {
	name      string
	help      string
	valueType prometheus.ValueType
	value     func(querycache.Stats) float64
}

// cacheMetricDefs lists one metric per field of querycache.Stats.
var cacheMetricDefs = []cacheMetricDef{
	{"hits_total", "Gets answered with a fresh stored value.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Hits) }},
	{"negative_hits_total", `Gets answered with a stored "not found" error.`,
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.NegativeHits) }},
	{"stale_hits_total", "Gets answered with an expired value while it was refreshed.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.StaleHits) }},
	{"misses_total", "Gets that waited for a fill, started or joined.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Misses) }},
	{"coalesced_total", "Misses that joined a fill another Get had started.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Coalesced) }},
	{"fills_total", "Calls of the fill function, that is, database calls.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Fills) }},
	{"refreshes_total", "Fills started in the background by a stale hit.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Refreshes) }},
	{"fill_errors_total", "Fills that returned an error other than \"not found\", or panicked.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.FillErrors) }},
	{"fill_panics_total", "Fills that panicked.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.FillPanics) }},
	{"stale_fills_discarded_total", "Fill results not stored because their key was invalidated meanwhile.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.StaleFillsDiscarded) }},
	{"invalidations_total", "Calls of Invalidate and InvalidateAll.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Invalidations) }},
	{"evictions_total", "Keys removed to stay within the entry's bound.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Evictions) }},
	{"expirations_total", "Expired keys removed.",
		prometheus.CounterValue, func(s querycache.Stats) float64 { return float64(s.Expirations) }},
	{"entries", "Keys stored, including expired keys not yet removed.",
		prometheus.GaugeValue, func(s querycache.Stats) float64 { return float64(s.Entries) }},
}
