// Package pgsink is a [redshiftsync.Sink] that loads tables into a PostgreSQL
// database, exactly once: the rows of each checkpoint are committed in the
// same transaction as the state document that claims them. It also provides
// the matching [redshiftsync.StateStore], [StateStore], which keeps that
// document in a table of the destination database.
//
// It uses database/sql with the lib/pq driver only.
//
//	sink, err := pgsink.Open("postgres://loader@warehouse:5432/analytics",
//		pgsink.WithStateName("prod/public"))
//	...
//	defer sink.Close()
//	ex, err := redshiftsync.New(cfg, sink, sink.StateStore())
//
// # Tables
//
// Each source table is loaded into the table of the same schema name and table
// name in the destination ([WithSchema] changes the schema), every identifier
// double-quoted with embedded quotes doubled, so any name works. [Sink.Open]
// creates the schema and the table when they do not exist, with the columns of
// the source in source order, each of the type below, and the source's primary
// key as the table's primary key. A column that appears at the source later is
// added (ALTER TABLE ... ADD COLUMN) on the next run. A column dropped at the
// source stays in the destination; rows loaded after the drop have NULL in it
// (or keep the value they had, when updated). Columns other than the primary
// key are created nullable, whatever the source says, so that a column added
// later or a constraint relaxed at the source never fails a load.
//
// A column whose type changes at the source follows it at the next Open.
// When the destination column can be widened without changing a value it
// holds (integer widths; numeric(p,s) to more integer digits and a scale
// at least as large, or to numeric; real to double precision; date to
// timestamp; any type to text), it is altered in place
// (ALTER COLUMN ... TYPE) in Open's transaction, before the rows that need
// it: a widening alone changes no value, and so is safe to commit on its
// own, and the table is locked only for the ALTER, not until the next
// flush. Otherwise (a narrowing such as numeric(12,4) to numeric(10,2),
// which also rounds the rows the source holds; timestamp to date; text to
// integer) Open returns an error wrapping [redshiftsync.ErrResyncRequired]
// naming the column: the extractor logs a warning and resyncs the table in
// full (see Full resyncs), into a copy whose column has the new type, and
// the swap puts the new shape in place; an incremental table is incremental
// again afterwards. A column whose destination type is one the sink never
// creates (varchar(n), citext, json, a domain: changed by hand) keeps its
// type: rows are staged in the destination's own column types, so any type
// that accepts the text form below works. A text column made for a uuid by
// an earlier version, or for an interval without [WithNativeIntervals],
// stays text, which holds those values exactly.
//
// The primary key of an existing destination table must be the source's (the
// same columns, or none for both); otherwise Open fails with an error saying
// so, as upserts by another key would be wrong.
//
// # Tables it may write
//
// The sink writes into, replaces and drops only tables it created. Each table
// it creates is listed by oid in [RegistryTable] (public.redshiftsync_tables,
// in the schema of the state table), in the transaction that creates it; a
// resynced table's entry moves to the copy that replaces it. An existing
// table that the registry does not list is adopted (listed) when the saved
// state names its source table (a destination loaded before the registry
// existed; the extractor says so in [Sink.OpenState]), and otherwise
// refused: Open fails with [ErrNotOwned], naming
// the table and the INSERT that registers it on purpose. A table dropped and
// created again by someone else is a new oid, so it is refused too.
//
// The extractor tells the sink its source ([Sink.SetSource]) before any Open:
// a destination that is the source database itself (the same server
// identity and current_database(), loading into the source's schema) is
// refused with [redshiftsync.ErrDestinationIsSource] before any DDL.
//
// # Types
//
//	LogicalType       PostgreSQL type           value written
//	BOOLEAN           boolean
//	SHORT             smallint
//	INT               integer
//	LONG              bigint
//	DECIMAL           numeric(p,s), or numeric  the exact decimal text
//	                  when the source has no
//	                  precision
//	FLOAT             real                      the shortest text of the value
//	DOUBLE            double precision          (NaN, Infinity, -Infinity, -0 kept)
//	NAIVE_DATE        date                      BC and years past 9999 kept;
//	                                            'infinity' and '-infinity' kept
//	NAIVE_TIME        time                      the source text
//	TIME_TZ           timetz                    the source text, with its offset
//	NAIVE_DATETIME    timestamp                 the wall clock, microseconds
//	UTC_DATETIME      timestamptz               the instant, microseconds
//	INTERVAL          text (interval with       the source text
//	                  WithNativeIntervals)
//	BINARY            bytea                     the bytes
//	STRING            text; uuid for a uuid     the string (char padding kept)
//	                  source column
//	JSON              jsonb                     the JSON text
//
// INTERVAL is text by default because the interval text of a Redshift source
// is not known to parse as a PostgreSQL interval; from a PostgreSQL source it
// does, and [WithNativeIntervals] makes the column an interval. STRING is text
// whatever the source's length (so a varchar's length never needs widening),
// including the source types delivered as text (arrays, geometry, ...),
// except a uuid column, which is a uuid. JSON becomes jsonb, which PostgreSQL
// normalizes: key order and white space are its own, and of duplicate keys
// only the last is kept; a JSON string holding \u0000 cannot be stored in
// jsonb and fails the load.
//
// # Loading and merging
//
// [Sink.Write] loads rows with COPY, in a transaction of the table's own that
// stays open until the rows are flushed ([Sink.FlushState], or [Sink.Flush]),
// which commits it. Nothing a Write loads is visible before that commit.
//
//   - A table without a primary key is appended to: rows are COPYed straight
//     into it. A full sync of such a table (the usual plan for a table
//     without a key) is a resync, so the table is replaced whole on every
//     run (see below); an incremental sync of a keyless table (one with a
//     replication key, say updated_at) can only append: a row updated at the
//     source, a row whose key is NULL (read again by every incremental sync)
//     and a row at the bookmark (read again by the next sync) are then in
//     the table more than once. Give such tables a primary key, or sync them
//     in full.
//   - A table with a primary key is upserted. Rows are first COPYed straight
//     into the table, under a savepoint, which is the fastest load (a first
//     load, a resync copy, an append-only table). At the first key that
//     conflicts (with a row of the table, or of the load) that COPY is
//     rolled back to its savepoint, and from then on, for the rest of the
//     run, rows are COPYed into a temporary staging table, which the flush
//     merges with INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE SET every
//     column. When the rows of one flush hold a key more than once (a
//     Redshift primary key is not enforced, so the source may hold
//     duplicates), the row written last wins.
//
// A canceled context (a stopped run: SIGINT in examples/basic) does not
// cancel the sink's statements at once: each call of the sink runs on, for
// at most 10 seconds, so the batch being written and the flush that saves
// the last position complete. (lib/pq cancels a statement whose context is
// canceled, which aborts the transaction and with it every row written
// since the last flush.)
//
// A crash, a kill or a failed statement never leaves part of a flush visible:
// each flush is one transaction. After any error in Write or a flush, the
// rows written since the last successful flush are discarded and every later
// Write or flush of that table fails until the next [Sink.Open], so a state
// can never be saved for rows that were lost.
//
// # Exactly once
//
// Sink is a [redshiftsync.StateSink]: the extractor opens each table with
// [Sink.OpenState], telling it what the saved state records of the table,
// and calls [Sink.FlushState] at each checkpoint, which merges the staged
// rows AND upserts the state document into the state table (see
// [StateStore]) in one transaction. The document is stored as the
// extractor hands it over: where the rows go (the table, or the copy of a
// resync in progress) follows the [redshiftsync.TableView] given with it,
// never a reading of the document. After a crash
// the destination holds exactly the rows the saved state claims, so the
// resumed run neither misses a row nor applies one twice. The StateStore
// given to the extractor must read that document: pass [Sink.StateStore], or
// a [NewStateStore] with the same database, table and name.
//
// A row the extractor delivers again by design (the tie group at the bookmark
// of an incremental sync, read again by the next sync) is merged with
// ON CONFLICT ... DO UPDATE ... WHERE the row IS DISTINCT FROM the stored one,
// so an unchanged row is not written again; a row that changed at the source
// in between is written once more, with its new values. On a table without a
// primary key, rows are appended, and a re-delivered row appears again.
//
// Sink is a [redshiftsync.AttemptSink]: a streamed read (a table without a
// primary key, a chunk, a tie group, the rows with a NULL replication key)
// that fails part way on a transient source error is retried from its first
// row, and [Sink.BeginAttempt] and [Sink.UndoAttempt] roll the table's
// transaction back to a savepoint taken when the failed attempt began, so
// its rows are not committed twice.
//
// # Full resyncs
//
// Sink is a [redshiftsync.ResyncSink]. [Sink.BeginResync] creates a fresh
// copy of the table in the sink's own schema [ResyncSchema]
// (redshiftsync_resync, created by the first resync; create it beforehand
// if the loading role may not create schemas), named after the table and a
// hash of its schema and name, so that it can never take the name of a
// real table, with CREATE TABLE ... (LIKE table INCLUDING ALL); the rows of
// the resync go into that copy, while the table itself stays as it was. The
// flush that ends the resync swaps the copy in, in the same transaction as
// the last rows and the state: the table is dropped, the copy moved into
// its schema and renamed to its name, its primary key constraint renamed
// back, and the table's privileges (GRANTs) and comment carried over.
// Readers never see a half loaded table, and rows the resync did not see
// are gone. The copy and the state are always committed together, so a crash anywhere resumes the
// resync where its last checkpoint left it, and a crash just before the swap
// loses nothing and applies nothing twice. A resync resumed from a state
// that records no position (a keyless table, read in one stream) starts its
// copy over; so does a BeginResync called again.
//
// Versions before the table registry staged the copy as <table>__rs_resync
// in the table's own schema. A resync in progress when upgrading fails its
// first flush with an error saying to remove the table's entry from the
// state, which resyncs it from the start; drop the old copy by hand.
//
// A full resync replaces the table: what CREATE TABLE ... LIKE does not copy
// is not carried over: triggers, row security policies, publications and
// ownership changes. A view that depends on the table makes the swap fail
// (DROP TABLE without CASCADE); drop the view, or sync the table
// incrementally. Every swap takes an ACCESS EXCLUSIVE lock on the table for
// a moment, which waits for running queries on it.
//
// # Deletes
//
// Sink is a [redshiftsync.DeleteSink] and a [redshiftsync.KeyLister], so
// the extractor's delete detection (Config.DeleteDetection) can find the
// rows deleted at the source and tell the sink.
//
// Deletes are soft by default, Fivetran's convention: every table with a
// primary key has the column [DeletedColumn], _redshiftsync_deleted boolean
// NOT NULL DEFAULT false, which Open adds to the tables it creates and to
// existing ones (a constant default: no rewrite of the table); a deleted
// row stays, with the column true. Readers that want the live rows filter
// on NOT _redshiftsync_deleted. With [WithHardDeletes] the rows are
// DELETEd instead, and the column is not created. A source column of that
// name fails Open.
//
// [Sink.Delete] runs in the table's transaction, like Write: the next
// flush commits it, with the state in [Sink.FlushState] (exactly once: a
// crash before the flush loses the deletes together with the state that
// would have claimed them, and the resumed run detects them again). A row
// of a deleted key written again (the row came back at the source) is live
// again: the merge sets _redshiftsync_deleted to false, also when no other
// value changed.
//
// [Sink.ListKeys] lists the keys of a range with one query whose bounds are
// row comparisons on the key columns, ROW(k1, k2) >= ROW($1, $2), text-like
// key columns compared as text COLLATE "C" so the order is bytewise as
// [redshiftsync.KeyRange] documents, whatever the column's collation (a
// non-"C" collation then keeps the primary key's index from bounding the
// scan). Only live rows are listed. Rows written and not yet flushed are
// listed too: while the table's transaction is open the query runs in it
// (under a savepoint), where the rows COPYed into the table and those in
// the staging table are visible.
//
// In a full resync with delete detection, rows the resync did not deliver
// are no longer dropped silently when deletes are soft: the extractor's
// detection, which runs before the flush that swaps the copy in, lists the
// keys of the table and of the resync copy together, finds those the
// source lacks and calls Delete, which carries each such row from the table
// into the copy marked deleted; the swap keeps them. So does a resync
// resumed by a later run from the copy an earlier one left (killed during
// its detection). The sink learns that detection is on from those calls, so
// without detection a resync drops unseen live rows as before; with hard
// deletes too. Rows soft-deleted before the resync (not live, so neither
// delivered nor listed) are carried into the copy by the swap, still marked
// deleted (NULL in a column the resync narrowed: its old value may not fit):
// a deleted row stays deleted across resyncs.
//
// # Schema changes
//
// Sink is a [redshiftsync.SchemaSink]. Open already adds the columns a
// table lacks and widens those that can be widened (see Tables);
// [Sink.SchemaChanged] applies the change with the same helpers, so it
// finds nothing left to do for the table Open was given, and a narrowing
// is left to the full resync Open asked for. It fails, naming the table and
// the columns, only for a narrowing no resync was planned for. A dropped
// column is kept (NULL in rows inserted later; a row updated later keeps
// the value it had); a renamed column is a new column, the old one keeping
// the values of the rows loaded before.
//
// The sink does not rename a destination column, even when
// [redshiftsync.SchemaChange].Renamed reports a rename: a rename is a guess
// (a dropped and an added column of the same type at the same position),
// which a column dropped and another one added in the same change fit
// too, and renaming would then show the dropped column's values under the
// new column's name, as if the source had sent them. Keeping both loses
// nothing and moves nothing, and queries and views on the old name keep
// working. The rows loaded before hold their value under the old name
// until they are loaded again (a full resync of the table: remove its entry
// from the state); to move the history yourself, drop the new column and
// rename the old one in the destination before the next sync
// (TestRenamedColumnKept pins what the sink does).
//
// # Without FlushState
//
// Used through [Sink.WithoutState] (a [redshiftsync.Sink] without
// FlushState, with the state kept elsewhere), the sink is at-least-once:
// Flush commits the rows written since the last flush, and EndResync, which
// then follows a Flush, swaps the resync copy in at once. A row may then be
// applied twice after a crash, with the same values. Without the state in
// the destination, the sink cannot tell a resync copy left by an earlier run
// that is being resumed from one that was abandoned (the next run's plan is
// no longer a full sync): until a resync begins or ends, it merges the rows
// into both the copy and the table.
//
// # Connections and concurrency
//
// Calls for different tables may run concurrently, as the Sink contract
// allows; each table with staged rows holds one connection of the pool (its
// open transaction) from its first Write after a flush until the next flush,
// and Open uses one more for a moment; the run lock of the [StateStore]
// keeps one more for the whole run. Allow the pool at least
// MaxParallelWorkers+2 connections. Only one sync at a time may load a given
// destination table: two runs of one state (the same state table and name)
// cannot run at once, as the second fails with [redshiftsync.ErrLocked]
// (see [StateStore.Lock], which also says why a pooler in transaction mode
// breaks that lock); two states loading the same tables are not detected.
//
// That transaction is idle while the extractor reads the source, for up to a
// checkpoint interval: it switches idle_in_transaction_session_timeout off
// for itself, and, like any open transaction, it holds back VACUUM's horizon
// on the destination meanwhile. The rows it has loaded into the table but
// not committed hold their keys: another writer inserting one of those keys
// waits for the flush. It updates existing rows of the table, and so locks
// them, only in the flush, which commits at once.
package pgsink
