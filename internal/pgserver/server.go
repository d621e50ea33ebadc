package pgserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/lib/pq"

	"github.com/hotread/hotread"
)

// Server is a PostgreSQL server that creates fresh databases: a private one
// started by [Start], or an existing one named by [Options.DSN]. Its methods
// are safe for concurrent use.
type Server struct {
	opts  Options
	admin *sql.DB // a connection pool for CREATE and DROP DATABASE

	// A private server has a directory, a port and a process; an existing
	// server has none of them.
	dir     string
	port    int
	process *serverProcess

	closeOnce sync.Once
	closeErr  error

	// creating counts CreateDatabase calls in progress, so that Close waits
	// for them and drops every database they create.
	creating sync.WaitGroup

	mu      sync.Mutex
	closed  bool     // guarded by mu
	created []string // guarded by mu; names of the databases CreateDatabase created
}

// Start returns a server to create test databases in.
//
// When opts.DSN is set, Start connects to that server and starts nothing.
// Otherwise it runs initdb in a new temporary directory and starts a private
// server on a free 127.0.0.1 port, and returns when the server accepts
// connections. ctx and opts.StartTimeout bound how long that takes. The
// private server uses trust authentication, so every local user can connect
// to it while it runs.
//
// The caller must call [Server.Close], also when the program is
// interrupted, to stop the private server and remove its directory.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.DSN != "" {
		return connectExisting(ctx, opts)
	}
	return startPrivate(ctx, opts)
}

// connectExisting returns a Server that creates databases in the server
// named by opts.DSN.
func connectExisting(ctx context.Context, opts Options) (*Server, error) {
	// Check the DSN's form now rather than in the first CreateDatabase.
	if _, err := replaceDatabase(opts.DSN, "postgres"); err != nil {
		return nil, err
	}

	admin, err := sql.Open("postgres", opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("pgserver: open the server in Options.DSN: %w", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("pgserver: connect to the server in Options.DSN: %w", err)
	}
	return &Server{opts: opts, admin: admin}, nil
}

// CreateDatabase creates an empty database with a unique name, applies
// [hotread.Schema] to it and returns its DSN. On a private server the DSN is
// a postgres:// URL with sslmode=disable. On an existing server it is
// Options.DSN with the database name replaced, so it keeps the user, the
// password and the TLS settings.
//
// It returns [ErrClosed] after Close.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", ErrClosed
	}
	s.creating.Add(1)
	s.mu.Unlock()
	defer s.creating.Done()

	name, err := newDatabaseName()
	if err != nil {
		return "", err
	}
	dsn, err := s.databaseDSN(name)
	if err != nil {
		return "", err
	}

	// template0 does not accept connections (datallowconn is false), so
	// no session can block the copy, and it lacks whatever an administrator
	// added to template1.
	create := "CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE template0"
	if _, err := s.admin.ExecContext(ctx, create); err != nil {
		return "", fmt.Errorf("pgserver: create database %s: %w", name, err)
	}
	s.mu.Lock()
	s.created = append(s.created, name)
	s.mu.Unlock()

	if err := applySchema(ctx, dsn); err != nil {
		return "", fmt.Errorf("pgserver: apply the schema to database %s: %w", name, err)
	}
	return dsn, nil
}

func applySchema(ctx context.Context, dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()

	// Without arguments lib/pq sends the simple query protocol, which runs
	// every statement of the script.
	_, err = db.ExecContext(ctx, hotread.Schema)
	return err
}

// newDatabaseName returns a name that no other process picks, so that test
// binaries running at the same time can share an existing server.
func newDatabaseName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pgserver: generate a database name: %w", err)
	}
	return "hotread_" + hex.EncodeToString(b[:]), nil
}

// databaseDSN returns the DSN of the database with the name on this server.
func (s *Server) databaseDSN(name string) (string, error) {
	if s.opts.DSN != "" {
		return replaceDatabase(s.opts.DSN, name)
	}
	return privateDSN(s.port, name), nil
}

// privateDSN returns the DSN of a database on a private server.
func privateDSN(port int, name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     fmt.Sprintf("127.0.0.1:%d", port),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// replaceDatabase returns dsn, in either lib/pq form, with its database
// replaced by name. name must not need quoting.
func replaceDatabase(dsn, name string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		// lib/pq uses the last of repeated keys.
		return dsn + " dbname=" + name, nil
	}

	u, err := url.Parse(dsn)
	if err != nil {
		// The error of url.Parse quotes the whole URL, password included.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return "", fmt.Errorf("pgserver: invalid Options.DSN: not a valid URL: %w", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// Close stops a private server and removes its directory, or drops every
// database that CreateDatabase created on an existing server, even those
// with open connections. It waits for CreateDatabase calls in progress.
// Calls after the first return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.creating.Wait()

	var errs []error
	if s.opts.DSN != "" {
		errs = append(errs, s.dropCreated())
	}
	if s.admin != nil {
		errs = append(errs, s.admin.Close())
	}
	if s.process != nil {
		s.process.stop(s.opts.StopTimeout)
	}
	if s.dir != "" {
		errs = append(errs, removeDir(s.dir))
	}
	return errors.Join(errs...)
}

// dropCreated drops the created databases, ending their sessions.
func (s *Server) dropCreated() error {
	s.mu.Lock()
	names := s.created
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.opts.StopTimeout)
	defer cancel()

	var errs []error
	for _, name := range names {
		drop := "DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)"
		if _, err := s.admin.ExecContext(ctx, drop); err != nil {
			errs = append(errs, fmt.Errorf("pgserver: drop database %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
