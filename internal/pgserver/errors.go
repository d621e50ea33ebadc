package pgserver

import "errors"

// ErrBinariesNotFound is returned, wrapped, by [Start] when no DSN is given
// and no searched directory contains both initdb and postgres.
var ErrBinariesNotFound = errors.New("pgserver: initdb and postgres not found")

// ErrClosed is returned by [Server.CreateDatabase] after [Server.Close].
var ErrClosed = errors.New("pgserver: server is closed")
