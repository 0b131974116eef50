// This file holds how a Run's tables end: the status each is reported with,
// which failures belong to one table (the others go on) and which stop the
// run, the error of a table stopped because another failed, and the hint
// that says what to do about a table's failure.

package redshiftsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// TableStatus is how a table's sync ended in a Run (TableReport.Status).
type TableStatus string

const (
	// TableOK: the table was synced to the end.
	TableOK TableStatus = "ok"
	// TableFailed: the table's own sync failed; TableReport.Err is the
	// cause. A failure that belongs to the table (see Run) ends only that
	// table; any other stops the run, and the other running tables are
	// TableCanceled.
	TableFailed TableStatus = "failed"
	// TableCanceled: the table was stopped because another table failed
	// with an error that stops the run. Its error wraps ErrCanceledByFailure,
	// never context.Canceled; it kept its last checkpoint, and the next run
	// resumes it.
	TableCanceled TableStatus = "canceled"
	// TableInterrupted: the caller canceled Run's context (a signal, a
	// deadline). Its error wraps the context's error; it kept its last
	// checkpoint, and the next run resumes it.
	TableInterrupted TableStatus = "interrupted"
)

// ErrCanceledByFailure is wrapped by the error of a table that Run stopped
// because another table failed (TableCanceled). The error names the table
// that failed; that table's error is the cause to act on.
var ErrCanceledByFailure = errors.New("redshiftsync: stopped because another table failed")

// canceledBy is the cause Run cancels the other tables with when a table
// fails: it wraps ErrCanceledByFailure and not context.Canceled, so that a
// table stopped by it is not taken for one the caller canceled.
type canceledBy struct{ table string }

func (c *canceledBy) Error() string {
	return "stopped because table " + c.table + " failed"
}

func (c *canceledBy) Unwrap() error { return ErrCanceledByFailure }

// tableScoped reports whether err, a table's failure, belongs to that table
// alone: the table is ended and the others go on. Such are, from the source
// (not the sink): a privilege the role lacks on the table (42501), a table
// or column dropped since discovery (42P01, 42703, ErrTableGone), a value
// the table holds that cannot be read (class 22, 42804, a decode failure),
// and the table's saved state that does not fit it (ErrStateCorrupt). Any
// other failure (authentication, a connection lost beyond the retries, the
// state store, the sink, a panic) would fail every table alike, and stops
// the run.
func tableScoped(err error) bool {
	if errors.Is(err, ErrTableGone) || errors.Is(err, ErrStateCorrupt) {
		return true
	}
	var te *TableError
	if !errors.As(err, &te) {
		return false
	}
	if te.Step == StepDecode {
		return true
	}
	if !te.source {
		return false
	}
	switch code := SQLState(te.Err); {
	case code == "42501", code == "42P01", code == "42703", code == "42804", strings.HasPrefix(code, "22"):
		return true
	}
	return false
}

// isCancellation reports whether err is what a canceled context makes of a
// table's work: a context error, the cause Run cancels with, or the
// server's "canceling statement due to user request" (57014) answering
// lib/pq's cancel request.
func isCancellation(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrCanceledByFailure) || SQLState(err) == "57014"
}

// canceledWork reports whether err is what a cancel made of a table's work:
// isCancellation, or the cause the caller canceled ctx with
// (context.WithCancelCause), which the table's reads return in place of
// context.Canceled.
func canceledWork(ctx context.Context, err error) bool {
	if isCancellation(err) {
		return true
	}
	cause := context.Cause(ctx)
	return cause != nil && errors.Is(err, cause)
}

// outcome sets the status of a finished table of a Run. ctx is the caller's
// context, runCtx the run's own. A table whose work was canceled is
// TableInterrupted when the caller canceled, or TableCanceled when another
// table's failure did: its error is then replaced by one that wraps the
// cause (ErrCanceledByFailure), whatever the driver or the sink made of the
// cancellation. A transient error (a broken connection, say) after the run
// was canceled counts as the cancel's doing, except for the table whose
// failure canceled the run: it would have been retried otherwise.
func outcome(ctx, runCtx context.Context, t *TableReport) {
	cause := context.Cause(runCtx)
	var by *canceledBy
	switch {
	case t.Err == nil:
		t.Status = TableOK
	case runCtx.Err() == nil,
		errors.As(cause, &by) && by.table == t.Table,
		!canceledWork(ctx, t.Err) && !isTransient(context.Background(), t.Err):
		t.Status = TableFailed
	case by != nil:
		t.Status = TableCanceled
		step := StepSync
		var te *TableError
		if errors.As(t.Err, &te) {
			step = te.Step
		}
		t.Err = &TableError{Table: t.Table, Step: step, Err: cause}
	case ctx.Err() != nil:
		t.Status = TableInterrupted
	default:
		t.Status = TableFailed
	}
}

// joinOutcome joins the errors of a Run's tables, root causes first: the
// failed tables, then extra (errors that are not a table's), then the
// canceled and the interrupted tables.
func joinOutcome(tables []TableReport, extra ...error) error {
	var errs []error
	for _, t := range tables {
		if t.Status == TableFailed {
			errs = append(errs, t.Err)
		}
	}
	errs = append(errs, extra...)
	for _, st := range []TableStatus{TableCanceled, TableInterrupted} {
		for _, t := range tables {
			if t.Status == st {
				errs = append(errs, t.Err)
			}
		}
	}
	return errors.Join(errs...)
}

// sourceHint returns what to do about err, the source's answer to a read of
// table schema.name, or "": for a privilege the role lacks, the GRANT to
// run, naming the role the extractor connects as (current_user), each name
// quoted by the server's quote_ident as the statement needs it.
func sourceHint(ctx context.Context, db *sql.DB, schema, name string, err error) string {
	if SQLState(err) != "42501" {
		return ""
	}
	role, qSchema, qName := "<role>", sqlident.Quote(schema), sqlident.Quote(name)
	_ = db.QueryRowContext(ctx, `SELECT quote_ident(current_user::text), quote_ident($1), quote_ident($2)`, schema, name).Scan(&role, &qSchema, &qName)
	if strings.Contains(err.Error(), "for schema") {
		return fmt.Sprintf("the role may not use the schema; run GRANT USAGE ON SCHEMA %s TO %s;", qSchema, role)
	}
	return fmt.Sprintf("the role may not read the table; run GRANT SELECT ON %s.%s TO %s;", qSchema, qName, role)
}
