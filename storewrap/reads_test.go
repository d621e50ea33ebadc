package storewrap

import (
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache"
)

// hotRead describes one cached read for table-driven tests.
type hotRead struct {
	name string
	ttl  time.Duration // the default TTL
	// expect expects one query of the read, returning a row.
	expect func(f *fixture)
	// expectMissing expects one query of the read, returning no row.
	expectMissing func(f *fixture)
	// call runs the read through q and checks a returned row.
	call func(t *testing.T, q *Querier) error
	// stats returns the read's cache counters.
	stats func(Stats) querycache.Stats
	// options returns the read's field of opts.
	options func(opts *Options) *QueryOptions
}

var hotReads = []hotRead{
	{
		name: "GetEnabledChatProviders",
		ttl:  10 * time.Second,
		expect: func(f *fixture) {
			f.mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(providerRows(providerA, providerB))
		},
		call: func(t *testing.T, q *Querier) error {
			got, err := q.GetEnabledChatProviders(t.Context())
			if err == nil && !reflect.DeepEqual(got, []chatdb.ChatProvider{providerA, providerB}) {
				t.Errorf("GetEnabledChatProviders = %+v, want providers A and B", got)
			}
			return err
		},
		stats:   func(s Stats) querycache.Stats { return s.Providers },
		options: func(o *Options) *QueryOptions { return &o.Providers },
	},
	{
		name: "GetChatModelConfigByID",
		ttl:  10 * time.Second,
		expect: func(f *fixture) {
			f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configC.ID).WillReturnRows(modelConfigRows(configC))
		},
		expectMissing: func(f *fixture) {
			f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configC.ID).WillReturnRows(modelConfigRows())
		},
		call: func(t *testing.T, q *Querier) error {
			got, err := q.GetChatModelConfigByID(t.Context(), configC.ID)
			if err == nil && !reflect.DeepEqual(got, configC) {
				t.Errorf("GetChatModelConfigByID = %+v, want %+v", got, configC)
			}
			return err
		},
		stats:   func(s Stats) querycache.Stats { return s.ModelConfig },
		options: func(o *Options) *QueryOptions { return &o.ModelConfig },
	},
	{
		name: "GetDefaultChatModelConfig",
		ttl:  10 * time.Second,
		expect: func(f *fixture) {
			f.mock.ExpectQuery("GetDefaultChatModelConfig").WillReturnRows(modelConfigRows(configC))
		},
		expectMissing: func(f *fixture) {
			f.mock.ExpectQuery("GetDefaultChatModelConfig").WillReturnRows(modelConfigRows())
		},
		call: func(t *testing.T, q *Querier) error {
			got, err := q.GetDefaultChatModelConfig(t.Context())
			if err == nil && !reflect.DeepEqual(got, configC) {
				t.Errorf("GetDefaultChatModelConfig = %+v, want %+v", got, configC)
			}
			return err
		},
		stats:   func(s Stats) querycache.Stats { return s.DefaultModelConfig },
		options: func(o *Options) *QueryOptions { return &o.DefaultModelConfig },
	},
	{
		name: "GetUserChatCustomPrompt",
		ttl:  5 * time.Second,
		expect: func(f *fixture) {
			f.mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(promptU.UserID).WillReturnRows(promptRows(promptU))
		},
		expectMissing: func(f *fixture) {
			f.mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(promptU.UserID).WillReturnRows(promptRows())
		},
		call: func(t *testing.T, q *Querier) error {
			got, err := q.GetUserChatCustomPrompt(t.Context(), promptU.UserID)
			if err == nil && !reflect.DeepEqual(got, promptU) {
				t.Errorf("GetUserChatCustomPrompt = %+v, want %+v", got, promptU)
			}
			return err
		},
		stats:   func(s Stats) querycache.Stats { return s.UserPrompt },
		options: func(o *Options) *QueryOptions { return &o.UserPrompt },
	},
}

const callsPerWindow = 5

func TestHotReadQueriesOncePerTTL(t *testing.T) {
	for _, read := range hotReads {
		t.Run(read.name, func(t *testing.T) {
			f := newFixture(t, Options{}, false)
			read.expect(f)
			for range callsPerWindow {
				if err := read.call(t, f.q); err != nil {
					t.Fatalf("%s: %v", read.name, err)
				}
			}
			if got := read.stats(f.q.Stats()).Fills; got != 1 {
				t.Errorf("Fills after %d calls = %d, want 1", callsPerWindow, got)
			}

			f.advance(t, read.ttl-time.Nanosecond)
			for range callsPerWindow {
				if err := read.call(t, f.q); err != nil {
					t.Fatalf("%s just before the TTL: %v", read.name, err)
				}
			}
			if got := read.stats(f.q.Stats()).Fills; got != 1 {
				t.Errorf("Fills just before the TTL = %d, want 1", got)
			}

			f.advance(t, time.Nanosecond)
			read.expect(f)
			for range callsPerWindow {
				if err := read.call(t, f.q); err != nil {
					t.Fatalf("%s after the TTL: %v", read.name, err)
				}
			}
			if got := read.stats(f.q.Stats()).Fills; got != 2 {
				t.Errorf("Fills after the TTL = %d, want 2", got)
			}
		})
	}
}

