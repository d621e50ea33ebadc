package storeprom_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/coder/quartz"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache/promstats"
	"github.com/hotread/hotread/storewrap"
	"github.com/hotread/hotread/storewrap/storeprom"
)

// TestMain fails the run if any goroutine outlived the tests. No test here
// starts PostgreSQL, because go-sqlmock replaces it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// byName matches a query by the "-- name: X :kind" comment that sqlc puts
// on the first line of every generated query, so that an expectation names
// the method rather than repeat its SQL.
var byName = sqlmock.QueryMatcherFunc(func(expected, actual string) error {
	if strings.HasPrefix(actual, "-- name: "+expected+" ") {
		return nil
	}
	first, _, _ := strings.Cut(actual, "\n")
	return fmt.Errorf("query %q is not %s", first, expected)
})

var (
	providerColumns = []string{
		"id", "provider", "display_name", "api_key", "enabled", "created_at", "updated_at",
	}
	configColumns = []string{
		"id", "provider", "model", "display_name", "enabled", "is_default", "options",
		"created_at", "updated_at",
	}
	promptColumns = []string{"user_id", "prompt", "updated_at"}

	testTime   = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	providerID = uuid.MustParse("00000000-0000-4000-8000-00000000000a")
	configID   = uuid.MustParse("00000000-0000-4000-8000-00000000000c")
	userID     = uuid.MustParse("00000000-0000-4000-8000-0000000000e1")
)

// newQuerier returns a Querier over a go-sqlmock database, driven by a
// mock clock. Cleanup closes both and checks that every expectation was
// met.
func newQuerier(t *testing.T) (*storewrap.Querier, sqlmock.Sqlmock, *quartz.Mock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(byName))
	if err != nil {
		t.Fatalf("sqlmock.New: %v", err)
	}
	clock := quartz.NewMock(t)
	q, err := storewrap.New(chatdb.New(db), storewrap.Options{Clock: clock})
	if err != nil {
		t.Fatalf("storewrap.New: %v", err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		mock.ExpectClose()
		if err := db.Close(); err != nil {
			t.Errorf("closing the mock database: %v", err)
		}
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Errorf("expectations not met: %v", err)
		}
	})
	return q, mock, clock
}

// registered returns a new Collector to which Register added q.
func registered(t *testing.T, q *storewrap.Querier) *promstats.Collector {
	t.Helper()
	c := promstats.New(promstats.Options{})
	if err := storeprom.Register(c, q); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return c
}

