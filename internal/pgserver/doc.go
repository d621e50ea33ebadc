// Package pgserver runs a throwaway PostgreSQL server for tests and examples.
//
// [Start] connects to an existing server when [Options.DSN] is set.
// Otherwise it runs initdb in a temporary directory and starts a private
// server from the local binaries on a free 127.0.0.1 port. The data is
// thrown away, so the private server runs with fsync, synchronous_commit and
// full_page_writes off. [Server.CreateDatabase] creates an empty database, applies
// [hotread.Schema] and returns its DSN, so every test can get its own
// database while a package shares one server. [Server.Close] stops the
// private server and removes its directory, or drops the created databases
// on an existing server.
//
// PostgreSQL refuses to run as root. When the process runs as root, initdb
// and the server run as the postgres system user, which Debian's postgresql
// package creates; the temporary directory ($TMPDIR, or /tmp) must then be
// reachable by that user. On Linux the private server receives SIGQUIT
// (immediate shutdown) when the process that started it dies, so a killed
// test binary leaves no server behind. Its directory then stays until the
// next [Start] in any process removes it.
//
// Test packages call [RunTests] from TestMain and then [TestDB] or [TestDSN]
// in each test:
//
//	func TestMain(m *testing.M) {
//		os.Exit(pgserver.RunTests(m))
//	}
//
// RunTests uses the server in the environment variable HOTREAD_TEST_DSN when
// it is set, and stops the private server on SIGINT or SIGTERM.
//
// A program stops the server on SIGINT and SIGTERM by starting it under
// [signal.NotifyContext] and closing it before it exits. os.Exit and
// log.Fatal skip deferred calls, so main returns through a run function:
//
//	func main() { os.Exit(run()) }
//
//	func run() int {
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//		srv, err := pgserver.Start(ctx, pgserver.Options{DSN: *dsnFlag})
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			return 1
//		}
//		defer srv.Close()
//		dsn, err := srv.CreateDatabase(ctx)
//		// Use dsn under ctx. A signal cancels ctx, the queries fail, run
//		// returns and the deferred Close stops the server.
//	}
package pgserver
