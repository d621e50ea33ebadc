//go:build unix && !linux

package pgserver

import (
	"errors"
	"syscall"
)

// procAttr runs a child in its own process group, so that a terminal's
// SIGINT reaches only this process and Close stops the server in order. It
// switches the child to acct when acct is not nil.
//
// NOTE: Only Linux offers a parent-death signal, so on this system a server
// outlives a test binary that is killed before it calls Close.
func procAttr(acct *account, _ syscall.Signal) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if acct != nil {
		attr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid}
	}
	return attr
}

// processAlive reports whether a process with the pid exists. A process of
// another user counts as alive.
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
