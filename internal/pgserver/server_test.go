package pgserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := RunTests(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// startPrivateServer starts a private server that the test closes itself,
// or that is closed when the test ends.
func startPrivateServer(t *testing.T) *Server {
	t.Helper()
	begin := time.Now()
	srv, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v", time.Since(begin))
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("sql.Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func databaseName(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name string
	if err := db.QueryRowContext(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("query current_database(): %v", err)
	}
	return name
}

func countProviders(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM chat_providers").Scan(&n); err != nil {
		t.Fatalf("count chat_providers: %v", err)
	}
	return n
}

func databaseExists(t *testing.T, admin *sql.DB, name string) bool {
	t.Helper()
	var exists bool
	err := admin.QueryRowContext(t.Context(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatalf("look up database %s: %v", name, err)
	}
	return exists
}

func TestPrivateServerDatabasesIsolated(t *testing.T) {
	srv := startPrivateServer(t)

	begin := time.Now()
	dsn1, err := srv.CreateDatabase(t.Context())
	if err != nil {
		t.Fatalf("first CreateDatabase: %v", err)
	}
	t.Logf("CreateDatabase took %v", time.Since(begin))
	dsn2, err := srv.CreateDatabase(t.Context())
	if err != nil {
		t.Fatalf("second CreateDatabase: %v", err)
	}
	if dsn1 == dsn2 {
		t.Fatalf("both databases have DSN %q, want two different ones", dsn1)
	}

	u, err := url.Parse(dsn1)
	if err != nil {
		t.Fatalf("parse DSN %q: %v", dsn1, err)
	}
	if got := u.Query().Get("sslmode"); got != "disable" {
		t.Errorf("DSN %q has sslmode %q, want disable", dsn1, got)
	}
	if got := u.Hostname(); got != "127.0.0.1" {
		t.Errorf("DSN %q has host %q, want 127.0.0.1", dsn1, got)
	}

	db1, db2 := openDB(t, dsn1), openDB(t, dsn2)
	if name1, name2 := databaseName(t, db1), databaseName(t, db2); name1 == name2 {
		t.Fatalf("both DSNs connect to database %s", name1)
	}
	_, err = db1.ExecContext(t.Context(),
		"INSERT INTO chat_providers (provider, display_name) VALUES ('openai', 'OpenAI')")
	if err != nil {
		t.Fatalf("insert into the first database: %v", err)
	}
	if got := countProviders(t, db1); got != 1 {
		t.Errorf("first database has %d providers, want 1", got)
	}
	if got := countProviders(t, db2); got != 0 {
		t.Errorf("second database has %d providers, want 0: the databases are not isolated", got)
	}

	var maxConnections string
	if err := db1.QueryRowContext(t.Context(), "SHOW max_connections").Scan(&maxConnections); err != nil {
		t.Fatalf("SHOW max_connections: %v", err)
	}
	if want := fmt.Sprint(DefaultMaxConnections); maxConnections != want {
		t.Errorf("max_connections = %s, want %s", maxConnections, want)
	}
	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var value string
		if err := db1.QueryRowContext(t.Context(), "SHOW "+setting).Scan(&value); err != nil {
			t.Fatalf("SHOW %s: %v", setting, err)
		}
		if value != "off" {
			t.Errorf("%s = %s, want off", setting, value)
		}
	}
}

func TestCloseRemovesDirectory(t *testing.T) {
	srv := startPrivateServer(t)
	dir := srv.dir
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("data directory before Close: %v", err)
	}
	dsn, err := srv.CreateDatabase(t.Context())
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	// An open session must not keep the server running.
	db := openDB(t, dsn)
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}

	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat %s after Close: %v, want not exist", dir, err)
	}
	if !srv.process.hasExited() {
		t.Error("server process still running after Close")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if _, err := srv.CreateDatabase(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateDatabase after Close: %v, want ErrClosed", err)
	}
}

