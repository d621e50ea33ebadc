package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hotread/hotread/internal/pgserver"
)

func TestMain(m *testing.M) {
	os.Exit(pgserver.RunTests(m))
}

// runJSON runs scaletest with args plus -json on a fresh database of the
// test server and returns the decoded output and the raw top-level keys.
func runJSON(t *testing.T, args ...string) (report, map[string]json.RawMessage) {
	t.Helper()
	args = append(args, "-json", "-dsn", pgserver.TestDSN(t))
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q): %v\nstderr: %s", args, err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr with -json = %q, want nothing", stderr.String())
	}

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, stdout.String())
	}
	var rep report
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decode the JSON report: %v\n%s", err, stdout.String())
	}
	return rep, raw
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkKeys checks that the JSON object raw has exactly the keys want.
func checkKeys(t *testing.T, what string, raw json.RawMessage, want ...string) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("%s is not a JSON object: %v", what, err)
	}
	slices.Sort(want)
	if got := sortedKeys(obj); !slices.Equal(got, want) {
		t.Errorf("keys of %s = %q, want %q", what, got, want)
	}
}

func TestRunJSONSchema(t *testing.T) {
	const chats, turns = 20, 3
	rep, raw := runJSON(t, "-chats", strconv.Itoa(chats), "-turns", strconv.Itoa(turns),
		"-users", "10", "-models", "3", "-concurrency", "4")

	if got, want := sortedKeys(raw), []string{"cached", "limit", "queries", "turns", "uncached"}; !slices.Equal(got, want) {
		t.Errorf("top-level keys = %q, want %q", got, want)
	}
	for _, run := range []string{"uncached", "cached", "limit"} {
		checkKeys(t, run, raw[run], "turns_per_second", "p50_ms", "p99_ms")
	}
	var queries []json.RawMessage
	if err := json.Unmarshal(raw["queries"], &queries); err != nil {
		t.Fatalf("queries is not a JSON array: %v", err)
	}
	for i, q := range queries {
		checkKeys(t, "queries["+strconv.Itoa(i)+"]", q,
			"name", "calls_uncached", "calls_cached", "floor", "reduction")
	}

	if rep.Turns != chats*turns {
		t.Errorf("turns = %d, want %d", rep.Turns, chats*turns)
	}
	var names []string
	for _, q := range rep.Queries {
		names = append(names, q.Name)
		if q.CallsUncached != chats*turns {
			t.Errorf("%s: calls_uncached = %d, want one per turn, %d", q.Name, q.CallsUncached, chats*turns)
		}
		if q.CallsCached < 1 || q.CallsCached > q.CallsUncached {
			t.Errorf("%s: calls_cached = %d, want between 1 and %d", q.Name, q.CallsCached, q.CallsUncached)
		}
		if q.CallsCached != q.Floor {
			t.Errorf("%s: calls_cached = %d, want the floor %d, one per key, in a run shorter "+
				"than a TTL", q.Name, q.CallsCached, q.Floor)
		}
		want := 1 - float64(q.CallsCached)/float64(q.CallsUncached)
		if math.Abs(q.Reduction-want) > 1e-9 {
			t.Errorf("%s: reduction = %v, want %v", q.Name, q.Reduction, want)
		}
	}
	if !slices.Equal(names, hotReads) {
		t.Errorf("query names = %q, want %q", names, hotReads)
	}

	for name, r := range map[string]runReport{"uncached": rep.Uncached, "cached": rep.Cached, "limit": rep.Limit} {
		if r.TurnsPerSecond <= 0 {
			t.Errorf("%s: turns_per_second = %v, want > 0", name, r.TurnsPerSecond)
		}
		if r.P50Ms <= 0 || r.P99Ms < r.P50Ms {
			t.Errorf("%s: p50_ms = %v, p99_ms = %v, want 0 < p50 <= p99", name, r.P50Ms, r.P99Ms)
		}
	}
}

// TestRunFloorSingleKeys checks the floor where it is exact: with one user
// and one model config, every read has one key, so a run shorter than the
// TTLs costs one call per read.
func TestRunFloorSingleKeys(t *testing.T) {
	rep, _ := runJSON(t, "-chats", "5", "-turns", "4", "-users", "1", "-models", "1")
	for _, q := range rep.Queries {
		if q.Floor != 1 {
			t.Errorf("%s: floor = %d, want 1", q.Name, q.Floor)
		}
		if q.CallsCached != 1 {
			t.Errorf("%s: calls_cached = %d, want 1", q.Name, q.CallsCached)
		}
	}
}

