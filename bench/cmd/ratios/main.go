// Command ratios reads the output of the bench benchmarks and prints, per
// benchmark and GOMAXPROCS, the median of each metric and its ratio to
// mutexmap and to otter, as markdown tables.
//
// Usage: go run ./cmd/ratios results/raw.txt
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// impls is the order of the rows, as in the benchmarks.
var impls = []string{"querycache", "otter", "ristretto", "ttlcache", "expirable", "sturdyc", "tlru", "mutexmap"}

// units is the order of the metric columns; a benchmark shows the ones
// it reports.
var units = []string{"ns/op", "B/op", "allocs/op", "fills/op", "live-B"}

// series identifies one benchmark at one GOMAXPROCS.
type series struct {
	bench string
	procs int
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ratios RESULTS_FILE")
		os.Exit(2)
	}
	samples, order, err := parse(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
	for _, s := range order {
		printTable(s, samples[s])
	}
}

// parse returns the samples of every metric, keyed by series, implementation
// and unit, and the series in the order they first appear.
func parse(path string) (map[series]map[string]map[string][]float64, []series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	samples := make(map[series]map[string]map[string][]float64)
	var order []series
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		bench, impl, procs := splitName(fields[0])
		s := series{bench, procs}
		if samples[s] == nil {
			samples[s] = make(map[string]map[string][]float64)
			order = append(order, s)
		}
		if samples[s][impl] == nil {
			samples[s][impl] = make(map[string][]float64)
		}
		// fields[1] is the iteration count; value and unit pairs follow.
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: parsing %q: %w", fields[0], fields[i], err)
			}
			samples[s][impl][fields[i+1]] = append(samples[s][impl][fields[i+1]], v)
		}
	}
	return samples, order, scanner.Err()
}

// splitName splits "BenchmarkHit/otter-2" into "Hit", "otter" and 2.
func splitName(name string) (bench, impl string, procs int) {
	name = strings.TrimPrefix(name, "Benchmark")
	procs = 1
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			procs, name = n, name[:i]
		}
	}
	bench, impl, _ = strings.Cut(name, "/")
	return bench, impl, procs
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printTable(s series, byImpl map[string]map[string][]float64) {
	var shown []string
	for _, u := range units {
		if len(byImpl["otter"][u]) > 0 {
			shown = append(shown, u)
		}
	}
	fmt.Printf("### %s, GOMAXPROCS=%d\n\n", s.bench, s.procs)
	header := "| cache |"
	rule := "| --- |"
	for _, u := range shown {
		header += fmt.Sprintf(" %s | ×mutexmap | ×otter |", u)
		rule += " ---: | ---: | ---: |"
	}
	fmt.Println(header)
	fmt.Println(rule)
	for _, impl := range impls {
		if byImpl[impl] == nil {
			continue
		}
		row := fmt.Sprintf("| %s |", impl)
		for _, u := range shown {
			v := median(byImpl[impl][u])
			row += fmt.Sprintf(" %s | %s | %s |", format(v, u),
				ratio(v, median(byImpl["mutexmap"][u])), ratio(v, median(byImpl["otter"][u])))
		}
		fmt.Println(row)
	}
	fmt.Println()
}

// format prints a median in the precision that its unit needs.
func format(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case unit == "ns/op":
		return strconv.FormatFloat(v, 'f', 1, 64)
	case unit == "fills/op":
		return strconv.FormatFloat(v, 'f', 3, 64)
	case unit == "live-B":
		return strconv.FormatFloat(v/1024, 'f', 0, 64) + " KiB"
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

// ratio returns v/base, or a dash when either is missing or base is zero.
func ratio(v, base float64) string {
	if math.IsNaN(v) || math.IsNaN(base) || base == 0 {
		return "–"
	}
	return strconv.FormatFloat(v/base, 'f', 2, 64) + "×"
}