// TestRegisterAfterKnownReads runs a known sequence of reads and one
// mutation through a Querier and checks the scraped values of the cache,
// listener and notification metrics.
func TestRegisterAfterKnownReads(t *testing.T) {
	q, mock, clock := newQuerier(t)
	c := registered(t, q)
	ctx := t.Context()

	// Three reads of the providers: one fill, then two hits.
	mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(sqlmock.NewRows(providerColumns).
		AddRow(providerID.String(), "alpha", "Alpha", "key-a", true, testTime, testTime))
	for i := range 3 {
		providers, err := q.GetEnabledChatProviders(ctx)
		if err != nil || len(providers) != 1 {
			t.Fatalf("GetEnabledChatProviders call %d = %d providers, %v; want 1, nil",
				i+1, len(providers), err)
		}
	}

	// Two reads of a user without a prompt: one fill, then a negative hit.
	mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(userID).
		WillReturnRows(sqlmock.NewRows(promptColumns))
	for i := range 2 {
		if _, err := q.GetUserChatCustomPrompt(ctx, userID); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("GetUserChatCustomPrompt call %d error = %v, want sql.ErrNoRows", i+1, err)
		}
	}

	// Deleting the prompt invalidates it. The notification for other
	// replicas fails after the delete committed, which is counted, not
	// returned.
	mock.ExpectExec("DeleteUserChatCustomPrompt").WithArgs(userID).
		WillReturnResult(sqlmock.NewResult(0, 1))
	payload := storewrap.Invalidation{Kind: storewrap.KindUserPrompt, ID: userID}.Payload()
	mock.ExpectExec("NotifyInvalidation").WithArgs(storewrap.DefaultChannel, payload).
		WillReturnError(errors.New("connection reset by peer"))
	if err := q.DeleteUserChatCustomPrompt(ctx, userID); err != nil {
		t.Fatalf("DeleteUserChatCustomPrompt: %v", err)
	}

	// The invalidated prompt is read from the database again.
	mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(userID).
		WillReturnRows(sqlmock.NewRows(promptColumns))
	if _, err := q.GetUserChatCustomPrompt(ctx, userID); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("GetUserChatCustomPrompt after the delete: error = %v, want sql.ErrNoRows", err)
	}

	// One read of a model config: one fill.
	mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configID).WillReturnRows(
		sqlmock.NewRows(configColumns).AddRow(
			configID.String(), "alpha", "m-c", "C", true, true, []byte(`{}`), testTime, testTime))
	if _, err := q.GetChatModelConfigByID(ctx, configID); err != nil {
		t.Fatalf("GetChatModelConfigByID: %v", err)
	}

	// Once the providers' TTL has passed, the next read fills again.
	clock.Advance(storewrap.DefaultConfigTTL + time.Second).MustWait(ctx)
	mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(sqlmock.NewRows(providerColumns).
		AddRow(providerID.String(), "alpha", "Alpha", "key-a", true, testTime, testTime))
	if _, err := q.GetEnabledChatProviders(ctx); err != nil {
		t.Fatalf("GetEnabledChatProviders after the TTL: %v", err)
	}

	const want = `
# HELP hotread_cache_hits_total Gets answered with a fresh stored value.
# TYPE hotread_cache_hits_total counter
hotread_cache_hits_total{query="GetChatModelConfigByID"} 0
hotread_cache_hits_total{query="GetDefaultChatModelConfig"} 0
hotread_cache_hits_total{query="GetEnabledChatProviders"} 2
hotread_cache_hits_total{query="GetUserChatCustomPrompt"} 0
# HELP hotread_cache_negative_hits_total Gets answered with a stored "not found" error.
# TYPE hotread_cache_negative_hits_total counter
hotread_cache_negative_hits_total{query="GetChatModelConfigByID"} 0
hotread_cache_negative_hits_total{query="GetDefaultChatModelConfig"} 0
hotread_cache_negative_hits_total{query="GetEnabledChatProviders"} 0
hotread_cache_negative_hits_total{query="GetUserChatCustomPrompt"} 1
# HELP hotread_cache_misses_total Gets that waited for a fill, started or joined.
# TYPE hotread_cache_misses_total counter
hotread_cache_misses_total{query="GetChatModelConfigByID"} 1
hotread_cache_misses_total{query="GetDefaultChatModelConfig"} 0
hotread_cache_misses_total{query="GetEnabledChatProviders"} 2
hotread_cache_misses_total{query="GetUserChatCustomPrompt"} 2
# HELP hotread_cache_fills_total Calls of the fill function, that is, database calls.
# TYPE hotread_cache_fills_total counter
hotread_cache_fills_total{query="GetChatModelConfigByID"} 1
hotread_cache_fills_total{query="GetDefaultChatModelConfig"} 0
hotread_cache_fills_total{query="GetEnabledChatProviders"} 2
hotread_cache_fills_total{query="GetUserChatCustomPrompt"} 2
# HELP hotread_cache_invalidations_total Calls of Invalidate and InvalidateAll.
# TYPE hotread_cache_invalidations_total counter
hotread_cache_invalidations_total{query="GetChatModelConfigByID"} 0
hotread_cache_invalidations_total{query="GetDefaultChatModelConfig"} 0
hotread_cache_invalidations_total{query="GetEnabledChatProviders"} 0
hotread_cache_invalidations_total{query="GetUserChatCustomPrompt"} 1
# HELP hotread_cache_entries Keys stored, including expired keys not yet removed.
# TYPE hotread_cache_entries gauge
hotread_cache_entries{query="GetChatModelConfigByID"} 1
hotread_cache_entries{query="GetDefaultChatModelConfig"} 0
hotread_cache_entries{query="GetEnabledChatProviders"} 1
hotread_cache_entries{query="GetUserChatCustomPrompt"} 1
# HELP hotread_listener_connected 1 while the listener for invalidations from other replicas is connected, else 0.
# TYPE hotread_listener_connected gauge
hotread_listener_connected 0
# HELP hotread_listener_reconnects_total Connections the listener made after losing one.
# TYPE hotread_listener_reconnects_total counter
hotread_listener_reconnects_total 0
# HELP hotread_listener_notifications_total Invalidation notifications the listener received.
# TYPE hotread_listener_notifications_total counter
hotread_listener_notifications_total 0
# HELP hotread_listener_malformed_payloads_total Notifications whose payload the listener could not parse.
# TYPE hotread_listener_malformed_payloads_total counter
hotread_listener_malformed_payloads_total 0
# HELP hotread_listener_drop_alls_total Times the listener dropped every cached read.
# TYPE hotread_listener_drop_alls_total counter
hotread_listener_drop_alls_total 0
# HELP hotread_notify_failures_total Invalidations not published after their mutation had committed.
# TYPE hotread_notify_failures_total counter
hotread_notify_failures_total 1
`
	err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"hotread_cache_hits_total",
		"hotread_cache_negative_hits_total",
		"hotread_cache_misses_total",
		"hotread_cache_fills_total",
		"hotread_cache_invalidations_total",
		"hotread_cache_entries",
		"hotread_listener_connected",
		"hotread_listener_reconnects_total",
		"hotread_listener_notifications_total",
		"hotread_listener_malformed_payloads_total",
		"hotread_listener_drop_alls_total",
		"hotread_notify_failures_total",
	)
	if err != nil {
		t.Errorf("collected metrics differ:\n%v", err)
	}
}

