package querycache

import (
	"errors"
	"fmt"
)

// PanicError is returned to every caller waiting on a fill that panicked.
// The panic is recovered in the fill's goroutine, so it never crashes the
// process; the next Get starts a new fill.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack trace of the fill's goroutine at the panic.
	Stack []byte
}

// Error formats the panic value followed by the stack trace.
func (e *PanicError) Error() string {
	return fmt.Sprintf("querycache: fill panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// errFillExited is returned to waiters when a fill stopped its goroutine
// with runtime.Goexit, for example through testing.T.FailNow.
var errFillExited = errors.New("querycache: fill exited without returning (runtime.Goexit)")

var errorNilFill = errors.New("querycache: New: fill function is nil")
