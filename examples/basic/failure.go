// This file holds what examples/basic says when a run does not end well:
// which tables failed and why, which were stopped because of them, whether
// running again resumes, where the connection settings came from when the
// connection fails, and the retries of the first connection.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// runError returns the error to print for the outcome of Run (nil when every
// table was synced). It says "run again to resume" only when that is true:
// the run was interrupted (a signal), or every table that failed failed
// with a transient error. Each failed table is named, with its cause and
// what to do (for a privilege, the GRANT).
func runError(ctx context.Context, rep *redshiftsync.Report, err error, where, origin string, wait time.Duration) error {
	if err == nil {
		return nil
	}
	var failed, canceled, interrupted []redshiftsync.TableReport
	if rep != nil {
		for _, t := range rep.Tables {
			switch t.Status {
			case redshiftsync.TableFailed:
				failed = append(failed, t)
			case redshiftsync.TableCanceled:
				canceled = append(canceled, t)
			case redshiftsync.TableInterrupted:
				interrupted = append(interrupted, t)
			}
		}
	}
	if len(failed) == 0 && len(canceled) == 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("%v; the last checkpoint is saved in %s, run again to resume", context.Cause(ctx), where)
		}
		return connectHint(lockHint(err, wait), origin)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d tables could not be synced:", len(failed), len(rep.Tables))
	transient := true
	for _, t := range failed {
		fmt.Fprintf(&b, "\n  %s", strings.TrimPrefix(t.Err.Error(), "redshiftsync: "))
		transient = transient && redshiftsync.Transient(t.Err)
	}
	if len(canceled) > 0 {
		names := make([]string, len(canceled))
		for i, t := range canceled {
			names[i] = t.Table
		}
		fmt.Fprintf(&b, "\n%d stopped because of that failure, keeping their last checkpoint: %s", len(canceled), strings.Join(names, ", "))
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(&b, "\n%v; the last checkpoint is saved in %s, run again to resume", context.Cause(ctx), where)
	case transient:
		fmt.Fprintf(&b, "\nthe failures are transient (the source went away or was short of resources beyond the retries); the last checkpoint is saved in %s, run again to resume", where)
	default:
		fmt.Fprintf(&b, "\nfix the causes above and run again; the tables synced keep their progress in %s", where)
	}
	return errors.New(b.String())
}

// connectHint adds to the error of a connection that could not be opened
// where its settings came from.
func connectHint(err error, origin string) error {
	var ce *redshiftsync.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w (connection settings from %s)", err, origin)
	}
	return err
}

// startupRetries is a log handler that prints a line on w for each retry of
// the catalog reads that start a run (a connection refused, a server
// restarting), so that they are visible without -v, and hands every record
// to next.
type startupRetries struct {
	next  slog.Handler
	w     io.Writer
	max   int
	attrs []slog.Attr
}

func (h startupRetries) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h startupRetries) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == redshiftsync.RetryLogMessage {
		var step, cause string
		var attempt int64
		var wait time.Duration
		for _, a := range append(h.attrs, recordAttrs(r)...) {
			switch a.Key {
			case "step":
				step = a.Value.String()
			case "attempt":
				attempt = a.Value.Int64()
			case "wait":
				wait = a.Value.Duration()
			case "error":
				cause = a.Value.String()
				// The connection's error says where it went in the line
				// "connecting to" above, and what to do at the end: here
				// the cause alone.
				var ce *redshiftsync.ConnectError
				if err, ok := a.Value.Any().(error); ok && errors.As(err, &ce) {
					cause = ce.Err.Error()
				}
			}
		}
		if step == "discover" {
			fmt.Fprintf(h.w, "basic: %s; retrying in %.1fs (retry %d of %d)\n", cause, wait.Seconds(), attempt, h.max)
		}
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func recordAttrs(r slog.Record) []slog.Attr {
	var out []slog.Attr
	r.Attrs(func(a slog.Attr) bool { out = append(out, a); return true })
	return out
}

func (h startupRetries) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.next = h.next.WithAttrs(attrs)
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return h
}

func (h startupRetries) WithGroup(name string) slog.Handler {
	h.next = h.next.WithGroup(name)
	return h
}
