package pgserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// dirPrefix starts the name of every temporary directory that Start
	// creates, so that a later Start can find the ones left behind.
	dirPrefix = "hotread-pgserver-"

	// ownerFile, inside such a directory, contains the pid of the process
	// that created it.
	ownerFile = "owner.pid"

	// superuser is the superuser role that initdb creates.
	superuser = "postgres"

	// maxPortAttempts bounds the retries when another process binds the
	// chosen port between choosing it and the server binding it.
	maxPortAttempts = 3

	// logTailLines is how many lines of the server log an error quotes.
	logTailLines = 20

	// maxSocketPath is the longest Unix socket path that Linux accepts
	// (sun_path holds 108 bytes, the last a NUL).
	maxSocketPath = 107
)

// errPortInUse is returned by waitReady when the server could not bind its
// port.
var errPortInUse = errors.New("pgserver: port already in use")

// startPrivate runs initdb in a new temporary directory and starts a server
// on it.
func startPrivate(ctx context.Context, opts Options) (_ *Server, err error) {
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	bins, err := findBinaries(binDirs(opts.BinDirs))
	if err != nil {
		return nil, err
	}
	acct, err := serverAccount()
	if err != nil {
		return nil, err
	}

	tempRoot := os.TempDir()
	removeStaleDirs(tempRoot)
	dir, err := os.MkdirTemp(tempRoot, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgserver: create a temporary directory: %w", err)
	}
	s := &Server{opts: opts, dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()

	if err := prepareDir(dir, acct); err != nil {
		return nil, err
	}
	if err := runInitdb(ctx, bins, acct, dir); err != nil {
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		err := s.launch(ctx, bins, acct)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			return nil, err
		}
	}
}

// binDirs returns the directories to search and a description of them for
// errors.
func binDirs(configured []string) ([]string, string) {
	if configured != nil {
		return configured, fmt.Sprintf("Options.BinDirs %q", configured)
	}
	return defaultBinDirs(os.Getenv("PATH"), debianLibRoot), "PATH or " + debianLibRoot + "/*/bin"
}

// prepareDir writes the owner file and, when the server runs as another
// user, hands the directory to that user.
func prepareDir(dir string, acct *account) error {
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := os.WriteFile(filepath.Join(dir, ownerFile), pid, 0o644); err != nil {
		return fmt.Errorf("pgserver: write the owner file: %w", err)
	}
	if acct != nil {
		if err := os.Chown(dir, int(acct.uid), int(acct.gid)); err != nil {
			return fmt.Errorf("pgserver: give %s to system user %s: %w", dir, acct.name, err)
		}
	}
	return nil
}

func runInitdb(ctx context.Context, bins binaries, acct *account, dir string) error {
	cmd := exec.CommandContext(ctx, bins.initdb,
		"--pgdata", filepath.Join(dir, "data"),
		"--username", superuser,
		"--auth", "trust",
		"--encoding", "UTF8",
		"--locale", "C",
		// The data is thrown away, so initdb need not wait for the disk.
		"--no-sync",
	)
	cmd.Dir = dir
	cmd.Env = commandEnv()
	// initdb is not given a parent-death signal: it ends on its own, and the
	// signal would stop it when the Go thread that started it ends.
	cmd.SysProcAttr = procAttr(acct, 0)

	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return fmt.Errorf("pgserver: %s failed: %w; output:\n%s", bins.initdb, err, tail(out, logTailLines))
	}
	return nil
}

// launch starts the server on a free port and waits until it accepts
// connections. It returns errPortInUse when the port was taken meanwhile.
func (s *Server) launch(ctx context.Context, bins binaries, acct *account) error {
	port, err := freePort()
	if err != nil {
		return err
	}

	logPath := filepath.Join(s.dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgserver: open the server log: %w", err)
	}
	defer logFile.Close() // the server has its own copy of the descriptor

	// The socket directory is required by nothing here, since clients use
	// TCP, but the default one (/var/run/postgresql) may not be writable.
	socketDir := s.dir
	if len(socketDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		socketDir = "" // no Unix socket at all
	}
	cmd := exec.Command(bins.postgres,
		"-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+socketDir,
		"-c", "max_connections="+strconv.Itoa(s.opts.MaxConnections),
		// The data is thrown away, so the server need not survive a crash.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	cmd.Dir = s.dir
	cmd.Env = commandEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// SIGQUIT is PostgreSQL's immediate shutdown, which also ends the
	// server's child processes.
	cmd.SysProcAttr = procAttr(acct, syscall.SIGQUIT)

	process, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("pgserver: start %s: %w", bins.postgres, err)
	}
	s.process = process
	s.port = port
	return s.waitReady(ctx, logPath)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgserver: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls the server until it accepts connections, then keeps the
// connection pool as s.admin.
func (s *Server) waitReady(ctx context.Context, logPath string) error {
	db, err := sql.Open("postgres", privateDSN(s.port, "postgres"))
	if err != nil {
		return fmt.Errorf("pgserver: open the server's DSN: %w", err)
	}

	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		pingErr := db.PingContext(ctx)
		if pingErr == nil {
			s.admin = db
			return nil
		}

		select {
		case <-s.process.exited:
			_ = db.Close()
			log := readTail(logPath)
			if strings.Contains(log, "could not bind") {
				return errPortInUse
			}
			return fmt.Errorf("pgserver: server exited before it accepted connections (%v); server log:\n%s",
				s.process.err, log)
		case <-ctx.Done():
			_ = db.Close()
			return fmt.Errorf("pgserver: server did not accept connections on 127.0.0.1:%d: %w "+
				"(last attempt: %v); server log:\n%s", s.port, ctx.Err(), pingErr, readTail(logPath))
		case <-ticker.C:
		}
	}
}

// readTail returns the last lines of the file at path, or a note saying why
// it cannot.
func readTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return tail(data, logTailLines)
}

// tail returns the last n lines of text.
func tail(text []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(text, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// removeStaleDirs removes the directories that Start created under root for
// processes that no longer run and whose server no longer runs. It removes
// nothing that it cannot prove stale, and ignores every error, because a
// directory left behind costs disk space only.
func removeStaleDirs(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, dirPrefix+"*"))
	for _, dir := range dirs {
		owner, ok := readPid(filepath.Join(dir, ownerFile))
		if !ok || owner == os.Getpid() || processAlive(owner) {
			continue
		}
		// The first line of postmaster.pid is the server's pid. A server
		// started on a system without a parent-death signal can outlive
		// its owner.
		if server, ok := readPid(filepath.Join(dir, "data", "postmaster.pid")); ok && processAlive(server) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// readPid returns the positive integer on the first line of the file.
func readPid(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return pid, err == nil && pid > 0
}

func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pgserver: remove the server directory: %w", err)
	}
	return nil
}
