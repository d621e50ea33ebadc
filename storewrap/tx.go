package storewrap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/hotread/hotread/chatdb"
)

// Tx is a transaction of [Options.DB] with a [Querier] bound to it. Hot
// reads through that Querier skip the caches, so they see the
// transaction's own writes. Its mutations send their notifications inside
// the transaction, and their local invalidations wait for [Tx.Commit].
// A Tx is for one goroutine at a time, like the *sql.Tx under it.
type Tx struct {
	tx      *sql.Tx
	querier *Querier

	mu            sync.Mutex
	invalidations []Invalidation // guarded by mu
	done          bool           // guarded by mu; set by Commit or Rollback
}

// Begin starts a transaction on [Options.DB] with txOpts, which may be
// nil. ctx bounds the transaction as in [sql.DB.BeginTx]: when it is done
// before Commit, the transaction rolls back. Begin returns [ErrNoDB] when
// Options.DB is nil and [ErrTxBound] when q is itself bound to a
// transaction. The caller must end the Tx with Commit or Rollback.
func (q *Querier) Begin(ctx context.Context, txOpts *sql.TxOptions) (*Tx, error) {
	if q.tx != nil {
		return nil, fmt.Errorf("storewrap: Begin: %w", ErrTxBound)
	}
	if q.s.opts.DB == nil {
		return nil, fmt.Errorf("storewrap: Begin: %w", ErrNoDB)
	}
	sqlTx, err := q.s.opts.DB.BeginTx(ctx, txOpts)
	if err != nil {
		return nil, fmt.Errorf("storewrap: begin transaction: %w", err)
	}
	next, err := q.s.txQuerier(sqlTx)
	if err != nil {
		_ = sqlTx.Rollback()
		return nil, err
	}
	tx := &Tx{tx: sqlTx}
	tx.querier = &Querier{next: next, tx: tx, s: q.s}
	return tx, nil
}

// InTx runs fn in a transaction of [Options.DB] with a Querier bound to it,
// and commits when fn returns nil. When fn returns an error or panics, or
// the commit fails, the transaction rolls back and no invalidation is
// applied. InTx then returns fn's error unchanged (joined with the error of
// the rollback, if that failed too), lets fn's panic continue after the
// rollback, or returns the commit error. After a successful commit it applies the
// invalidations of fn's mutations. InTx returns [ErrNoDB] when Options.DB
// is nil and [ErrTxBound] when q is itself bound to a transaction.
//
// fn must not keep tq beyond its return: once the transaction has ended,
// tq's methods return [sql.ErrTxDone].
func (q *Querier) InTx(ctx context.Context, txOpts *sql.TxOptions, fn func(tq *Querier) error) error {
	tx, err := q.Begin(ctx, txOpts)
	if err != nil {
		return err
	}
	returned := false
	defer func() {
		if !returned {
			// fn panicked; the panic goes on after the rollback.
			_ = tx.Rollback()
		}
	}()

	err = fn(tx.querier)
	returned = true
	if err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return tx.Commit()
}

// Querier returns the Querier bound to the transaction. It is valid until
// Commit or Rollback; after them its methods return [sql.ErrTxDone].
func (tx *Tx) Querier() *Querier {
	return tx.querier
}

// Commit commits the transaction and then applies the invalidations of
// the mutations made through [Tx.Querier]. A second Commit, or one after
// Rollback, returns an error wrapping [sql.ErrTxDone] and applies nothing.
//
// When the commit fails for another reason, Commit still applies the
// invalidations before it returns the error, because a commit whose reply
// was lost with its connection may have committed. An extra invalidation
// costs one query, where a missing one would serve stale data until the
// TTL.
func (tx *Tx) Commit() error {
	err := tx.tx.Commit()
	invs := tx.finish()
	if !errors.Is(err, sql.ErrTxDone) {
		tx.querier.s.invalidateAll(invs)
	}
	if err != nil {
		return fmt.Errorf("storewrap: commit: %w", err)
	}
	return nil
}

// Rollback aborts the transaction and discards the invalidations of the
// mutations made through [Tx.Querier]. After Commit or a first Rollback it
// returns an error wrapping [sql.ErrTxDone].
func (tx *Tx) Rollback() error {
	err := tx.tx.Rollback()
	tx.finish()
	if err != nil {
		return fmt.Errorf("storewrap: rollback: %w", err)
	}
	return nil
}

// finish marks the transaction as ended and returns the invalidations
// collected so far, which no later call returns again.
func (tx *Tx) finish() []Invalidation {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	invs := tx.invalidations
	tx.invalidations = nil
	tx.done = true
	return invs
}

// addInvalidations records the invalidations of a mutation that succeeded
// in the transaction. Only a caller who races Commit with a mutation can
// make the transaction end before this call. The invalidations then apply
// at once, because whether the mutation committed is unknown, and an extra
// invalidation costs a query where a lost one would serve stale data.
func (tx *Tx) addInvalidations(invs []Invalidation) {
	tx.mu.Lock()
	if !tx.done {
		tx.invalidations = append(tx.invalidations, invs...)
		tx.mu.Unlock()
		return
	}
	tx.mu.Unlock()
	tx.querier.s.invalidateAll(invs)
}

// txQuerier returns the Querier that Options.TxQuerier binds to tx.
func (s *state) txQuerier(tx *sql.Tx) (chatdb.Querier, error) {
	next := s.opts.TxQuerier(tx)
	if isNil(next) {
		return nil, errors.New("storewrap: Options.TxQuerier returned a nil Querier")
	}
	return next, nil
}
