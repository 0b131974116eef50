// Package jsonlsink is a [redshiftsync.Sink] that writes the rows of each table
// to a JSON Lines file: one JSON object per line, one file per table.
//
// # File layout
//
// All files live in the directory given to [New]. The file of a table is
// named
//
//	<schema>.<table>.jsonl
//
// where schema and table are the source names made safe for a file system by
// [FileName]: the bytes of '/', '\', '%', control characters (C0, DEL and C1)
// and invalid UTF-8 are percent-encoded as %XX (upper-case hex); in the
// schema every '.' is encoded as %2E as well, so the first '.' of a file name
// always separates the schema from the table and two tables never share a
// file. Everything else, spaces, quotes and non-ASCII letters included, is
// kept as is, so "public"."orders" is in public.orders.jsonl and
// "my/schema"."a.b" in my%2Fschema.a.b.jsonl. A name whose file name would
// be longer than 255 bytes is shortened: its escaped form is cut and
// followed by "%-" and 32 hex digits of a SHA-256 hash of the full names
// ("%-" never comes out of escaping, so shortened names do not collide with
// others either).
//
// Files are only ever appended to (O_APPEND), across runs and across
// processes, one process at a time: the lines of a table are in the order
// the extractor delivered them, and the last line holding a primary key is
// the current state of that row.
//
// # One writer per directory
//
// [New] takes an exclusive lock on the directory (the file .jsonlsink.lock in
// it, see [LockFile]) and [Sink.Close] releases it, so two Sinks never write
// one directory at once: the second New, in this process or another, fails
// with a [redshiftsync.LockError] naming the holder's pid and host
// (errors.Is [redshiftsync.ErrLocked]), or waits for it with [WithLockWait].
// Without the lock, two writers would interleave their lines and each Open's
// torn-tail repair would cut the other's half-written line. The operating
// system releases the lock when its process ends, even by SIGKILL, so a
// crashed run never blocks the next. The lock is flock(2) on Unix and
// LockFileEx on Windows, and works across the hosts that share a network
// file system only as far as that file system's locks do; on systems with
// neither (Plan 9, WebAssembly, Solaris, AIX) there is no lock, and running
// two syncs into one directory at once is not safe there. Readers of the
// files need no lock: they see whole lines, up to a torn last line while a
// flush is under way.
//
// # Full resyncs and control lines
//
// A full resync of a table (see redshiftsync.Mode) appends every row of the
// table again. The sink is a [redshiftsync.ResyncSink]: [Sink.BeginResync]
// and [Sink.EndResync] delimit the rows of a resync with control lines, so a
// reader can find the latest complete copy of the table and see deletions:
//
//	{"_redshiftsync_resync":"begin","_redshiftsync_at":"2026-11-30T10:55:14.123456Z"}
//	{"id":1,"name":"a"}
//	{"id":2,"name":"b"}
//	{"_redshiftsync_resync":"end","_redshiftsync_at":"2026-11-30T10:55:20.654321Z"}
//
// A control line is a JSON object with at least one key whose keys all begin
// with "_redshiftsync_" ([ControlPrefix]; [IsControl] tells). A row is never
// one: its keys are all the table's column names, and [Sink.Open] refuses a
// table all of whose column names begin with that prefix (rename a column
// or exclude the table). A table with a column named "_redshiftsync_resync"
// and any other column is fine: its rows have the other column's key too.
// "_redshiftsync_at" is when the line was written (RFC 3339, UTC, for
// people); a reader needs only "_redshiftsync_resync". Later features write
// other control lines in the same style (other "_redshiftsync_" keys): a
// reader skips the control lines it does not know.
//
// To read the table as of its latest complete resync: find the last begin
// line that is followed by an end line; the rows between that begin and the
// first end after it are a complete copy of the table (at least once: a
// resync resumed after a crash may repeat rows, the last line of a primary
// key wins), and the rows after that end, from later incremental syncs,
// apply on top of it. Everything before that begin line is superseded. A
// begin line with no end after it is a resync under way or interrupted: a
// resumed resync goes on after it (a resync resumed after a crash is not
// begun again), and one that had to start over (a streamed read retried, a
// pass restarted in a new snapshot) wrote another begin line, after which
// its rows start again. The end line is flushed and fsynced before the
// extractor records the finished resync, so a crash never leaves a state
// that counts a resync whose end line was lost; a crash between the two
// may leave a second end line after the resumed resync, which changes
// nothing for such a reader. Tables synced incrementally (never resynced)
// have no control lines: their file is one copy, the last line of each
// primary key being the row's current state.
//
// # Deletes and the key index
//
// The sink is a [redshiftsync.DeleteSink]: [Sink.Delete] appends one
// tombstone line per key deleted at the source, the key columns (encoded
// as in a row) and "_redshiftsync_deleted":true ([DeletedKey]):
//
//	{"id":42,"_redshiftsync_deleted":true}
//
// so the last line of a primary key stays its current state: a deleted
// key's last line is its tombstone, until the row is written again. A
// tombstone is not a control line (it has the key columns); a reader that
// takes the last line per key drops the keys whose last line has
// "_redshiftsync_deleted":true. Tombstones are buffered and flushed like
// rows. A table with a column named "_redshiftsync_deleted" cannot take
// deletes (Delete and ListKeys fail, naming it).
//
// It is a [redshiftsync.KeyLister]: [Sink.ListKeys] lists the live keys of
// a range from the table's key index, the set of keys whose last line is a
// row. The index is built from the table file itself, which stays the one
// source of truth: the first ListKeys of a table in a process loads the
// index file <table file>.keys ([IndexExt]; public.orders.jsonl.keys) and
// reads the lines the file has beyond what the index covers; each later
// ListKeys writes the buffered lines to the file (without fsync) and reads
// the new lines, so unflushed rows and tombstones count. A table that no
// ListKeys touched in a run pays nothing: its index catches up next time.
//
// The index file is an append-only log of JSON lines, {"k":[…key…]} (live)
// and {"k":[…],"d":true} (deleted), each group ended by a commit record
// {"upto":N}: the index holds every line of the table file's first N bytes.
// It is appended and fsynced by [Sink.Flush] (and Close) after the table
// file's fsync, and only for lines read before it, so it never claims a
// key whose line is not durable; a crash before its append loses nothing,
// as the next load reads the table file from N on. Records after the last
// commit (a crash while appending) are cut off on load; an index covering
// more bytes than the table file holds (the file cut or replaced) is
// discarded and rebuilt from the file. When the log holds more than twice
// as many records as live keys (plus 1024), the flush replaces it,
// atomically, with one record per live key.
//
// Cost, measured with a million one-column integer keys (on a 2-core
// machine under a load of 20, so times are high): on disk about the key's
// JSON text plus 9 bytes per live key after compaction (14 bytes here),
// at most about twice that before. In memory, while the table is open and
// once it was listed, each live key is held as its JSON text and its
// decoded Go values, in a map and a sorted list: about 175 bytes per key
// (175 MB for a million), plus the text's length for text keys. ListKeys
// finds a range's first key by binary search in the sorted list and walks
// the range: 0.2-0.5 ms for a range at a million keys. The list is sorted
// again (CompareKeys, n log n) by the first listing after new keys were
// written, once per detection, as detection only deletes. Reading lines
// into the index scans each line's top level for the key columns without
// decoding the other values; a first listing of a table file with no index
// file reads the whole file once: 7 s of CPU for a million lines here,
// sort included.
//
// # Schema changes
//
// The sink is a [redshiftsync.SchemaSink]: when the extractor reports that
// a table's columns changed since its last sync, [Sink.SchemaChanged]
// replaces <schema>.<table>.schema.json ([SchemaFileName]) atomically with
// the table's current columns (name, source type, logical type, ...), its
// primary key and the change ([SchemaFile]). [Sink.Open] writes the file
// too, with an empty change, when it is missing or describes other columns
// (a table synced once and never changed has one), so the file always
// describes the columns of the lines written next. The lines already
// written keep their keys: a reader tells old rows from new by their keys.
//
// # Line format
//
// Every row line is one JSON object, terminated by '\n', whose keys are the
// column names in column order (as the table was at its Open) and whose
// values encode the row without loss:
//
//	LogicalType                 JSON value
//	SQL NULL (nil)              null
//	BOOLEAN                     true or false
//	SHORT, INT, LONG            number, exact ("-9223372036854775808")
//	DECIMAL                     string holding the exact decimal text
//	                            ("12345678901234567890123456789.123456789", "NaN")
//	FLOAT, DOUBLE               number in the shortest form that reads back to the
//	                            same float64 ("0.1", "1e+21", "5e-324", "-0");
//	                            NaN, +Inf and -Inf as the strings "NaN",
//	                            "Infinity" and "-Infinity"
//	NAIVE_DATE                  string "2024-01-31"
//	NAIVE_DATETIME              string "2024-01-31T13:45:01.123456": the wall clock,
//	                            no zone, always exactly six fractional digits
//	UTC_DATETIME                string "2024-01-31T13:45:01.123456Z": RFC 3339 in
//	                            UTC, always exactly six fractional digits
//	NAIVE_TIME, TIME_TZ         string, the source text ("13:45:01.5", "13:45:01+02")
//	INTERVAL                    string, the ISO 8601 text the extractor delivers
//	STRING                      string
//	BINARY                      string, the bytes in standard base64 with padding
//	                            (RFC 4648 §4); an empty value is ""
//	JSON                        the JSON value itself, not a string
//
// Dates and timestamps whose year is outside 0001..9999 use ISO 8601
// expanded years: a sign and at least four digits, with astronomical year
// numbering, in which 1 BC is year +0000, 2 BC is -0001 and 44 BC is -0043
// ("-0043-03-15", "+0000-12-31", "+294276-12-31"). A date or timestamp that
// is infinite arrives as the string "infinity" or "-infinity" and is written
// as that string. Fractions finer than a microsecond (which the sources do
// not have) are truncated.
//
// A JSON value is written as the JSON text the source delivered, made
// compact only when it spans lines (so that it fits on one line; numbers,
// key order and duplicate keys are kept as they are). Note that a JSON column
// holding the JSON value null and a JSON column that is SQL NULL both come
// out as null: the two are not told apart in this format. A JSON value that
// is not valid JSON (which the sources never deliver) is written as a JSON
// string holding its text. Invalid UTF-8 inside a JSON value is replaced by
// U+FFFD.
//
// Strings are written as JSON strings that are valid UTF-8 whatever the
// input: '"', '\', control characters, U+2028 and U+2029 are escaped, and
// each byte of invalid UTF-8 becomes the escape \ufffd (U+FFFD, the Unicode
// replacement character), so such a string does not read back to the same
// bytes. PostgreSQL and Redshift text is always valid UTF-8 in a UTF-8
// database.
//
// # Durability and crashes
//
// Write checks a batch's values and copies them (not the text they point
// to, which the extractor never reuses) for the table's encoder goroutine,
// which encodes them into a buffer in memory while the extractor reads on;
// one batch at a time waits for it (Write waits for it beyond that), and a
// batch holding more than 4 MiB of text is encoded before Write returns, so
// wide rows are not kept alive longer. The table's writer goroutine writes
// a full buffer (256 KiB) to the file while the encoder fills the next, so
// the file's writes overlap the reading too. Two buffers per table, never
// more. [Sink.Flush] waits for the encoder, hands over the rest, waits for
// the writer and then fsyncs the file, which is what lets the extractor
// save its checkpoint; on Linux the writer asks the kernel to start writing
// back every 4 MiB it writes (sync_file_range), so that fsync has less
// left to do. A failed write of a goroutine is returned by the table's
// next Write, Flush or Close, so it is never lost. A new file's directory
// is fsynced too, so the file survives a crash. Close ends every goroutine,
// also after a failed write.
//
// A crash (or a failed write) can leave the last line of a file half
// written. The first Open of a table in a process (and every later Open of
// it, which starts a new run) cuts such a torn tail off: the file is
// truncated to just after its last '\n', so files hold only whole lines.
// Nothing is lost by that: a tail that was never flushed was never
// checkpointed, so the extractor reads those rows again. For the same reason
// a later Open of a table in the same process discards the lines its previous
// run buffered but never flushed.
//
// # Retried reads
//
// The sink is at-least-once for a read that is retried: it does not
// implement [redshiftsync.AttemptSink], so when a streamed read (a table
// without a primary key, a chunk, a tie group) fails part way on a transient
// source error and is retried from its first row, the lines of the failed
// attempt stay in the file and those rows appear twice. A reader that takes
// the last line of each primary key is unaffected; for a table without a
// key, the file may hold such a row once more.
package jsonlsink
