//go:build !unix

package pgserver

import "syscall"

// procAttr returns nil: this system has no process groups, user switching
// or parent-death signal for os/exec to set.
func procAttr(*account, syscall.Signal) *syscall.SysProcAttr {
	return nil
}

// processAlive reports every process as alive, so that no directory is
// removed on a system where liveness cannot be checked.
func processAlive(int) bool {
	return true
}
