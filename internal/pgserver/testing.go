package pgserver

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
)

// TestDSNEnv names the environment variable that [RunTests] reads: the DSN
// of an existing server to create the test databases in. When it is empty,
// the tests start a private server.
const TestDSNEnv = "HOTREAD_TEST_DSN"

// testServer is the server that RunTests manages for a test binary, started
// by the first TestDSN call.
var testServer struct {
	mu      sync.Mutex
	running bool    // guarded by mu; set while RunTests runs the tests
	started bool    // guarded by mu; set once Start has been tried
	srv     *Server // guarded by mu
	err     error   // guarded by mu; the error from Start
}

// RunTests runs the tests of m and returns the exit code for os.Exit. Call
// it from TestMain:
//
//	func TestMain(m *testing.M) {
//		os.Exit(pgserver.RunTests(m))
//	}
//
// The first [TestDSN] or [TestDB] call starts one server for the whole test
// binary: the existing server in $HOTREAD_TEST_DSN when it is set, or else a
// private one. Tests that use no database start no server. RunTests closes
// the server when the tests end, and also when the process receives SIGINT
// or SIGTERM, after which it exits with status 1.
func RunTests(m *testing.M) int {
	testServer.mu.Lock()
	testServer.running = true
	testServer.mu.Unlock()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() { closeOnSignal(signals, done, closeTestServer, os.Exit, os.Stderr) })

	code := m.Run()

	signal.Stop(signals)
	close(done)
	watcher.Wait()
	if err := closeTestServer(); err != nil {
		fmt.Fprintf(os.Stderr, "pgserver: close the test server: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// closeOnSignal waits for a signal or for done. On a signal it calls
// closeServer, reports to w and calls exit(1).
func closeOnSignal(signals <-chan os.Signal, done <-chan struct{}, closeServer func() error, exit func(int), w io.Writer) {
	select {
	case sig := <-signals:
		fmt.Fprintf(w, "pgserver: received %v, closing the test server\n", sig)
		if err := closeServer(); err != nil {
			fmt.Fprintf(w, "pgserver: close the test server: %v\n", err)
		}
		exit(1)
	case <-done:
	}
}

// closeTestServer closes the test server if it was started.
func closeTestServer() error {
	testServer.mu.Lock()
	defer testServer.mu.Unlock()
	testServer.running = false
	if testServer.srv == nil {
		return nil
	}
	return testServer.srv.Close()
}

// TestDSN creates a fresh database with [hotread.Schema] applied and
// returns its DSN. The database belongs to the test alone. It fails the
// test when no server can be started, when TestMain does not call
// [RunTests], or when the database cannot be created.
func TestDSN(t testing.TB) string {
	t.Helper()
	srv, err := sharedTestServer()
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := srv.CreateDatabase(t.Context())
	if err != nil {
		t.Fatalf("pgserver: create a test database: %v", err)
	}
	return dsn
}

// TestDB opens a fresh database, as [TestDSN] creates it, through lib/pq.
// The handle is closed when the test ends.
func TestDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", TestDSN(t))
	if err != nil {
		t.Fatalf("pgserver: open a test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// sharedTestServer returns the test binary's server, starting it on the
// first call.
func sharedTestServer() (*Server, error) {
	testServer.mu.Lock()
	defer testServer.mu.Unlock()

	if !testServer.running {
		return nil, fmt.Errorf("pgserver: no test server: call pgserver.RunTests from TestMain")
	}
	if !testServer.started {
		testServer.started = true
		testServer.srv, testServer.err = startTestServer(Options{DSN: os.Getenv(TestDSNEnv)})
	}
	return testServer.srv, testServer.err
}

// startTestServer starts a server with opts. Its errors name the variable
// that the DSN came from, or explain how to set it.
func startTestServer(opts Options) (*Server, error) {
	srv, err := Start(context.Background(), opts)
	switch {
	case err == nil:
		return srv, nil
	case opts.DSN != "":
		return nil, fmt.Errorf("%w\npgserver: the DSN came from %s", err, TestDSNEnv)
	default:
		return nil, fmt.Errorf("%w\npgserver: to use an existing server instead, set %s to its DSN", err, TestDSNEnv)
	}
}
