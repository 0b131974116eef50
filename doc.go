// Package redshiftsync copies large tables out of Amazon Redshift and
// PostgreSQL into destinations that the caller supplies, fast, resumably,
// and without losing a row.
//
// An Extractor discovers the tables of a schema (or takes manual table
// specs), infers a replication key for each, and reads them in bounded keyset
// pages over pooled connections, at most MaxParallelWorkers queries at once.
// Rows reach a Sink in batches of column-ordered values of exact Go types
// (see LogicalType); progress is saved in a StateStore as a versioned JSON
// document.
//
//	cfg, err := redshiftsync.LoadConfig("configuration.json")
//	...
//	sink, err := jsonlsink.New("./out")
//	...
//	ex, err := redshiftsync.New(cfg, sink, redshiftsync.NewFileStore("./out/state.json"))
//	...
//	defer ex.Close()
//	report, err := ex.Run(ctx)
//
// A Config may as well be written in Go: a zero field means the default its
// godoc states, and "none" is a named value (MaxRetriesNone, BatchBytesNone),
// so Config{Host: h, Database: d, User: u} is complete.
//
// Extractor.Check checks a setup before a run (connection, privileges, the
// state and its lock, a Checker sink) and reads no rows and writes nothing;
// Discover prints the plan and reads no rows either.
//
// # Guarantees
//
//  1. Nothing is lost. Every row that exists in the source when a sync
//     starts reaches the sink by the end of that sync, whatever the batch
//     size, ties in the replication key, NULL keys, crashes, restarts or
//     connection drops in between. Pages are ordered by (key, primary
//     key...) and resume strictly after the last tuple delivered, written
//     as k > $1 OR (k = $1 AND pk > $2) because Redshift lacks row-value
//     comparison; where that tuple is not known to be unique (no primary
//     key, or Redshift's unenforced one), a page never ends inside a tie
//     group: the rows sharing the last tuple are held back and read again
//     with the next page, and a page made of one tie group is read whole.
//     Which rows share a tuple is the server's word, not a comparison of
//     texts: for an ordering with a string column the page carries the
//     server's dense_rank of each tuple, so citext "x@y" and "X@Y", or
//     values of a nondeterministic collation, are one group as the server
//     sees it; other key types have canonical texts. A table spec's
//     primary_keys must name NOT NULL columns.
//     A sync is bounded by a high-water mark taken when it starts; that
//     mark becomes the bookmark (where the next sync starts, >=) only once
//     every transaction in progress when it was taken has ended, so rows
//     committed late below it are read by a later sync, and a timestamp
//     bookmark never passes the server's clock (one saved above it, by an
//     older version or before the clock was stepped back, is lowered to
//     it; the README's "Late commits (the watermark)" gives the argument,
//     its assumptions and the keys covered). A Lookback re-reads more on top. Rows whose
//     key is NULL are read again on every incremental sync, after the
//     others (on Redshift in chunks, as a chunked full sync is). A sync read in key ranges (Redshift chunks) reads the rows
//     whose range column is NULL (a Redshift key column declared without
//     NOT NULL: only NOT NULL is enforced there) in a range of their own.
//     On PostgreSQL a full sync, and a pass over a table in block order,
//     reads every page in one exported snapshot, so a resync is
//     the table at one instant; a pass resumed after a crash in a new
//     snapshot first reads the rows written since its first one (see the
//     README's "One snapshot per pass" for exactly what that guarantees).
//  2. At-least-once, idempotent by primary key. A row may be delivered twice
//     (after a crash, in the tie group at a bookmark, or below a bookmark
//     held back for late commits); a sink that upserts by primary key ends
//     equal to the source.
//  3. A checkpoint never runs ahead of the data. The state is saved only
//     after the sink's Flush returned nil for every row it claims.
//  4. Bounded memory. Memory depends on BatchSize, BatchBytes and row width,
//     never on table size: pages are LIMITed, never cursors or OFFSET. By
//     default a batch holds at most BatchBytesDefault bytes (a single larger
//     row is a batch alone), so wide rows stay bounded too.
//  5. Clear failures. Bad configuration, missing tables, unknown columns,
//     permission errors and an unreadable state each get an error that names
//     the thing and what to do; a table's failure is a *TableError naming
//     the table, the step and the SQLSTATE (with the GRANT to run for a
//     missing privilege), a connection's a *ConnectError naming host, port,
//     database and user with a hint. A failure that belongs to one table
//     ends only that table; a table stopped because another failed is
//     reported canceled (ErrCanceledByFailure), never as if the caller had
//     canceled. No password reaches a log line, an error or %v.
//  6. No false delete. With Config.DeleteDetection on, a DeleteSink is told
//     of a key only after the source was asked for that key alone and
//     answered that it holds no row equal to it (by its own equality);
//     deletes are flushed before the state that records the detection, and
//     a detection stopped part way runs again. Range digests find the
//     changed key ranges without reading keys (see DeleteStats and the
//     README's "Deletes and schema changes").
//
// # Large tables: UNLOAD
//
// With WithUnloader (package unload's reader) and unload_s3_uri, a Redshift
// table (or an incremental phase) of at least unload_threshold_rows rows is
// read with UNLOAD to S3 as Parquet, its parts streamed concurrently into the
// sink in batches; Plan.Unload says which and why. The guarantees above hold:
// the bounds are fixed before the UNLOAD, each part is delivered whole
// before the state claims it, a resume reads the parts not yet delivered
// (never a second UNLOAD while the files exist), and the bookmark moves only
// when every part is delivered. No access key reaches a log line or an error.
//
// # A state belongs to one source
//
// The state records the source's database and schema and the server's own
// identity (SourceInfo.Server: PostgreSQL's system_identifier, which a
// standby shares with its primary, or a Redshift cluster's namespace), never
// the configured host name. Run refuses a state saved for another source
// with ErrStateMismatch, before reading a row, unless WithAdoptState; a state
// saved before the identity was recorded is bound to the server of its next
// run, with a warning. A sink that implements SourceAware is told the
// source before any Open and may refuse it (pgsink refuses its own database:
// ErrDestinationIsSource).
//
// # Concurrency
//
// Run syncs tables in parallel; Sink calls for one table come from one
// goroutine at a time, calls for different tables may be concurrent. Stats
// may be called at any time.
//
// One state has one writer: a StateStore that other processes can reach is a
// Locker, whose lock Run holds from its start to its end, so a second run on
// the same state (an overlapping cron job, say) fails at once with
// ErrLocked, naming the holder's pid and host, or waits with WithLockWait.
// FileStore takes an flock on a file beside the state, pgsink's store a
// session advisory lock; both die with their process, so a killed run never
// blocks the next. The jsonlsink sink locks its directory the same way.
//
// No goroutine Run starts can end the caller's process: a panic in one, in
// the library or in the caller's Sink or hooks called from it, is recovered
// and becomes an error wrapping ErrPanic (a *TableError of the table it
// happened in), with the stack in a debug log line. A saved state that does
// not fit a table's plan is refused with ErrStateCorrupt naming the table.
//
// NewFromDB leaves the caller's connections as it found them: every session
// setting the extractor changes is set back to its previous value before a
// connection returns to the caller's pool.
package redshiftsync
