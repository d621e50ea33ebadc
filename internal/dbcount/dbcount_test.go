package dbcount_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/internal/dbcount"
)

func TestQueryName(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"one", "-- name: GetChatByID :one\nSELECT * FROM chats WHERE id = $1", "GetChatByID"},
		{"exec", "-- name: DeleteChatProvider :exec\nDELETE FROM chat_providers", "DeleteChatProvider"},
		{"name only", "-- name: Ping", "Ping"},
		{"name then newline", "-- name: Ping\nSELECT 1", "Ping"},
		{"no comment", "SELECT 1", dbcount.Unnamed},
		{"empty", "", dbcount.Unnamed},
		{"empty name", "-- name: :one\nSELECT 1", dbcount.Unnamed},
		{"other comment", "-- count the rows\nSELECT count(*) FROM chats", dbcount.Unnamed},
		{"leading space", " -- name: Ping :one\nSELECT 1", dbcount.Unnamed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dbcount.QueryName(tt.query); got != tt.want {
				t.Errorf("QueryName(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

// fakeDB is a chatdb.DBTX that runs nothing. Its Exec and Query calls
// return err, and QueryRowContext returns a nil *sql.Row, which only the
// counting wrapper may see.
type fakeDB struct {
	err error

	mu       sync.Mutex
	prepared []string // guarded by mu
}

func (f *fakeDB) ExecContext(context.Context, string, ...any) (sql.Result, error) {
	return nil, f.err
}

func (f *fakeDB) PrepareContext(_ context.Context, query string) (*sql.Stmt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared = append(f.prepared, query)
	return nil, f.err
}

func (f *fakeDB) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, f.err
}

func (f *fakeDB) QueryRowContext(context.Context, string, ...any) *sql.Row {
	return nil
}

func TestDBCountsEachMethod(t *testing.T) {
	ctx := context.Background()
	db := dbcount.New(&fakeDB{})

	_, _ = db.ExecContext(ctx, "-- name: A :exec\nDELETE FROM a")
	_, _ = db.QueryContext(ctx, "-- name: B :many\nSELECT * FROM b")
	_, _ = db.QueryContext(ctx, "-- name: B :many\nSELECT * FROM b")
	_ = db.QueryRowContext(ctx, "-- name: C :one\nSELECT * FROM c")
	_ = db.QueryRowContext(ctx, "SELECT 1")

	want := map[string]int64{"A": 1, "B": 2, "C": 1, dbcount.Unnamed: 1}
	for name, n := range want {
		if got := db.Count(name); got != n {
			t.Errorf("Count(%q) = %d, want %d", name, got, n)
		}
	}
	if got := db.Count("D"); got != 0 {
		t.Errorf("Count of a query never run = %d, want 0", got)
	}

	counts := db.Counts()
	if len(counts) != len(want) {
		t.Errorf("Counts() = %v, want %v", counts, want)
	}
	for name, n := range want {
		if counts[name] != n {
			t.Errorf("Counts()[%q] = %d, want %d", name, counts[name], n)
		}
	}
}

func TestDBPrepareNotCounted(t *testing.T) {
	fake := &fakeDB{}
	db := dbcount.New(fake)

	const query = "-- name: A :one\nSELECT 1"
	if _, err := db.PrepareContext(context.Background(), query); err != nil {
		t.Fatalf("PrepareContext: %v", err)
	}
	if got := db.Count("A"); got != 0 {
		t.Errorf("Count after PrepareContext = %d, want 0", got)
	}
	if len(fake.prepared) != 1 || fake.prepared[0] != query {
		t.Errorf("wrapped PrepareContext got %q, want [%q]", fake.prepared, query)
	}
}

func TestDBForwardsErrors(t *testing.T) {
	errFake := errors.New("connection refused")
	db := dbcount.New(&fakeDB{err: errFake})
	ctx := context.Background()

	if _, err := db.ExecContext(ctx, "-- name: A :exec\nSELECT 1"); !errors.Is(err, errFake) {
		t.Errorf("ExecContext error = %v, want %v", err, errFake)
	}
	if _, err := db.QueryContext(ctx, "-- name: B :many\nSELECT 1"); !errors.Is(err, errFake) {
		t.Errorf("QueryContext error = %v, want %v", err, errFake)
	}
	// A failed call reached the database, so it counts.
	if got := db.Count("A") + db.Count("B"); got != 2 {
		t.Errorf("counted %d failed calls, want 2", got)
	}
}

func TestDBCountsConcurrentCalls(t *testing.T) {
	db := dbcount.New(&fakeDB{})
	ctx := context.Background()

	const goroutines, calls = 8, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				_, _ = db.ExecContext(ctx, "-- name: A :exec\nSELECT 1")
				_ = db.QueryRowContext(ctx, "-- name: B :one\nSELECT 1")
			}
		})
	}
	wg.Wait()

	for _, name := range []string{"A", "B"} {
		if got := db.Count(name); got != goroutines*calls {
			t.Errorf("Count(%q) = %d, want %d", name, got, goroutines*calls)
		}
	}
}

// TestDBCountsGeneratedQueries runs generated chatdb methods of each kind
// (:one, :many, :exec) on a mock database, so that a change in how sqlc
// writes its name comment fails here.
func TestDBCountsGeneratedQueries(t *testing.T) {
	mockDB, mock, err := sqlmock.New()
	if err != nil {
		t.Fatalf("sqlmock.New: %v", err)
	}
	defer mockDB.Close()

	mock.ExpectQuery("GetUserChatCustomPrompt").WillReturnError(sql.ErrNoRows)
	mock.ExpectQuery("GetEnabledChatProviders").
		WillReturnRows(sqlmock.NewRows([]string{"id"}))
	mock.ExpectExec("DeleteUserChatCustomPrompt").WillReturnResult(sqlmock.NewResult(0, 0))

	db := dbcount.New(mockDB)
	q := chatdb.New(db)
	ctx := context.Background()

	if _, err := q.GetUserChatCustomPrompt(ctx, uuid.New()); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("GetUserChatCustomPrompt error = %v, want sql.ErrNoRows", err)
	}
	if _, err := q.GetEnabledChatProviders(ctx); err != nil {
		t.Errorf("GetEnabledChatProviders: %v", err)
	}
	if err := q.DeleteUserChatCustomPrompt(ctx, uuid.New()); err != nil {
		t.Errorf("DeleteUserChatCustomPrompt: %v", err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Errorf("mock expectations: %v", err)
	}

	for _, name := range []string{
		"GetUserChatCustomPrompt", "GetEnabledChatProviders", "DeleteUserChatCustomPrompt",
	} {
		if got := db.Count(name); got != 1 {
			t.Errorf("Count(%q) = %d, want 1", name, got)
		}
	}
	if got := db.Count(dbcount.Unnamed); got != 0 {
		t.Errorf("Count(Unnamed) = %d, want 0: a generated query lost its name", got)
	}
}
