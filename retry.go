// This file holds error classification and the retry policy: which source
// errors are worth another attempt, how long to wait before it, and the
// retry loop of a read unit.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"
)

// transientSQLStates are the SQLSTATE codes (or classes, ending in "*") after
// which a retry can succeed: the connection or the server went away, the
// server is short of something for a while, or the statement lost a race.
// Every other code the server sends is permanent: syntax (42601), permission
// (42501), a missing table or column (42P01, 42703), a type or data error
// (class 22, 42804), authentication (class 28), an unknown database (3D000)
// fail the table at once; so does 53400 (configuration_limit_exceeded, such
// as temp_file_limit), which the same query would hit again.
var transientSQLStates = []string{
	"08*",   // connection exception
	"57P01", // admin_shutdown: backend terminated (pg_terminate_backend, restart)
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now: the server is starting or stopping
	"57P05", // idle_session_timeout (PostgreSQL 14+): the server closed the session
	"25P03", // idle_in_transaction_session_timeout: the server closed the session
	"53000", // insufficient_resources
	"53100", // disk_full (temporary files of a sort)
	"53200", // out_of_memory
	"53300", // too_many_connections
	"40001", // serialization_failure
	"40P01", // deadlock_detected
	"57014", // query_canceled: a Redshift WLM timeout or statement timeout, when the run was not canceled
}

// RetryLogMessage is the message of the warning logged (see WithLogger) before
// each retry of a transient source error, with the attributes step (the
// step retried: "discover" for the catalog reads at the start of a Run),
// attempt (1-based), wait (the backoff before it), sqlstate and error.
const RetryLogMessage = "transient source error: retrying"

// Transient reports whether err is a failure of the source that another
// attempt can get past with nothing changed: a lost or refused connection,
// a server restarting or short of resources for a while, a statement that
// lost a race. Run retries those itself, up to MaxRetries times; a run that
// failed with one anyway can be run again, and resumes from its last
// checkpoint. A failure a person must fix first (a privilege, a password,
// a missing table, a sink's failure) is not transient, nor is a
// cancellation.
func Transient(err error) bool {
	if err == nil || isCancellation(err) {
		return false
	}
	return isTransient(context.Background(), err)
}

// isTransient reports whether err is worth retrying. An error after the
// run's own context is done never is: a canceled run stops.
func isTransient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if code := SQLState(err); code != "" {
		for _, s := range transientSQLStates {
			if s == code || (strings.HasSuffix(s, "*") && strings.HasPrefix(code, strings.TrimSuffix(s, "*"))) {
				return true
			}
		}
		return false
	}
	// A host name that does not resolve is a typo, not an outage.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	// lib/pq reports a FATAL server error on an open connection (57P01
	// after pg_terminate_backend, a restart) and a dropped socket as
	// driver.ErrBadConn, io.EOF or a *net.OpError.
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &netErr)
}

// retryTransient runs try until it returns nil or an error that is not
// transient, or until it has been retried maxRetries times, and returns its
// last error. Before each retry it calls onRetry (when not nil: a table's
// retry count), logs RetryLogMessage with step, and waits the backoff; a
// ctx done meanwhile ends the loop with ctx's error. try must be safe to
// run again.
func retryTransient(ctx context.Context, log *slog.Logger, step string, maxRetries int, onRetry func(), try func() error) error {
	for attempt := 0; ; attempt++ {
		err := try()
		if err == nil || !isTransient(ctx, err) || attempt >= maxRetries {
			return err
		}
		if onRetry != nil {
			onRetry()
		}
		wait := backoff(attempt + 1)
		log.Warn(RetryLogMessage, "step", step, "attempt", attempt+1, "wait", wait, "sqlstate", SQLState(err), "error", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff returns the wait before retry attempt n (1-based): exponential
// from 250ms, capped at 10s, with full jitter in its upper half.
func backoff(n int) time.Duration {
	d := 250 * time.Millisecond << min(n-1, 6)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sqlStateTimeout is query_canceled: a statement_timeout, or on Redshift a
// WLM timeout or a query monitoring rule's abort
// (https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html,
// https://docs.aws.amazon.com/redshift/latest/dg/cm-c-wlm-query-monitoring-rules.html).
// The same statement is likely to meet the same limit again.
const sqlStateTimeout = "57014"

// errTimedOut wraps a statement's timeout when the unit can split its read
// instead of retrying it (unit.splitOnTimeout).
type errTimedOut struct{ err error }

func (e *errTimedOut) Error() string { return e.err.Error() }
func (e *errTimedOut) Unwrap() error { return e.err }

// timeoutHint is the hint of a statement that timed out twice at its
// smallest size.
const timeoutHint = "the statement timed out twice, and its read cannot be split smaller; raise statement_timeout (or the timeout of the Redshift WLM queue or query monitoring rule that canceled it)"

// withRetry runs fn, retrying transient failures with backoff on a fresh
// connection, up to MaxRetries times. fn must be safe to run again: a page
// that failed was not delivered, so it is read again from the same position.
//
// On Redshift, a statement that timed out (57014) is not retried as it is when the unit
// can split its read (splitOnTimeout): withRetry returns an *errTimedOut and
// the caller reads it in smaller parts. Otherwise it is retried once: a
// second timeout fails the step, whatever MaxRetries allows (u.timeouts
// counts the first when the caller could not split after all).
func (u *unit) withRetry(ctx context.Context, step string, fn func() error) error {
	t := u.t
	timeouts := u.timeouts
	u.timeouts = 0
	for attempt := 0; ; attempt++ {
		before := u.advanced
		err := u.ensureConn(ctx)
		if err == nil {
			err = fn()
			if err == nil {
				return nil
			}
		}
		var te *TableError
		if errors.As(err, &te) {
			return err // a sink or decode failure, not the source's
		}
		u.releaseConn(true)
		if ctx.Err() != nil {
			return &TableError{Table: t.name, Step: step, Err: context.Cause(ctx)}
		}
		if u.advanced > before {
			// The attempt moved the position before it failed: the budget
			// bounds failures without progress, not a long read's whole
			// life. (A stream that starts over makes no progress.)
			attempt = 0
		}
		if SQLState(err) == sqlStateTimeout && ctx.Err() == nil && t.dialect == DialectRedshift {
			if u.splitOnTimeout {
				return &errTimedOut{err}
			}
			if timeouts++; timeouts >= 2 {
				return &TableError{Table: t.name, Step: step, Err: err, Hint: timeoutHint, source: true}
			}
		}
		if !isTransient(ctx, err) || attempt >= t.e.cfg.MaxRetries {
			if SQLState(err) == "42P01" {
				if ok, xerr := tableExists(context.WithoutCancel(ctx), t.e.pool.db, t.plan.Table.Schema, t.plan.Table.Name); xerr == nil && !ok {
					err = fmt.Errorf("%w: %w", ErrTableGone, err)
				}
			}
			hint := sourceHint(context.WithoutCancel(ctx), t.e.pool.db, t.plan.Table.Schema, t.plan.Table.Name, err)
			return &TableError{Table: t.name, Step: step, Err: err, Hint: hint, source: true}
		}
		wait := backoff(attempt + 1)
		t.stats.retries.Add(1)
		t.log.Warn(RetryLogMessage, "step", step, "attempt", attempt+1, "wait", wait, "sqlstate", SQLState(err), "error", err)
		if err := sleep(ctx, wait); err != nil {
			return &TableError{Table: t.name, Step: step, Err: err}
		}
	}
}
