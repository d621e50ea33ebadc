package storewrap

import "errors"

// ErrInvalidOptions is wrapped by the error that [New] returns when a field
// of [Options] is out of range. The message names the field and its value.
var ErrInvalidOptions = errors.New("storewrap: invalid options")

// ErrNoDB is returned by [Querier.InTx] and [Querier.Begin] when
// [Options.DB] is nil: a transaction needs the database to begin on.
var ErrNoDB = errors.New("storewrap: Options.DB is nil, set it to begin transactions")

// ErrTxBound is returned by [Querier.InTx], [Querier.Begin] and
// [Querier.Close] when they are called on a Querier bound to a transaction.
// Transactions do not nest, and only the Querier that [New] returned owns
// the caches that Close stops.
var ErrTxBound = errors.New("storewrap: Querier is bound to a transaction")
