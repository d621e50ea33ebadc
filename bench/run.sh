#!/usr/bin/env bash
# run.sh runs the four benchmarks with -cpu 1,2 and -count 10 and compares
# the caches with benchstat.
#
# Usage: ./run.sh [OUTDIR]    (default: results)
#
# OUTDIR receives:
#   raw.txt        the output of go test, for benchstat or a later rerun
#   summary.txt    benchstat of raw.txt: median and spread per benchmark
#   vs-otter.txt   every cache against otter, as benchstat deltas
#   vs-mutexmap.txt every cache against the sync.RWMutex map
#   ratios.md      medians and their ratios to mutexmap and otter
#   machine.txt    Go version, cores, CPU model, and the load average
#                  before and after the run
#
# The whole run takes about 14 minutes on 2 cores. Run nothing else heavy
# at the same time: the benchmarks share the machine's cores.
set -euo pipefail

cd "$(dirname "$0")"
outdir=${1:-results}
mkdir -p "$outdir"

# benchstat has no tagged releases; this pins the pseudo-version used for
# the published results.
benchstat_version=v0.0.0-20260908200009-22c9c6c9d4da
benchstat() {
	go run "golang.org/x/perf/cmd/benchstat@${benchstat_version}" "$@"
}

go test -c -o "$outdir/bench.test" .

{
	go version
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	echo "load before: $(cat /proc/loadavg)"
} >"$outdir/machine.txt"

# Each benchmark gets its own -benchtime: a Hit op takes tens of
# nanoseconds, a Stampede op over a millisecond, and Churn must run longer
# than its 1-second TTL for keys to expire during the run.
run() {
	local pattern=$1 benchtime=$2
	"$outdir/bench.test" -test.run '^$' -test.bench "$pattern" \
		-test.benchtime "$benchtime" -test.benchmem \
		-test.cpu 1,2 -test.count 10 -test.timeout 60m
}

{
	run '^BenchmarkHit$' 300ms
	run '^BenchmarkHitClone$' 300ms
	run '^BenchmarkStampede$' 200x
	run '^BenchmarkChurn$' 1500ms
} | tee "$outdir/raw.txt"

echo "load after: $(cat /proc/loadavg)" >>"$outdir/machine.txt"

benchstat "$outdir/raw.txt" >"$outdir/summary.txt"
go run ./cmd/ratios "$outdir/raw.txt" >"$outdir/ratios.md"

# benchstat compares columns by a name key, so the sub-benchmark name
# becomes impl=NAME in a copy of the results.
sed -E 's#^(Benchmark[A-Za-z]+)/([a-z]+)#\1/impl=\2#' "$outdir/raw.txt" >"$outdir/keyed.txt"
others="querycache ristretto ttlcache expirable sturdyc tlru"
benchstat -row .name,/gomaxprocs -col "/impl@(otter $others mutexmap)" \
	"$outdir/keyed.txt" >"$outdir/vs-otter.txt"
benchstat -row .name,/gomaxprocs -col "/impl@(mutexmap $others otter)" \
	"$outdir/keyed.txt" >"$outdir/vs-mutexmap.txt"
rm -f "$outdir/bench.test" "$outdir/keyed.txt"

echo "results in $outdir"
