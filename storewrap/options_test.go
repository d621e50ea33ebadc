package storewrap

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache"
)

func TestNewRejectsNilQuerier(t *testing.T) {
	for _, tt := range []struct {
		name string
		q    chatdb.Querier
	}{
		{"NilInterface", nil},
		{"NilPointer", (*chatdb.Queries)(nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := New(tt.q, Options{})
			if err == nil {
				q.Close()
				t.Fatal("New: error = nil, want one")
			}
			if !strings.Contains(err.Error(), "Querier is nil") {
				t.Errorf("New: error = %q, want it to name the nil Querier", err)
			}
		})
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		// want are the parts that the message must contain: the field and
		// its value.
		want []string
	}{
		{"NegativeTTL", Options{Providers: QueryOptions{TTL: -time.Second}},
			[]string{"Providers.TTL", "-1s"}},
		{"NegativeNotFoundTTL", Options{UserPrompt: QueryOptions{NotFoundTTL: -time.Minute}},
			[]string{"UserPrompt.NotFoundTTL", "-1m0s"}},
		{"JitterOne", Options{ModelConfig: QueryOptions{TTLJitter: 1}},
			[]string{"ModelConfig.TTLJitter", "1"}},
		{"JitterNegative", Options{DefaultModelConfig: QueryOptions{TTLJitter: -0.1}},
			[]string{"DefaultModelConfig.TTLJitter", "-0.1"}},
		{"JitterNaN", Options{UserPrompt: QueryOptions{TTLJitter: math.NaN()}},
			[]string{"UserPrompt.TTLJitter", "NaN"}},
		{"NegativeStaleWhileRefresh", Options{ModelConfig: QueryOptions{StaleWhileRefresh: -1}},
			[]string{"ModelConfig.StaleWhileRefresh", "-1ns"}},
		{"ChannelTooLong", Options{Channel: strings.Repeat("c", 64)},
			[]string{"Channel", strings.Repeat("c", 64), "64 bytes"}},
		{"ChannelUpperCase", Options{Channel: "Hotread"},
			[]string{"Channel", `"Hotread"`, `'H'`}},
		{"ChannelLeadingDigit", Options{Channel: "1cache"},
			[]string{"Channel", `"1cache"`, `'1'`}},
		{"ChannelQuote", Options{Channel: `a"b`},
			[]string{"Channel", `'"'`}},
		{"ChannelSpace", Options{Channel: "a b"},
			[]string{"Channel", `' '`}},
		{"ChannelNonASCII", Options{Channel: "caché"},
			[]string{"Channel", "byte 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := New(&recorder{}, tt.opts)
			if err == nil {
				q.Close()
				t.Fatal("New: error = nil, want one")
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("New: error = %v, want one wrapping ErrInvalidOptions", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New: error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestNewAcceptsValidChannels(t *testing.T) {
	for _, channel := range []string{"a", "_", "hotread_invalidate", "cache_2", strings.Repeat("c", 63)} {
		q, err := New(&recorder{}, Options{Channel: channel})
		if err != nil {
			t.Errorf("New with Channel %q: %v", channel, err)
			continue
		}
		q.Close()
	}
}

func TestNewLeavesOptionsUnchanged(t *testing.T) {
	var opts Options
	q, err := New(&recorder{}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer q.Close()
	if opts.Clock != nil || opts.Logger != nil || opts.Context != nil || opts.TxQuerier != nil ||
		opts.Channel != "" || opts.UserPrompt != (QueryOptions{}) {
		t.Errorf("New changed the caller's Options to %+v", opts)
	}
}

func TestCacheOptionsDefaults(t *testing.T) {
	tests := []struct {
		name           string
		defaults       queryDefaults
		wantTTL        time.Duration
		wantMaxEntries int
		wantNotFound   bool
	}{
		{"Providers", providersDefaults, 10 * time.Second, 0, false},
		{"ModelConfig", modelConfigDefaults, 10 * time.Second, 4096, true},
		{"DefaultModelConfig", defaultModelConfigDefaults, 10 * time.Second, 0, true},
		{"UserPrompt", userPromptDefaults, 5 * time.Second, 65536, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cacheOptions[int](QueryOptions{}, tt.defaults, nil, nil)
			if got.TTL != tt.wantTTL {
				t.Errorf("TTL = %v, want %v", got.TTL, tt.wantTTL)
			}
			if got.MaxEntries != tt.wantMaxEntries {
				t.Errorf("MaxEntries = %d, want %d", got.MaxEntries, tt.wantMaxEntries)
			}
			if got.NotFoundTTL != 0 {
				t.Errorf("NotFoundTTL = %v, want 0 (querycache then uses the TTL)", got.NotFoundTTL)
			}
			if (got.NotFound != nil) != tt.wantNotFound {
				t.Errorf("NotFound set = %v, want %v", got.NotFound != nil, tt.wantNotFound)
			}
			if tt.wantNotFound && !got.NotFound(errors.Join(errors.New("wrapped"), sql.ErrNoRows)) {
				t.Error("NotFound does not match an error wrapping sql.ErrNoRows")
			}
		})
	}
}

func TestCacheOptionsOverrides(t *testing.T) {
	o := QueryOptions{
		TTL: time.Minute, NotFoundTTL: time.Second, MaxEntries: 7,
		TTLJitter: 0.25, StaleWhileRefresh: 3 * time.Second, DisableNotFoundCache: true,
	}
	got := cacheOptions[int](o, userPromptDefaults, nil, nil)
	want := querycache.Options[int]{
		TTL: time.Minute, NotFoundTTL: time.Second, MaxEntries: 7,
		TTLJitter: 0.25, StaleWhileRefresh: 3 * time.Second,
	}
	if got.NotFound != nil {
		t.Error("NotFound is set although DisableNotFoundCache is true")
	}
	got.NotFound = nil
	if got.TTL != want.TTL || got.NotFoundTTL != want.NotFoundTTL || got.MaxEntries != want.MaxEntries ||
		got.TTLJitter != want.TTLJitter || got.StaleWhileRefresh != want.StaleWhileRefresh {
		t.Errorf("cacheOptions = %+v, want %+v", got, want)
	}

	unbounded := cacheOptions[int](QueryOptions{MaxEntries: -1}, userPromptDefaults, nil, nil)
	if unbounded.MaxEntries != 0 {
		t.Errorf("MaxEntries -1: querycache MaxEntries = %d, want 0 (no bound)", unbounded.MaxEntries)
	}
	keyless := cacheOptions[int](QueryOptions{MaxEntries: 5}, providersDefaults, nil, nil)
	if keyless.MaxEntries != 0 {
		t.Errorf("MaxEntries on a query without a key: querycache MaxEntries = %d, want 0", keyless.MaxEntries)
	}
}

func TestDoneContextOptionStopsCaching(t *testing.T) {
	parent, cancel := context.WithCancel(t.Context())
	f := primed(t, Options{Context: parent}, false)
	cancel()
	// Every read now queries, even the cached ones.
	f.expectReads(readEverything)
	readAll(t, f.q)
}
