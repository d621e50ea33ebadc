// Package promstats exports the counters of querycache entries as
// Prometheus metrics.
//
// A [Collector] reads [querycache.Stats] from every source added with
// [Collector.Add] on each scrape, and reports each counter with a "query"
// label that names the source. With the default namespace, an entry added
// as "model_config" is reported as, for example,
//
//	hotread_cache_hits_total{query="model_config"} 42
//	hotread_cache_entries{query="model_config"} 7
//
// Every field of [querycache.Stats] becomes a counter whose name ends in
// _total, except Entries, which becomes the gauge hotread_cache_entries.
// [Collector.AddFunc] adds further metrics read from a function, such as
// the state of a notification listener.
//
// The package is separate from querycache so that programs that do not
// export metrics do not link the Prometheus client. All methods of a
// Collector are safe for concurrent use, including during a scrape.
package promstats