func TestHotReadHonorsConfiguredTTL(t *testing.T) {
	const ttl = 2 * time.Second
	for _, read := range hotReads {
		t.Run(read.name, func(t *testing.T) {
			var opts Options
			read.options(&opts).TTL = ttl
			f := newFixture(t, opts, false)
			read.expect(f)
			if err := read.call(t, f.q); err != nil {
				t.Fatalf("%s: %v", read.name, err)
			}
			f.advance(t, ttl-time.Nanosecond)
			if err := read.call(t, f.q); err != nil {
				t.Fatalf("%s before the TTL: %v", read.name, err)
			}
			f.advance(t, time.Nanosecond)
			read.expect(f)
			if err := read.call(t, f.q); err != nil {
				t.Fatalf("%s after the TTL: %v", read.name, err)
			}
		})
	}
}

func TestDisabledHotReadAlwaysQueries(t *testing.T) {
	for _, read := range hotReads {
		t.Run(read.name, func(t *testing.T) {
			var opts Options
			read.options(&opts).Disabled = true
			f := newFixture(t, opts, false)
			for range 3 {
				read.expect(f)
				if err := read.call(t, f.q); err != nil {
					t.Fatalf("%s: %v", read.name, err)
				}
			}
			if got := read.stats(f.q.Stats()); got != (querycache.Stats{}) {
				t.Errorf("Stats of a disabled cache = %+v, want zero", got)
			}
		})
	}
}

func TestMissingRowCachedPerNotFoundTTL(t *testing.T) {
	for _, read := range hotReads {
		if read.expectMissing == nil {
			continue
		}
		t.Run(read.name, func(t *testing.T) {
			f := newFixture(t, Options{}, false)
			read.expectMissing(f)
			for i := range callsPerWindow {
				if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
					t.Fatalf("call %d: error = %v, want sql.ErrNoRows", i, err)
				}
			}
			if got := read.stats(f.q.Stats()).NegativeHits; got != callsPerWindow-1 {
				t.Errorf("NegativeHits = %d, want %d", got, callsPerWindow-1)
			}

			f.advance(t, read.ttl-time.Nanosecond)
			if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("before the TTL: error = %v, want sql.ErrNoRows", err)
			}
			f.advance(t, time.Nanosecond)
			read.expectMissing(f)
			if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("after the TTL: error = %v, want sql.ErrNoRows", err)
			}
		})
	}
}

func TestMissingRowHonorsNotFoundTTL(t *testing.T) {
	const notFoundTTL = time.Second
	for _, read := range hotReads {
		if read.expectMissing == nil {
			continue
		}
		t.Run(read.name, func(t *testing.T) {
			var opts Options
			read.options(&opts).NotFoundTTL = notFoundTTL
			f := newFixture(t, opts, false)
			read.expectMissing(f)
			if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("error = %v, want sql.ErrNoRows", err)
			}
			f.advance(t, notFoundTTL-time.Nanosecond)
			if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("before NotFoundTTL: error = %v, want sql.ErrNoRows", err)
			}
			f.advance(t, time.Nanosecond)
			read.expectMissing(f)
			if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("after NotFoundTTL: error = %v, want sql.ErrNoRows", err)
			}
		})
	}
}

func TestDisableNotFoundCacheQueriesEachTime(t *testing.T) {
	for _, read := range hotReads {
		if read.expectMissing == nil {
			continue
		}
		t.Run(read.name, func(t *testing.T) {
			var opts Options
			read.options(&opts).DisableNotFoundCache = true
			f := newFixture(t, opts, false)
			for i := range 3 {
				read.expectMissing(f)
				if err := read.call(t, f.q); !errors.Is(err, sql.ErrNoRows) {
					t.Fatalf("call %d: error = %v, want sql.ErrNoRows", i, err)
				}
			}
		})
	}
}