func TestExistingServer(t *testing.T) {
	first := startPrivateServer(t)
	firstDSN, err := first.CreateDatabase(t.Context())
	if err != nil {
		t.Fatalf("CreateDatabase on the private server: %v", err)
	}
	admin := openDB(t, firstDSN)

	u, err := url.Parse(firstDSN)
	if err != nil {
		t.Fatalf("parse DSN %q: %v", firstDSN, err)
	}
	keyValue := fmt.Sprintf("host=%s port=%s user=postgres dbname=%s sslmode=disable",
		u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/"))

	tests := []struct {
		name string
		dsn  string
	}{
		{"url", firstDSN},
		{"key value", keyValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := Start(t.Context(), Options{DSN: tt.dsn})
			if err != nil {
				t.Fatalf("Start with an existing server: %v", err)
			}
			if srv.dir != "" || srv.process != nil {
				t.Fatalf("Start with a DSN started a server in %q", srv.dir)
			}
			dsn, err := srv.CreateDatabase(t.Context())
			if err != nil {
				t.Fatalf("CreateDatabase: %v", err)
			}
			db := openDB(t, dsn)
			name := databaseName(t, db)
			if got := countProviders(t, db); got != 0 {
				t.Errorf("new database has %d providers, want 0", got)
			}
			if !databaseExists(t, admin, name) {
				t.Fatalf("database %s not found on the existing server", name)
			}

			// The open session in db must not stop Close from dropping
			// the database.
			if err := srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if databaseExists(t, admin, name) {
				t.Errorf("database %s still exists after Close", name)
			}
			if err := admin.PingContext(t.Context()); err != nil {
				t.Errorf("existing server unreachable after Close: %v", err)
			}
		})
	}
}

func TestStartInvalidDSN(t *testing.T) {
	_, err := Start(t.Context(), Options{DSN: "postgres://127.0.0.1:%zz/x"})
	if err == nil {
		t.Fatal("Start with an invalid URL returned no error")
	}
	if !strings.Contains(err.Error(), "Options.DSN") {
		t.Errorf("error %q does not name Options.DSN", err)
	}
}

