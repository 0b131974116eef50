// This file holds the errors that callers branch on.

package redshiftsync

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrNoCheckpoint is returned by a StateStore's Load when no state has
	// been saved yet.
	ErrNoCheckpoint = errors.New("redshiftsync: no checkpoint saved yet")
	// ErrStateCorrupt is returned when a saved state cannot be read. The
	// state is left as it is, for the user to inspect.
	ErrStateCorrupt = errors.New("redshiftsync: saved state is unreadable")
	// ErrStateVersion is returned for a state written by a newer version of
	// the library.
	ErrStateVersion = errors.New("redshiftsync: saved state is from a newer version")
	// ErrStateMismatch is returned for a state saved for another database
	// or schema, or against another server (see State.Server and
	// WithAdoptState).
	ErrStateMismatch = errors.New("redshiftsync: saved state belongs to another source")
	// ErrDestinationIsSource is returned by a sink (through SourceAware)
	// whose destination is the source database itself: loading there would
	// replace the tables being read.
	ErrDestinationIsSource = errors.New("redshiftsync: the destination is the source")
	// ErrNoTables is returned when the configured schema or table specs
	// select no table.
	ErrNoTables = errors.New("redshiftsync: no tables to sync")
	// ErrTableSpec is returned for a table spec that does not match the
	// catalog (an unknown table or column, an excluded key, a key that
	// cannot order).
	ErrTableSpec = errors.New("redshiftsync: invalid table spec")
	// ErrTableGone is returned when a table disappears between discovery
	// and its read.
	ErrTableGone = errors.New("redshiftsync: table no longer exists")
	// ErrLocked is returned when another run holds the lock of the state
	// (or of the destination) that this run needs: two runs at once would
	// corrupt the output. The error is a *LockError naming the lock and,
	// when known, the process that holds it.
	ErrLocked = errors.New("redshiftsync: another sync is running")
	// ErrPanic is wrapped by the error of a goroutine of Run that panicked,
	// in the library or in code of the caller's it called (a Sink, a
	// hook): the panic is recovered and becomes an error, with the value it
	// panicked with in the message and the stack in a debug log line.
	ErrPanic = errors.New("redshiftsync: panic")
)

// TableError is the error of one table's sync: it names the table and the
// step that failed, and unwraps to the cause.
type TableError struct {
	Table string // "schema.table"
	Step  string // what failed: one of the Step constants (StepReadPage, StepWrite...)
	Err   error
	// Hint says what to do, when the library knows: for a privilege the
	// role lacks on the table, the GRANT to run. It may be empty.
	Hint string

	// source is true when Err is the source's answer to a read of the
	// table, after the retries (see tableScoped).
	source bool
}

// Error reads "redshiftsync: table schema.t: step: cause (SQLSTATE code);
// hint", the SQLSTATE part when the cause came from the server, the hint
// when there is one.
func (e *TableError) Error() string {
	msg := fmt.Sprintf("redshiftsync: table %s: %s: %v", e.Table, e.Step, e.Err)
	if code := SQLState(e.Err); code != "" {
		// lib/pq ends its message with "(code)": label it, do not repeat it.
		msg = strings.TrimSuffix(msg, " ("+code+")") + " (SQLSTATE " + code + ")"
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *TableError) Unwrap() error { return e.Err }

// SQLState returns the SQLSTATE code carried by err, or "" when err did not
// come from the server.
func SQLState(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}
