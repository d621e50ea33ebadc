package pgserver

import (
	"fmt"
	"time"
)

// Defaults for the zero values of [Options].
const (
	DefaultMaxConnections = 300
	DefaultStartTimeout   = 30 * time.Second
	DefaultStopTimeout    = 10 * time.Second
)

// Options configures [Start]. The zero value starts a private server from
// the binaries found on PATH or under /usr/lib/postgresql.
type Options struct {
	// DSN is the connection string of an existing server, as a postgres://
	// URL or in key=value form, for a role that may create and drop
	// databases. When it is set, Start starts no server and the other fields
	// are ignored. Empty means start a private server.
	DSN string

	// BinDirs lists the directories searched, in order, for initdb and
	// postgres. The first directory that contains both is used, so the two
	// always come from the same PostgreSQL version. Nil means every PATH
	// entry, then /usr/lib/postgresql/*/bin from the highest version down.
	BinDirs []string

	// MaxConnections is the private server's max_connections. Zero means
	// DefaultMaxConnections, which leaves room for a load test with a few
	// hundred concurrent connections.
	MaxConnections int

	// StartTimeout bounds how long Start waits for the private server to
	// accept connections, in addition to the context. Zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration

	// StopTimeout bounds how long Close waits for the private server to shut
	// down after SIGINT (fast shutdown) before it kills the server. Zero
	// means DefaultStopTimeout.
	StopTimeout time.Duration
}

// withDefaults validates o and returns a copy with zero values replaced by
// the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.MaxConnections < 0 {
		return o, fmt.Errorf("pgserver: invalid Options.MaxConnections %d: must not be negative", o.MaxConnections)
	}
	if o.StartTimeout < 0 {
		return o, fmt.Errorf("pgserver: invalid Options.StartTimeout %v: must not be negative", o.StartTimeout)
	}
	if o.StopTimeout < 0 {
		return o, fmt.Errorf("pgserver: invalid Options.StopTimeout %v: must not be negative", o.StopTimeout)
	}

	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	return o, nil
}