func TestStartMissingBinaries(t *testing.T) {
	onlyInitdb := t.TempDir()
	writeExecutable(t, filepath.Join(onlyInitdb, "initdb"))
	empty := t.TempDir()

	_, err := Start(t.Context(), Options{BinDirs: []string{empty, onlyInitdb}})
	if !errors.Is(err, ErrBinariesNotFound) {
		t.Fatalf("Start: %v, want ErrBinariesNotFound", err)
	}
	t.Logf("Start error: %v", err)
	for _, want := range []string{"apt-get install postgresql", empty, onlyInitdb} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestTestServerMissingBinaries(t *testing.T) {
	_, err := startTestServer(Options{BinDirs: []string{t.TempDir()}})
	if !errors.Is(err, ErrBinariesNotFound) {
		t.Fatalf("startTestServer: %v, want ErrBinariesNotFound", err)
	}
	for _, want := range []string{"apt-get install postgresql", TestDSNEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStartFailureQuotesServerLog(t *testing.T) {
	before := ownedDirs(t)

	// PostgreSQL 15 accepts max_connections up to 262143.
	_, err := Start(t.Context(), Options{MaxConnections: 1 << 20})
	if err == nil {
		t.Fatal("Start with max_connections out of range returned no error")
	}
	t.Logf("Start error: %v", err)
	if !strings.Contains(err.Error(), "max_connections") {
		t.Errorf("error %q does not quote the server log line about max_connections", err)
	}
	for dir := range ownedDirs(t) {
		if !before[dir] {
			t.Errorf("failed Start left %s behind", dir)
		}
	}
}

// ownedDirs returns the server directories that this process created and
// has not removed.
func ownedDirs(t *testing.T) map[string]bool {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	owned := make(map[string]bool)
	for _, dir := range dirs {
		if owner, ok := readPid(filepath.Join(dir, ownerFile)); ok && owner == os.Getpid() {
			owned[dir] = true
		}
	}
	return owned
}

func TestOptionsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		field string
	}{
		{"negative max connections", Options{MaxConnections: -1}, "MaxConnections"},
		{"negative start timeout", Options{StartTimeout: -time.Second}, "StartTimeout"},
		{"negative stop timeout", Options{StopTimeout: -time.Second}, "StopTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(t.Context(), tt.opts)
			if err == nil {
				t.Fatal("Start returned no error")
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestFindBinariesSameDirectory(t *testing.T) {
	onlyPostgres, both := t.TempDir(), t.TempDir()
	writeExecutable(t, filepath.Join(onlyPostgres, "postgres"))
	writeExecutable(t, filepath.Join(both, "initdb"))
	writeExecutable(t, filepath.Join(both, "postgres"))
	notExecutable := t.TempDir()
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(notExecutable, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	got, err := findBinaries([]string{notExecutable, onlyPostgres, both}, "test dirs")
	if err != nil {
		t.Fatalf("findBinaries: %v", err)
	}
	if want := filepath.Join(both, "initdb"); got.initdb != want {
		t.Errorf("initdb = %s, want %s", got.initdb, want)
	}
	if want := filepath.Join(both, "postgres"); got.postgres != want {
		t.Errorf("postgres = %s, want %s", got.postgres, want)
	}
}

func TestDefaultBinDirsOrder(t *testing.T) {
	libRoot := t.TempDir()
	for _, version := range []string{"9.6", "15", "16", "devel"} {
		if err := os.MkdirAll(filepath.Join(libRoot, version, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pathList := strings.Join([]string{"/first", "", "/second"}, string(os.PathListSeparator))

	got := defaultBinDirs(pathList, libRoot)
	want := []string{
		"/first",
		"/second",
		filepath.Join(libRoot, "16", "bin"),
		filepath.Join(libRoot, "15", "bin"),
		filepath.Join(libRoot, "9.6", "bin"),
		filepath.Join(libRoot, "devel", "bin"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("defaultBinDirs =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRemoveStaleDirs(t *testing.T) {
	root := t.TempDir()
	deadPid := exitedPid(t)

	dirs := map[string]string{
		"dead owner":    fmt.Sprint(deadPid),
		"live owner":    fmt.Sprint(os.Getpid()),
		"no owner file": "",
		"garbled owner": "not a pid",
	}
	for name, owner := range dirs {
		dir := filepath.Join(root, dirPrefix+strings.ReplaceAll(name, " ", "-"))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A directory of a dead owner whose server still runs. The pid of this
	// process is written as the server's.
	running := filepath.Join(root, dirPrefix+"running-server")
	if err := os.MkdirAll(filepath.Join(running, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(running, ownerFile), fmt.Sprintf("%d\n", deadPid))
	mustWrite(t, filepath.Join(running, "data", "postmaster.pid"), fmt.Sprintf("%d\n/data\n", os.Getpid()))
	// A directory that Start did not create.
	other := filepath.Join(root, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(other, ownerFile), fmt.Sprintf("%d\n", deadPid))

	removeStaleDirs(root)

	for name := range dirs {
		dir := filepath.Join(root, dirPrefix+strings.ReplaceAll(name, " ", "-"))
		_, err := os.Stat(dir)
		removed := errors.Is(err, os.ErrNotExist)
		if wantRemoved := name == "dead owner"; removed != wantRemoved {
			t.Errorf("%s: removed = %v, want %v", name, removed, wantRemoved)
		}
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("directory of a running server: %v, want kept", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("directory without the prefix: %v, want kept", err)
	}
}

func TestCloseOnSignal(t *testing.T) {
	t.Run("signal", func(t *testing.T) {
		signals := make(chan os.Signal, 1)
		signals <- os.Interrupt
		var closed bool
		exitCode := -1
		var out strings.Builder
		closeOnSignal(signals, make(chan struct{}),
			func() error { closed = true; return nil },
			func(code int) { exitCode = code },
			&out)
		if !closed {
			t.Error("server not closed on a signal")
		}
		if exitCode != 1 {
			t.Errorf("exit code = %d, want 1", exitCode)
		}
		if !strings.Contains(out.String(), "interrupt") {
			t.Errorf("output %q does not name the signal", out.String())
		}
	})
	t.Run("done", func(t *testing.T) {
		done := make(chan struct{})
		close(done)
		var closed, exited bool
		closeOnSignal(make(chan os.Signal), done,
			func() error { closed = true; return nil },
			func(int) { exited = true },
			&strings.Builder{})
		if closed || exited {
			t.Errorf("after done: closed = %v, exited = %v, want neither", closed, exited)
		}
	})
}

func TestTestDBSharedServer(t *testing.T) {
	db1, db2 := TestDB(t), TestDB(t)
	name1, name2 := databaseName(t, db1), databaseName(t, db2)
	if name1 == name2 {
		t.Fatalf("two TestDB calls returned the same database %s", name1)
	}
	if got := countProviders(t, db1); got != 0 {
		t.Errorf("test database has %d providers, want 0", got)
	}

	first, err := sharedTestServer()
	if err != nil {
		t.Fatalf("sharedTestServer: %v", err)
	}
	second, err := sharedTestServer()
	if err != nil {
		t.Fatalf("second sharedTestServer: %v", err)
	}
	if first != second {
		t.Error("sharedTestServer started a second server")
	}
}

func writeExecutable(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exitedPid returns the pid of a process that has exited and been reaped.
func exitedPid(t *testing.T) int {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), "true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}
	return cmd.Process.Pid
}
