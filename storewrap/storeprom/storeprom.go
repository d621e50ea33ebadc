package storeprom

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotread/hotread/querycache"
	"github.com/hotread/hotread/querycache/promstats"
	"github.com/hotread/hotread/storewrap"
)

// hotReads lists the cached reads of a Querier: the query label, which is
// the name of the generated method, and the field of [storewrap.Stats]
// that counts its cache.
var hotReads = []struct {
	query string
	stats func(storewrap.Stats) querycache.Stats
}{
	{
		query: "GetEnabledChatProviders",
		stats: func(s storewrap.Stats) querycache.Stats { return s.Providers },
	},
	{
		query: "GetChatModelConfigByID",
		stats: func(s storewrap.Stats) querycache.Stats { return s.ModelConfig },
	},
	{
		query: "GetDefaultChatModelConfig",
		stats: func(s storewrap.Stats) querycache.Stats { return s.DefaultModelConfig },
	},
	{
		query: "GetUserChatCustomPrompt",
		stats: func(s storewrap.Stats) querycache.Stats { return s.UserPrompt },
	},
}

// querierMetrics lists the metrics without labels that a Querier reports
// besides its caches. name follows the namespace.
var querierMetrics = []struct {
	name      string
	help      string
	valueType prometheus.ValueType
	value     func(storewrap.Stats) float64
}{
	{
		name:      "listener_connected",
		help:      "1 while the listener for invalidations from other replicas is connected, else 0.",
		valueType: prometheus.GaugeValue,
		value:     func(s storewrap.Stats) float64 { return boolValue(s.Listener.Connected) },
	},
	{
		name:      "listener_reconnects_total",
		help:      "Connections the listener made after losing one.",
		valueType: prometheus.CounterValue,
		value:     func(s storewrap.Stats) float64 { return float64(s.Listener.Reconnects) },
	},
	{
		name:      "listener_notifications_total",
		help:      "Invalidation notifications the listener received.",
		valueType: prometheus.CounterValue,
		value:     func(s storewrap.Stats) float64 { return float64(s.Listener.Notifications) },
	},
	{
		name:      "listener_malformed_payloads_total",
		help:      "Notifications whose payload the listener could not parse.",
		valueType: prometheus.CounterValue,
		value:     func(s storewrap.Stats) float64 { return float64(s.Listener.MalformedPayloads) },
	},
	{
		name:      "listener_drop_alls_total",
		help:      "Times the listener dropped every cached read.",
		valueType: prometheus.CounterValue,
		value:     func(s storewrap.Stats) float64 { return float64(s.Listener.DropAlls) },
	},
	{
		name:      "notify_failures_total",
		help:      "Invalidations not published after their mutation had committed.",
		valueType: prometheus.CounterValue,
		value:     func(s storewrap.Stats) float64 { return float64(s.NotifyFailures) },
	},
}

// Register adds the metrics of q to c. The counters of the four cached
// reads get the query labels "GetEnabledChatProviders",
// "GetChatModelConfigByID", "GetDefaultChatModelConfig" and
// "GetUserChatCustomPrompt". The other metrics are listener_connected, a
// gauge of 0 or 1, and the counters listener_reconnects_total,
// listener_notifications_total, listener_malformed_payloads_total,
// listener_drop_alls_total and notify_failures_total, each name prefixed
// with c's namespace. A query whose cache is disabled reports zeros, and
// so does every listener metric of a Querier without a listener.
//
// Call Register before registering c with a registry. A registry checks a
// collector's metrics for conflicts when it registers the collector, and a
// pedantic registry rejects a metric added later.
//
// Register returns an error wrapping [promstats.ErrInvalid] when c or q is
// nil, and one wrapping [promstats.ErrDuplicate] when c already has one of
// the labels or names, for example because Register ran on c before. The
// metrics added before the failing one stay in c.
func Register(c *promstats.Collector, q *storewrap.Querier) error {
	if c == nil {
		return fmt.Errorf("storeprom: register: %w: collector is nil", promstats.ErrInvalid)
	}
	if q == nil {
		return fmt.Errorf("storeprom: register: %w: querier is nil", promstats.ErrInvalid)
	}
	return register(c, q.Stats)
}

// register adds the metrics of a Querier to c, reading every value from a
// snapshot that stats returns at scrape time.
func register(c *promstats.Collector, stats func() storewrap.Stats) error {
	for _, read := range hotReads {
		source := promstats.StatsFunc(func() querycache.Stats { return read.stats(stats()) })
		if err := c.Add(read.query, source); err != nil {
			return fmt.Errorf("storeprom: add query %s: %w", read.query, err)
		}
	}
	for _, m := range querierMetrics {
		value := func() float64 { return m.value(stats()) }
		if err := c.AddFunc(m.name, m.help, m.valueType, value); err != nil {
			return fmt.Errorf("storeprom: add metric %s: %w", m.name, err)
		}
	}
	return nil
}

// boolValue returns 1 for true and 0 for false.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