// TestRegisterReadsEachScrape checks that a scrape reports the Querier's
// counters at the time of the scrape, not at the time of Register.
func TestRegisterReadsEachScrape(t *testing.T) {
	q, mock, _ := newQuerier(t)
	c := registered(t, q)
	ctx := t.Context()
	// The first read fills the cache with "not found", and every later
	// read is a negative hit.
	mock.ExpectQuery("GetDefaultChatModelConfig").WillReturnRows(sqlmock.NewRows(configColumns))
	if _, err := q.GetDefaultChatModelConfig(ctx); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("GetDefaultChatModelConfig error = %v, want sql.ErrNoRows", err)
	}

	for _, wantHits := range []int{0, 1, 2} {
		want := fmt.Sprintf(`
# HELP hotread_cache_negative_hits_total Gets answered with a stored "not found" error.
# TYPE hotread_cache_negative_hits_total counter
hotread_cache_negative_hits_total{query="GetChatModelConfigByID"} 0
hotread_cache_negative_hits_total{query="GetDefaultChatModelConfig"} %d
hotread_cache_negative_hits_total{query="GetEnabledChatProviders"} 0
hotread_cache_negative_hits_total{query="GetUserChatCustomPrompt"} 0
`, wantHits)
		err := testutil.CollectAndCompare(c, strings.NewReader(want), "hotread_cache_negative_hits_total")
		if err != nil {
			t.Errorf("after %d negative hits, collected metrics differ:\n%v", wantHits, err)
		}
		if _, err := q.GetDefaultChatModelConfig(ctx); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("GetDefaultChatModelConfig error = %v, want sql.ErrNoRows", err)
		}
	}
}

func TestRegisterTwiceIsDuplicate(t *testing.T) {
	q, _, _ := newQuerier(t)
	c := registered(t, q)

	err := storeprom.Register(c, q)
	if !errors.Is(err, promstats.ErrDuplicate) {
		t.Fatalf("second Register error = %v, want one wrapping promstats.ErrDuplicate", err)
	}
	const wantPrefix = "storeprom: add query GetEnabledChatProviders: "
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("second Register error = %q, want the prefix %q", err, wantPrefix)
	}
}

func TestRegisterNameTakenIsDuplicate(t *testing.T) {
	q, _, _ := newQuerier(t)
	c := promstats.New(promstats.Options{})
	err := c.AddFunc("listener_drop_alls_total", "Another metric of the same name.",
		prometheus.CounterValue, func() float64 { return 0 })
	if err != nil {
		t.Fatalf("AddFunc: %v", err)
	}

	err = storeprom.Register(c, q)
	if !errors.Is(err, promstats.ErrDuplicate) {
		t.Fatalf("Register error = %v, want one wrapping promstats.ErrDuplicate", err)
	}
	const wantPrefix = "storeprom: add metric listener_drop_alls_total: "
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("Register error = %q, want the prefix %q", err, wantPrefix)
	}
}

func TestRegisterRejectsNil(t *testing.T) {
	q, _, _ := newQuerier(t)
	tests := []struct {
		name string
		c    *promstats.Collector
		q    *storewrap.Querier
	}{
		{"nil collector", nil, q},
		{"nil querier", promstats.New(promstats.Options{}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := storeprom.Register(tt.c, tt.q)
			if !errors.Is(err, promstats.ErrInvalid) {
				t.Errorf("Register error = %v, want one wrapping promstats.ErrInvalid", err)
			}
		})
	}
}

func TestRegisterPassesLint(t *testing.T) {
	q, _, _ := newQuerier(t)
	c := registered(t, q)

	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatalf("CollectAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestRegisterBeforeRegistry checks the order that Register documents: a
// pedantic registry gathers the metrics when Register ran before the
// Collector was registered, and rejects them when it ran after.
func TestRegisterBeforeRegistry(t *testing.T) {
	q, _, _ := newQuerier(t)

	t.Run("before", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(registered(t, q))
		if _, err := reg.Gather(); err != nil {
			t.Errorf("Gather: %v", err)
		}
	})
	t.Run("after", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		c := promstats.New(promstats.Options{})
		reg.MustRegister(c)
		if err := storeprom.Register(c, q); err != nil {
			t.Fatalf("Register: %v", err)
		}
		if _, err := reg.Gather(); err == nil {
			t.Error("Gather error = nil, want one for the metrics added after registration")
		}
	})
}
