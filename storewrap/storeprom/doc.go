// Package storeprom exports the counters of a [storewrap.Querier] as
// Prometheus metrics, through a [promstats.Collector].
//
// [Register] adds each of the four cached reads to the Collector under a
// query label that is the name of its generated method. It also adds the
// state of the invalidation listener and the count of failed notifications
// as metrics without labels. With the default namespace a scrape reports,
// for example,
//
//	hotread_cache_hits_total{query="GetEnabledChatProviders"} 4711
//	hotread_cache_negative_hits_total{query="GetUserChatCustomPrompt"} 815
//	hotread_listener_connected 1
//	hotread_listener_reconnects_total 2
//	hotread_notify_failures_total 0
//
// storewrap itself does not import the Prometheus client, and neither does
// querycache, so a program that does not export metrics does not link it.
// Only a program that imports this package, or promstats, does.
//
// Every metric reads [storewrap.Querier.Stats] when it is scraped, so the
// values are as current as the scrape and the package keeps no state of
// its own.
package storeprom
