// Package bench compares [querycache.Entry] with the caches a Go team would
// otherwise pick, on the same workloads and through one small interface.
//
// Each peer sits behind an adapter that implements [Cache]: a Get that
// returns the cached value for a key or fills it. Where a peer lacks a
// feature that querycache has (a loader, coalescing of concurrent misses,
// a TTL, a clone hook), the adapter's comment names the gap and how the
// adapter fills it, so that every benchmark asks each cache for the same
// result. The benchmarks are in bench_test.go, and run.sh runs them and
// compares the results with benchstat.
//
// This is a separate module so that the peers' dependencies stay out of
// the library's go.mod.
package bench