func TestReadErrorIsReturnedAndNotCached(t *testing.T) {
	for _, read := range hotReads {
		t.Run(read.name, func(t *testing.T) {
			f := newFixture(t, Options{}, false)
			wantErr := errors.New("storewrap test: connection reset")
			f.mock.ExpectQuery(read.name).WillReturnError(wantErr)
			if err := read.call(t, f.q); err != wantErr {
				t.Fatalf("error = %v, want the driver's %v", err, wantErr)
			}
			read.expect(f)
			if err := read.call(t, f.q); err != nil {
				t.Fatalf("after a failed query: %v", err)
			}
		})
	}
}

func TestReturnedProvidersAreCallersCopy(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(providerRows(providerA, providerB))
	ctx := t.Context()
	want := []chatdb.ChatProvider{providerA, providerB}
	for i := range 3 {
		got, err := f.q.GetEnabledChatProviders(ctx)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("call %d = %+v, want %+v", i, got, want)
		}
		got[0].APIKey = "changed by a caller"
		got[1] = chatdb.ChatProvider{}
		_ = append(got[:1], chatdb.ChatProvider{Provider: "appended"})
	}
}

func TestReturnedModelConfigOptionsAreCallersCopy(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configC.ID).WillReturnRows(modelConfigRows(configC))
	f.mock.ExpectQuery("GetDefaultChatModelConfig").WillReturnRows(modelConfigRows(configC))
	ctx := t.Context()
	reads := []struct {
		name string
		get  func() (chatdb.ChatModelConfig, error)
	}{
		{"GetChatModelConfigByID", func() (chatdb.ChatModelConfig, error) {
			return f.q.GetChatModelConfigByID(ctx, configC.ID)
		}},
		{"GetDefaultChatModelConfig", func() (chatdb.ChatModelConfig, error) {
			return f.q.GetDefaultChatModelConfig(ctx)
		}},
	}
	for _, read := range reads {
		for i := range 3 {
			got, err := read.get()
			if err != nil {
				t.Fatalf("%s call %d: %v", read.name, i, err)
			}
			if !reflect.DeepEqual(got, configC) {
				t.Fatalf("%s call %d = %+v, want %+v", read.name, i, got, configC)
			}
			got.Options[0] = 'X'
			_ = append(got.Options[:1], "changed"...)
		}
	}
}

func TestEmptyProvidersStayNonNil(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(providerRows())
	for i := range 2 {
		got, err := f.q.GetEnabledChatProviders(t.Context())
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got == nil || len(got) != 0 {
			t.Errorf("call %d = %#v, want an empty non-nil slice", i, got)
		}
	}
}

func TestEmptyModelConfigOptionsStayNonNil(t *testing.T) {
	f := newFixture(t, Options{}, false)
	empty := configD
	empty.Options = json.RawMessage{}
	f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(empty.ID).WillReturnRows(modelConfigRows(empty))
	for i := range 2 {
		got, err := f.q.GetChatModelConfigByID(t.Context(), empty.ID)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got.Options == nil || len(got.Options) != 0 {
			t.Errorf("call %d: Options = %#v, want empty and non-nil", i, got.Options)
		}
	}
}

func TestUserPromptMaxEntriesEvicts(t *testing.T) {
	f := newFixture(t, Options{UserPrompt: QueryOptions{MaxEntries: 1}}, false)
	ctx := t.Context()
	for _, p := range []chatdb.UserChatCustomPrompt{promptU, promptV, promptU} {
		f.mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(p.UserID).WillReturnRows(promptRows(p))
		got, err := f.q.GetUserChatCustomPrompt(ctx, p.UserID)
		check(t, "GetUserChatCustomPrompt", got, err, p)
	}
	st := f.q.Stats().UserPrompt
	if st.Evictions != 2 {
		t.Errorf("Evictions = %d, want 2", st.Evictions)
	}
	if st.Entries != 1 {
		t.Errorf("Entries = %d, want 1", st.Entries)
	}
}

func TestModelConfigKeysAreSeparate(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ctx := t.Context()
	missing := uuid.MustParse("00000000-0000-4000-8000-0000000000ff")
	f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configC.ID).WillReturnRows(modelConfigRows(configC))
	f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(missing).WillReturnRows(modelConfigRows())
	f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configD.ID).WillReturnRows(modelConfigRows(configD))
	for range 2 {
		c, err := f.q.GetChatModelConfigByID(ctx, configC.ID)
		check(t, "GetChatModelConfigByID(C)", c, err, configC)
		if _, err := f.q.GetChatModelConfigByID(ctx, missing); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("GetChatModelConfigByID(missing): error = %v, want sql.ErrNoRows", err)
		}
		d, err := f.q.GetChatModelConfigByID(ctx, configD.ID)
		check(t, "GetChatModelConfigByID(D)", d, err, configD)
	}
}
