package pgserver

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// serverProcess is a running postgres process and the goroutine that waits
// for it to exit.
type serverProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // the error from cmd.Wait, written before exited is closed
}

// startProcess starts cmd and waits for its exit in a goroutine.
//
// The goroutine locks its OS thread and keeps it until the process exits,
// because the kernel sends the parent-death signal when the thread that
// started the child ends, which can happen long before this process ends.
func startProcess(cmd *exec.Cmd) (*serverProcess, error) {
	p := &serverProcess{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.exited)
	}()

	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// hasExited reports whether the process has exited.
func (p *serverProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop sends SIGINT, PostgreSQL's fast shutdown, which rolls back open
// transactions and ends sessions, and kills the server if it still runs
// after timeout. It returns once the process has exited.
func (p *serverProcess) stop(timeout time.Duration) {
	if p.hasExited() {
		return
	}

	if err := p.cmd.Process.Signal(syscall.SIGINT); err == nil {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-p.exited:
			return
		case <-timer.C:
		}
	}

	// The process runs as this user or, for root, as a less privileged
	// one, so Kill can fail only with os.ErrProcessDone, when the process
	// has exited and exited is closing.
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// commandEnv returns this process's environment with the C locale, so that
// initdb creates a cluster independent of the caller's locale settings and
// the server log, which Start quotes in its errors, is in English.
func commandEnv() []string {
	return append(os.Environ(), "LC_ALL=C")
}
