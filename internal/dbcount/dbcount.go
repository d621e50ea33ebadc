// Package dbcount counts the queries that sqlc-generated code sends to a
// database, by query name, so that a load test can measure calls at the
// database boundary rather than trust a cache's own counters.
//
// sqlc starts the text of every query with a comment of the form
// "-- name: GetChatByID :one". [DB] wraps the handle that the generated
// code runs on, reads the name from that comment and counts one call per
// ExecContext, QueryContext and QueryRowContext.
package dbcount

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hotread/hotread/chatdb"
)

// Unnamed is the name under which [DB] counts a query whose text does not
// start with sqlc's "-- name:" comment.
const Unnamed = "(unnamed)"

// namePrefix starts every query that sqlc generates.
const namePrefix = "-- name: "

// DB is a [chatdb.DBTX] that forwards every call to another DBTX and counts
// the queries it runs by their sqlc name. It is safe for concurrent use
// when the wrapped DBTX is, as [*sql.DB] is.
//
// PrepareContext is forwarded but not counted, because preparing runs no
// query; sqlc's generated code does not call it unless configured to emit
// prepared queries.
type DB struct {
	db chatdb.DBTX

	// counts maps a query name to its *atomic.Int64 counter. Names are
	// added once and never removed, so the hot path is a lock-free load.
	counts sync.Map
}

// New returns a DB that forwards to db, with every count at zero.
func New(db chatdb.DBTX) *DB {
	return &DB{db: db}
}

var _ chatdb.DBTX = (*DB)(nil)

// ExecContext counts the query and forwards it.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	d.count(query)
	return d.db.ExecContext(ctx, query, args...)
}

// PrepareContext forwards the call without counting it.
func (d *DB) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return d.db.PrepareContext(ctx, query)
}

// QueryContext counts the query and forwards it.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	d.count(query)
	return d.db.QueryContext(ctx, query, args...)
}

// QueryRowContext counts the query and forwards it.
func (d *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	d.count(query)
	return d.db.QueryRowContext(ctx, query, args...)
}

// Count returns how many calls of the query with the name have been
// forwarded so far.
func (d *DB) Count(name string) int64 {
	c, ok := d.counts.Load(name)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

// Counts returns a snapshot of every nonzero count, keyed by query name.
// The map is owned by the caller. Calls that run while Counts does may or
// may not be included.
func (d *DB) Counts() map[string]int64 {
	counts := make(map[string]int64)
	d.counts.Range(func(name, c any) bool {
		counts[name.(string)] = c.(*atomic.Int64).Load()
		return true
	})
	return counts
}

// count adds one call of query to its name's counter.
func (d *DB) count(query string) {
	name := QueryName(query)
	c, ok := d.counts.Load(name)
	if !ok {
		c, _ = d.counts.LoadOrStore(name, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// QueryName returns the name in the "-- name: X :kind" comment that sqlc
// puts at the start of a query, or [Unnamed] when query does not start
// with such a comment. The returned string shares memory with query, so
// counting allocates nothing.
func QueryName(query string) string {
	rest, ok := strings.CutPrefix(query, namePrefix)
	if !ok {
		return Unnamed
	}
	end := strings.IndexAny(rest, " \t\r\n")
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	// An empty name leaves the ":kind" part where the name belongs.
	if name == "" || name[0] == ':' {
		return Unnamed
	}
	return name
}
