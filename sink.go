// This file holds the Sink contract: the destination side of a sync.

package redshiftsync

import "context"

// A Batch is a group of rows of one table, handed to a Sink in source order
// within its read unit. Each row holds one value per column of Table, in the
// order of Table.Columns; the Go type of each value is fixed by the column's
// LogicalType (see LogicalType). A nil value is SQL NULL.
//
// The Rows slice and the rows in it are reused by the extractor once Write
// returns: a sink that keeps them past Write must copy them. Values inside the
// rows ([]byte, json.RawMessage, strings) are never reused and may be kept.
type Batch struct {
	Table *Table
	Rows  [][]any
}

// Sink receives the rows of a sync. A sink is the caller's destination: a file
// writer, a database loader, a message producer.
//
// Calls for one table are made from one goroutine at a time, in this order:
// Open once per table per run, then any number of Write and Flush calls.
// Calls for different tables may run concurrently (up to
// Config.MaxParallelWorkers at once), so a sink shared by tables must be safe
// for concurrent use across tables.
//
// Any error returned by a sink fails that table's sync; the state already saved
// for the table is kept, so the next run resumes after the last successful
// Flush. A panic in a sink method is recovered, as net/http recovers a
// handler's: the table fails with a *TableError wrapping ErrPanic, nothing
// more is flushed or saved for it in this run (the sink may be half-way
// through a batch), and the process goes on.
type Sink interface {
	// Open tells the sink the definition of table before any of its rows.
	// It is called again on the next run, where the columns may differ
	// (a column added at the source, say).
	Open(ctx context.Context, table *Table) error

	// Write hands the sink a batch of rows of table. It need not make them
	// durable: that is what Flush is for.
	Write(ctx context.Context, batch Batch) error

	// Flush makes every row written so far for table durable. A nil error
	// promises exactly that: the extractor saves the state that claims these
	// rows only after Flush returns nil, never before.
	Flush(ctx context.Context, table *Table) error
}

// ResyncSink is an optional interface of a Sink that wants to know when a full
// resync of a table begins and ends. Between the two calls every row of the
// table is delivered again, so a destination can drop the rows it did not see
// (a full resync re-reads the whole table: see Mode).
//
// BeginResync is called once per resync, before its first Write; a resync that
// is resumed after a crash is not begun again. It is called again for the
// same resync when a streamed read (a table with no primary key) must start
// over after a transient error, and when a pass read in one snapshot must
// start over in a new one (its exporting session ended, or the table was
// rewritten under a read in block order): the sink then drops the rows it
// was given since the previous BeginResync. EndResync is called after the
// last row of the resync has been flushed, before the state that records the
// finished resync is saved.
type ResyncSink interface {
	Sink
	BeginResync(ctx context.Context, table *Table) error
	EndResync(ctx context.Context, table *Table) error
}

// SinkFuncs adapts plain functions to a Sink, for quick destinations and
// tests. A nil OpenFunc or FlushFunc does nothing; WriteFunc is required.
type SinkFuncs struct {
	OpenFunc  func(ctx context.Context, table *Table) error
	WriteFunc func(ctx context.Context, batch Batch) error
	FlushFunc func(ctx context.Context, table *Table) error
}

// Open calls OpenFunc when it is set.
func (s SinkFuncs) Open(ctx context.Context, table *Table) error {
	if s.OpenFunc == nil {
		return nil
	}
	return s.OpenFunc(ctx, table)
}

// Write calls WriteFunc.
func (s SinkFuncs) Write(ctx context.Context, batch Batch) error {
	return s.WriteFunc(ctx, batch)
}

// Flush calls FlushFunc when it is set.
func (s SinkFuncs) Flush(ctx context.Context, table *Table) error {
	if s.FlushFunc == nil {
		return nil
	}
	return s.FlushFunc(ctx, table)
}

// StateSink is an optional interface of a Sink that keeps the state document
// itself, committed atomically with the rows it covers: after a crash the
// destination holds exactly the rows the saved state claims, so no row is
// applied twice. The StateStore given to the extractor must read what
// FlushState writes.
//
// The document's format is the extractor's own: a StateSink stores doc as
// opaque bytes and learns what it needs of a table's state from the
// TableView it is given with it.
//
// When the sink is a StateSink, the extractor calls OpenState in place of
// Open, and FlushState in place of Flush followed by StateStore.Save at each
// checkpoint. FlushState calls are serialized across tables (never two at
// once), and each is given the whole state document, which supersedes every
// earlier one.
type StateSink interface {
	Sink
	// OpenState is Open, told what the saved state records of table as its
	// sync starts in this run: saved is nil when the state has no entry for
	// the table (it was never synced with this state). A sync resumed with
	// a full resync in progress (saved.Resyncing()) is not begun again, and
	// when it has no position (!saved.Positioned()) it delivers every row
	// of the table again. Open is not called for a StateSink.
	OpenState(ctx context.Context, table *Table, saved *TableView) error

	// FlushState makes every row written so far for table durable together
	// with doc, in one atomic step: either both are saved, or neither.
	// entry is what doc records of table (never nil): a resync in progress
	// (entry.Resyncing()), or the table's sync finished with this flush
	// (entry.InProgress == nil).
	FlushState(ctx context.Context, table *Table, entry *TableView, doc []byte) error
}

// AttemptSink is an optional interface of a Sink that can undo the rows of a
// streamed read whose attempt failed part way. A read with no order to page
// by (a table without a primary key read as one stream, a chunk, a tie
// group, the rows whose replication key is NULL) is retried from its first
// row after a transient source error; without an undo, the rows its failed
// attempt delivered are delivered twice.
//
// The extractor calls BeginAttempt before each attempt of such a read, and,
// when the attempt fails for any reason other than a failed sink call (a
// source error, a decode error, a canceled ctx), UndoAttempt before the
// retry, or before giving the read up. The table's sink lock is held from
// BeginAttempt to the end of the attempt or its UndoAttempt, so no other
// Write, Flush or FlushState of the table comes in between: UndoAttempt
// must discard every row written for the table since the last BeginAttempt,
// and keep every row written before it. An attempt that succeeds is not
// ended by a call: its rows are kept, and made durable by the next flush.
// UndoAttempt runs on a context that is not canceled with the run's (it is
// bounded by a timeout), so the undo also happens when the run is stopped.
// An error from either fails the table, and nothing more is flushed or
// saved for it in this run.
//
// A Sink that is not an AttemptSink keeps the rows of a failed attempt: it
// is at-least-once for those reads (a keyed destination that upserts is
// unaffected; an append-only one holds the rows twice).
type AttemptSink interface {
	Sink
	BeginAttempt(ctx context.Context, table *Table) error
	UndoAttempt(ctx context.Context, table *Table) error
}