// TestRunCoherenceJSON runs two replicas with an admin making changes.
// The run lasts a few hundred milliseconds, long enough that a replica
// without a listener serves about a fifth of its reads stale by more than
// 100 ms. With listeners the measured runs have none, but under the race
// detector on a busy machine a notification can take longer than 100 ms
// to be applied, so the test allows a few.
func TestRunCoherenceJSON(t *testing.T) {
	const chats, turns = 50, 40
	rep, raw := runJSON(t, "-chats", strconv.Itoa(chats), "-turns", strconv.Itoa(turns),
		"-users", "5", "-models", "3", "-replicas", "2", "-admin-rate", "200")

	checkKeys(t, "coherence", raw["coherence"], "replicas", "reads_checked", "stale_reads", "max_staleness_ms")
	if rep.Coherence == nil {
		t.Fatal("coherence missing from the report")
	}
	if rep.Coherence.Replicas != 2 {
		t.Errorf("coherence.replicas = %d, want 2", rep.Coherence.Replicas)
	}
	if want := int64(4 * chats * turns); rep.Coherence.ReadsChecked != want {
		t.Errorf("coherence.reads_checked = %d, want four per turn, %d", rep.Coherence.ReadsChecked, want)
	}
	if maxStale := rep.Coherence.ReadsChecked / 20; rep.Coherence.StaleReads > maxStale {
		t.Errorf("coherence.stale_reads = %d of %d, want at most %d (5 %%) with connected listeners "+
			"(max staleness %v ms)",
			rep.Coherence.StaleReads, rep.Coherence.ReadsChecked, maxStale, rep.Coherence.MaxStalenessMs)
	}
	if rep.Coherence.MaxStalenessMs < 0 {
		t.Errorf("coherence.max_staleness_ms = %v, want >= 0", rep.Coherence.MaxStalenessMs)
	}
}

func TestRunTable(t *testing.T) {
	args := []string{"-chats", "4", "-turns", "2", "-users", "3", "-models", "2", "-dsn", pgserver.TestDSN(t)}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
	}

	out := stdout.String()
	for _, want := range append([]string{
		"4 chats x 2 turns = 8 turns per run",
		"calls uncached", "calls cached", "floor", "reduction",
		"uncached", "cached", "limit", "turns/s", "p50 ms", "p99 ms",
		"every run wrote one message per turn",
	}, hotReads...) {
		if !strings.Contains(out, want) {
			t.Errorf("table does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "coherence") {
		t.Errorf("table without replicas or admin contains a coherence line:\n%s", out)
	}
}

func TestRunInvalidFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero chats", []string{"-chats", "0"}, "-chats 0"},
		{"negative turns", []string{"-turns", "-1"}, "-turns -1"},
		{"zero users", []string{"-users", "0"}, "-users 0"},
		{"zero models", []string{"-models", "0"}, "-models 0"},
		{"zero concurrency", []string{"-concurrency", "0"}, "-concurrency 0"},
		{"zero replicas", []string{"-replicas", "0"}, "-replicas 0"},
		{"negative admin rate", []string{"-admin-rate", "-2"}, "-admin-rate -2"},
		{"infinite admin rate", []string{"-admin-rate", "+Inf"}, "-admin-rate +Inf"},
		{"too many turns", []string{"-chats", "100000", "-turns", "100000"}, "more than"},
		{"unknown flag", []string{"-nope"}, "nope"},
		{"stray argument", []string{"extra"}, `"extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("run(%q) = nil, want an error", tt.args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %q, want it to contain %q", tt.args, err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-help"}, &stdout, &stderr); err != nil {
		t.Fatalf("run(-help) = %v, want nil", err)
	}
	for _, flag := range []string{"-chats", "-turns", "-users", "-models", "-concurrency",
		"-dsn", "-json", "-seed", "-replicas", "-admin-rate"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("usage does not mention %s:\n%s", flag, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}

func TestAdminRateDefault(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want float64
	}{
		{"one replica", nil, 0},
		{"two replicas", []string{"-replicas", "2"}, defaultReplicaAdminRate},
		{"two replicas, rate given", []string{"-replicas", "2", "-admin-rate", "0"}, 0},
		{"one replica, rate given", []string{"-admin-rate", "3.5"}, 3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseFlags(tt.args, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			if cfg.adminRate != tt.want {
				t.Errorf("adminRate = %v, want %v", cfg.adminRate, tt.want)
			}
		})
	}
}
