// This file holds the recovery of panics in the goroutines Run starts. A
// library embedded in a service returns errors: a panic in a goroutine of
// its own would end the caller's process, and the caller could not recover
// it. So every goroutine Run starts (a table's sync, a partition reader, the
// progress reporter, and any goroutine added later) defers a recovery that
// turns a panic into an error wrapping ErrPanic, whether it came from the
// library or from the caller's code it called: Sink methods and hooks, much
// as net/http recovers a handler's panic and goes on serving.

package redshiftsync

import (
	"fmt"
	"runtime/debug"
)

// panicError is a recovered panic: the value it panicked with, shown in the
// message, and the stack, which is logged at debug level, not printed.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// Unwrap returns ErrPanic, and the value panicked with when it is an error
// (a runtime.Error, say).
func (e *panicError) Unwrap() []error {
	if err, ok := e.value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// catch is deferred first thing by every goroutine of a table's sync: it
// recovers a panic of that goroutine and hands fail a *TableError wrapping
// ErrPanic for step. Nothing more is flushed or saved for the table in this
// run (as after a failed sink call): a panic may have left the sink, or the
// table's own bookkeeping, half-way through a batch, so the rows since the
// last checkpoint are read again by the next run. Locks the goroutine held
// are released by their deferred unlocks as the panic unwinds.
func (s *tableSync) catch(step string, fail func(error)) {
	r := recover()
	if r == nil {
		return
	}
	s.sinkFailed.Store(true)
	pe := &panicError{value: r, stack: debug.Stack()}
	s.log.Debug("panic recovered", "step", step, "error", pe.Error(), "stack", string(pe.stack))
	fail(&TableError{Table: s.name, Step: step, Err: pe})
}

// recoverHook calls fn, the caller's hook, and returns its panic as an error
// wrapping ErrPanic; nil when it returned.
func (e *Extractor) recoverHook(name string, fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pe := &panicError{value: r, stack: debug.Stack()}
			e.log.Debug("panic recovered", "step", name, "error", pe.Error(), "stack", string(pe.stack))
			err = fmt.Errorf("redshiftsync: %s: %w", name, pe)
		}
	}()
	fn()
	return nil
}
