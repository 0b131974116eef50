package pgsink

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/redact"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// Sink loads tables into a PostgreSQL database; see the package
// documentation for what it creates, how it merges and what survives a
// crash.
//
// Open, Write, Flush, FlushState, BeginResync and EndResync follow the
// [redshiftsync.Sink] contract: calls for one table come from one goroutine
// at a time, calls for different tables may be concurrent. Close must not
// run concurrently with the other methods.
type Sink struct {
	db    *sql.DB
	owned bool // opened by Open, closed by Close
	opts  options
	state *StateStore

	mu                sync.Mutex // guards tables, closed and the flags below
	tables            map[tableKey]*tableSink
	closed            bool
	resyncSchemaReady bool // ResyncSchema exists
	registryReady     bool // the registry of tables exists
}

var (
	_ redshiftsync.Sink        = (*Sink)(nil)
	_ redshiftsync.ResyncSink  = (*Sink)(nil)
	_ redshiftsync.StateSink   = (*Sink)(nil)
	_ redshiftsync.AttemptSink = (*Sink)(nil)
)

// tableKey identifies a source table across the calls for it.
type tableKey struct{ schema, name string }

// options are what the Options set.
type options struct {
	schema          string // destination schema; "" for the source's
	stateSchema     string
	stateTable      string
	stateName       string
	nativeIntervals bool
}

func defaultOptions() options {
	return options{stateSchema: DefaultStateSchema, stateTable: DefaultStateTable, stateName: DefaultStateName}
}

// An Option configures a Sink (and, for WithStateName and WithStateTable, a
// StateStore).
type Option func(*options)

// WithSchema loads every table into the destination schema name, instead of
// the schema of the same name as the source's.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithStateTable sets the schema and name of the state table (default
// public.redshiftsync_state).
func WithStateTable(schema, table string) Option {
	return func(o *options) { o.stateSchema, o.stateTable = schema, table }
}

// WithStateName sets the key of the sink's row in the state table (default
// "default"). Give each sync that shares a destination database its own
// name, such as "<source database>/<schema>".
func WithStateName(name string) Option {
	return func(o *options) { o.stateName = name }
}

// WithNativeIntervals creates INTERVAL columns as interval instead of text.
// Use it when the source is PostgreSQL, whose interval text PostgreSQL reads
// back; it only affects columns the sink creates.
func WithNativeIntervals() Option {
	return func(o *options) { o.nativeIntervals = true }
}

// New returns a Sink that loads into db, which it never closes. Nothing is
// created in the database until the first Open (or Save).
func New(db *sql.DB, opts ...Option) (*Sink, error) {
	if db == nil {
		return nil, errors.New("pgsink: New: db is nil")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validateState(); err != nil {
		return nil, err
	}
	return &Sink{db: db, opts: o, state: newStateStore(db, o), tables: map[tableKey]*tableSink{}}, nil
}

// Open connects to the database at dsn (a postgres:// URL or a libpq
// key=value string) with lib/pq, checks the connection, and returns a Sink
// that loads into it. Close closes the connections. Its errors never hold
// the password of dsn: a malformed URL is described, not quoted.
func Open(dsn string, opts ...Option) (*Sink, error) {
	s, err := open(dsn, opts...)
	return s, redact.Error(err, dsn)
}

func open(dsn string, opts ...Option) (*Sink, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsink: %w", err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgsink: connect to the destination: %w", err)
	}
	s, err := New(db, opts...)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// DB returns the sink's database.
func (s *Sink) DB() *sql.DB { return s.db }

// StateStore returns the store of the state document that FlushState
// writes: give it to the extractor with this sink.
func (s *Sink) StateStore() *StateStore { return s.state }

// Close rolls back what is staged and not flushed, and closes the database
// when the sink opened it. Calling it again does nothing.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for _, ts := range s.tables {
		ts.rollback()
	}
	s.tables = nil
	if s.owned {
		return s.db.Close()
	}
	return nil
}

var errClosed = errors.New("pgsink: sink is closed")

// tableSink is the sink's state for one table. It is used by one goroutine
// at a time (the one calling for that table).
type tableSink struct {
	s    *Sink
	name string // "schema.table" of the source: the table's key in the state

	schema, table string // destination, unquoted
	qTarget       string // destination, quoted
	resync        string // name of the resync copy in ResyncSchema, unquoted
	qResync       string
	cols          []string
	pk            []string
	enc           []encoder
	stageSQL      string // CREATE TEMP TABLE of the staging table
	copySQL       string
	mergeSQL      func(dest string, kind mergeKind) string
	tryInsert     bool // merge with a plain INSERT first (see merge)

	tx     *sql.Tx // open while rows are staged or a resync copy is being created
	staged bool    // the staging table exists in tx
	rows   int64   // rows staged in tx
	seq    int64
	args   []any

	resyncExists bool // the resync copy exists (committed, or created in tx)
	resyncBegun  bool // BeginResync was called since Open
	endCalled    bool // EndResync was called since Open
	plain        bool // the last flush was Flush, not FlushState
	broken       error
	attempt      attemptMark       // where the last BeginAttempt left the transaction
	reshape      map[string]string // column: the source's type, for the columns a resync must reshape (see followTypes)
}

// Open creates the destination schema and table of table when they do not
// exist, adds the columns the table lacks (to a resync copy in progress as
// well), and checks that its primary key is the source's. Opening a table
// again (on a later run with the same sink) discards what was staged and not
// flushed.
func (s *Sink) Open(ctx context.Context, table *redshiftsync.Table) error {
	if table == nil {
		return errors.New("pgsink: Open: nil table")
	}
	if table.Schema == "" || table.Name == "" {
		return fmt.Errorf("pgsink: Open: table %q: empty schema or table name", table.QualifiedName())
	}
	if len(table.Columns) == 0 {
		return fmt.Errorf("pgsink: Open: table %s has no columns", table.QualifiedName())
	}
	key := tableKey{table.Schema, table.Name}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	if old := s.tables[key]; old != nil {
		old.rollback()
		delete(s.tables, key)
	}
	s.mu.Unlock()

	ts, err := s.openTable(ctx, table)
	if err != nil && ts == nil {
		return fmt.Errorf("pgsink: table %s: %w", table.QualifiedName(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.tables[key] = ts
	if err != nil { // ErrResyncRequired: the table is open, for the resync
		return fmt.Errorf("pgsink: table %s: %w", table.QualifiedName(), err)
	}
	return nil
}

func (s *Sink) openTable(ctx context.Context, t *redshiftsync.Table) (*tableSink, error) {
	ts := &tableSink{s: s, name: t.QualifiedName(), schema: t.Schema, table: t.Name, pk: t.PrimaryKey}
	if s.opts.schema != "" {
		ts.schema = s.opts.schema
	}
	ts.qTarget = sqlident.Qualified(ts.schema, ts.table)
	if ts.schema == ResyncSchema {
		return nil, fmt.Errorf("the destination schema %s holds pgsink's resync copies: load into another one (pgsink.WithSchema)", ResyncSchema)
	}
	ts.resync = resyncName(ts.schema, ts.table)
	ts.qResync = sqlident.Qualified(ResyncSchema, ts.resync)
	for _, c := range t.Columns {
		ts.cols = append(ts.cols, c.Name)
		ts.enc = append(ts.enc, encoderFor(c))
	}
	for _, k := range t.PrimaryKey {
		if !containsString(ts.cols, k) {
			return nil, fmt.Errorf("primary key column %q is not a column of the table", k)
		}
	}

	// The committed state says whether a resync of the table is under way
	// (see truncate below).
	var entry *redshiftsync.TableState
	if doc, err := s.state.load(ctx, s.db); err != nil {
		return nil, err
	} else if doc != nil {
		entry = tableEntry(doc, ts.name)
	}

	if err := s.ensureRegistry(ctx); err != nil {
		return nil, fmt.Errorf("table registry %s: %w", s.qRegistry(), err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := lockDDL(ctx, tx); err != nil {
		return nil, err
	}
	if err := ensureSchema(ctx, tx, ts.schema); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", sqlident.Quote(ts.schema), err)
	}
	exists, err := tableExists(ctx, tx, ts.schema, ts.table)
	if err != nil {
		return nil, err
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, createTableSQL(ts.qTarget, t, s.opts.nativeIntervals)); err != nil {
			return nil, fmt.Errorf("create table %s: %w", ts.qTarget, err)
		}
		if err := s.register(ctx, tx, ts.schema, ts.table); err != nil {
			return nil, err
		}
	} else if err := s.claim(ctx, tx, ts.schema, ts.table, entry != nil); err != nil {
		return nil, err
	} else if err := addMissingColumns(ctx, tx, ts.schema, ts.table, t, s.opts.nativeIntervals); err != nil {
		return nil, fmt.Errorf("table %s: %w", ts.qTarget, err)
	}
	destPK, err := primaryKey(ctx, tx, ts.schema, ts.table)
	if err != nil {
		return nil, err
	}
	if !sameSet(destPK, t.PrimaryKey) {
		return nil, fmt.Errorf("the destination table %s has primary key (%s), the source (%s): "+
			"rows cannot be merged by another key; drop the destination table (it is created again) or give it the source's key",
			ts.qTarget, strings.Join(destPK, ", "), strings.Join(t.PrimaryKey, ", "))
	}
	if ts.resyncExists, err = tableExists(ctx, tx, ResyncSchema, ts.resync); err != nil {
		return nil, err
	}
	if ts.resyncExists {
		if err := addMissingColumns(ctx, tx, ResyncSchema, ts.resync, t, s.opts.nativeIntervals); err != nil {
			return nil, fmt.Errorf("table %s: %w", ts.qResync, err)
		}
		// A resync whose saved progress has no position starts over from
		// the first row (a table read in one stream, without an order, has
		// no position): what its copy holds will all be delivered again.
		if entry != nil && entry.InProgress != nil && entry.InProgress.Resync && !hasPosition(entry.InProgress) {
			if _, err := tx.ExecContext(ctx, "TRUNCATE "+ts.qResync); err != nil {
				return nil, err
			}
		}
	}
	inResync := ts.resyncExists && entry != nil && entry.InProgress != nil && entry.InProgress.Resync
	reshape := ts.followTypes(ctx, tx, t, inResync)
	if reshape != nil && !errors.Is(reshape, redshiftsync.ErrResyncRequired) {
		return nil, reshape
	}
	// Rows are staged in the types of the table they go into.
	stageSchema, stageFrom := ts.schema, ts.table
	if inResync {
		stageSchema, stageFrom = ResyncSchema, ts.resync
	}
	names, types, err := columnTypes(ctx, tx, stageSchema, stageFrom)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	// The staging table holds the source's columns in the destination's own
	// types, and the order rows were written in.
	seqCol := uniqueColumn("redshiftsync_seq", ts.cols)
	var defs []string
	for _, c := range ts.cols {
		i := indexString(names, c)
		if i < 0 {
			return nil, fmt.Errorf("column %q is missing from %s", c, ts.qTarget)
		}
		defs = append(defs, sqlident.Quote(c)+" "+ts.stageType(c, types[i]))
	}
	defs = append(defs, sqlident.Quote(seqCol)+" bigint")
	ts.stageSQL = "CREATE TEMPORARY TABLE " + stageTable + " (" + strings.Join(defs, ", ") + ") ON COMMIT DROP"
	ts.copySQL = "COPY " + qStage + " (" + sqlident.List(append(append([]string(nil), ts.cols...), seqCol)) + ") FROM STDIN"
	ts.mergeSQL = mergeSQL(ts.cols, ts.pk, seqCol)
	ts.args = make([]any, len(ts.cols)+1)
	ts.tryInsert = true
	return ts, reshape // nil, or ErrResyncRequired
}

// The staging table, a temporary table of the transaction.
const (
	stageTable = "redshiftsync_stage"
	qStage     = "pg_temp." + stageTable
)

// How mergeSQL merges.
type mergeKind int

const (
	mergeAppend mergeKind = iota // INSERT
	mergeUpsert                  // INSERT ... ON CONFLICT (key) DO UPDATE
	mergeDedupe                  // the upsert of the last row of each key
)

// mergeSQL returns the function that writes the statement merging the
// staging table into a destination table dest, in one of the kinds above.
// A table without a primary key is always appended to; one whose columns are
// all key columns is upserted with DO NOTHING.
func mergeSQL(cols, pk []string, seqCol string) func(dest string, kind mergeKind) string {
	list := sqlident.List(cols)
	appendSQL := func(dest string) string {
		return "INSERT INTO " + dest + " (" + list + ") SELECT " + list + " FROM " + qStage + " ORDER BY " + sqlident.Quote(seqCol)
	}
	if len(pk) == 0 {
		return func(dest string, _ mergeKind) string { return appendSQL(dest) }
	}
	keys := sqlident.List(pk)
	var sets, mine, theirs []string
	for _, c := range cols {
		if !containsString(pk, c) {
			q := sqlident.Quote(c)
			sets = append(sets, q+" = EXCLUDED."+q)
			mine, theirs = append(mine, "d."+q), append(theirs, "EXCLUDED."+q)
		}
	}
	conflict := " ON CONFLICT (" + keys + ") DO NOTHING"
	if len(sets) > 0 {
		// A row delivered again unchanged (the tie group at a bookmark is
		// read again by design) is not written again: it stays applied once.
		conflict = " ON CONFLICT (" + keys + ") DO UPDATE SET " + strings.Join(sets, ", ") +
			" WHERE ROW(" + strings.Join(mine, ", ") + ") IS DISTINCT FROM ROW(" + strings.Join(theirs, ", ") + ")"
	}
	return func(dest string, kind mergeKind) string {
		switch kind {
		case mergeAppend:
			return appendSQL(dest)
		case mergeDedupe:
			return "INSERT INTO " + dest + " AS d (" + list + ") SELECT DISTINCT ON (" + keys + ") " + list +
				" FROM " + qStage + " ORDER BY " + keys + ", " + sqlident.Quote(seqCol) + " DESC" + conflict
		}
		return "INSERT INTO " + dest + " AS d (" + list + ") SELECT " + list + " FROM " + qStage + conflict
	}
}

// hasPosition reports whether p records where its read stands: a resumed
// read starts there, not from the first row.
func hasPosition(p *redshiftsync.Progress) bool {
	if p.After != nil {
		return true
	}
	for _, part := range p.Partitions {
		if part.After != nil || part.Done {
			return true
		}
	}
	return false
}

// tableEntry returns the state of table name in the state document doc, nil
// when doc does not have it or cannot be read.
func tableEntry(doc []byte, name string) *redshiftsync.TableState {
	var st struct {
		Tables map[string]*redshiftsync.TableState `json:"tables"`
	}
	if json.Unmarshal(doc, &st) != nil {
		return nil
	}
	return st.Tables[name]
}

// table returns the open table of t.
func (s *Sink) table(t *redshiftsync.Table, op string) (*tableSink, error) {
	if t == nil {
		return nil, fmt.Errorf("pgsink: %s: nil table", op)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	ts := s.tables[tableKey{t.Schema, t.Name}]
	if ts == nil {
		return nil, fmt.Errorf("pgsink: %s: table %s was not opened", op, t.QualifiedName())
	}
	if ts.broken != nil {
		return nil, fmt.Errorf("pgsink: %s: table %s: an earlier step failed, its unflushed rows were discarded; open the table again: %w", op, ts.name, ts.broken)
	}
	return ts, nil
}

// fail discards the table's transaction after err, and keeps the table from
// flushing until it is opened again.
func (ts *tableSink) fail(step string, err error) error {
	ts.rollback()
	ts.broken = err
	return fmt.Errorf("pgsink: table %s: %s: %w", ts.name, step, err)
}

// rollback ends the table's transaction, if any, discarding what it staged.
func (ts *tableSink) rollback() {
	if ts.tx != nil {
		_ = ts.tx.Rollback()
	}
	ts.tx, ts.staged, ts.rows = nil, false, 0
}

// begin opens the table's transaction unless it is open. The transaction
// outlives the call's ctx (it lasts until the next flush), so it is not
// bound to it; each statement is. It is idle while the extractor reads the
// source, by design: a server's idle_in_transaction_session_timeout would
// end it (and fail the table), so it is switched off for the transaction.
func (ts *tableSink) begin(ctx context.Context) error {
	if ts.tx != nil {
		return nil
	}
	tx, err := ts.s.db.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL idle_in_transaction_session_timeout TO 0"); err != nil {
		tx.Rollback()
		return err
	}
	ts.tx = tx
	return nil
}

// Write loads the rows of batch with COPY, in the table's transaction, which
// stays open until the next flush: straight into the table they belong in
// (the table, or the copy of a resync begun in this run) while that is
// known and no key has conflicted in this run, else into the staging table
// that the flush merges. A value of a Go type that the column's logical type
// does not use fails the Write with an error naming the column; so does any
// error of the database. After an error, the rows written since the last
// flush are discarded, and the table's Writes and flushes fail until it is
// opened again. A canceled ctx does not fail it: the batch is loaded (within
// a grace period; see the package documentation), as is every call of the
// sink, so that a stopped run can still save what was written.
func (s *Sink) Write(ctx context.Context, batch redshiftsync.Batch) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(batch.Table, "Write")
	if err != nil {
		return err
	}
	if len(batch.Rows) == 0 {
		return nil
	}
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	if dest, known := ts.writeDest(); known && (len(ts.pk) == 0 || ts.tryInsert) {
		loaded, err := ts.copyDirect(ctx, dest, batch.Rows)
		if err != nil {
			return ts.fail("copy", err)
		}
		if loaded {
			return nil
		}
	}
	if !ts.staged {
		if _, err := ts.tx.ExecContext(ctx, ts.stageSQL); err != nil {
			return ts.fail("create staging table", err)
		}
		ts.staged = true
	}
	if step, err := ts.copy(ctx, ts.copySQL, batch.Rows, true); err != nil {
		return ts.fail(step, err)
	}
	ts.rows += int64(len(batch.Rows))
	return nil
}

// writeDest returns where the rows of a Write belong when that is known
// before the flush: the resync copy once BeginResync was called, the table
// when there is no copy. With a copy left by an earlier run, the flush's
// state document decides (see FlushState), so rows are staged.
func (ts *tableSink) writeDest() (dest string, known bool) {
	switch {
	case ts.resyncBegun:
		return ts.qResync, true
	case !ts.resyncExists:
		return ts.qTarget, true
	}
	return "", false
}

// copyDirect COPYs rows straight into dest. For a table with a primary key
// it does so under a savepoint: when a key conflicts (with a row of dest, or
// of this COPY), the COPY is undone, loaded is false, and the table's rows
// are staged and upserted from then on.
func (ts *tableSink) copyDirect(ctx context.Context, dest string, rows [][]any) (loaded bool, err error) {
	q := "COPY " + dest + " (" + sqlident.List(ts.cols) + ") FROM STDIN"
	if len(ts.pk) == 0 {
		_, err := ts.copy(ctx, q, rows, false)
		return err == nil, err
	}
	if _, err := ts.tx.ExecContext(ctx, "SAVEPOINT redshiftsync_copy"); err != nil {
		return false, err
	}
	if _, err := ts.copy(ctx, q, rows, false); err != nil {
		if !isCode(err, "23505") { // unique_violation
			return false, err
		}
		ts.tryInsert = false
		_, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_copy")
		return false, err
	}
	return true, nil
}

// copy runs the COPY statement q with rows, adding the staging table's
// sequence number to each when seq is set. On error, it also returns the
// step that failed.
func (ts *tableSink) copy(ctx context.Context, q string, rows [][]any, seq bool) (string, error) {
	stmt, err := ts.tx.PrepareContext(ctx, q)
	if err != nil {
		return "copy", err
	}
	step, err := ts.copyRows(ctx, stmt, rows, seq)
	// The COPY must end before anything else can run in the transaction.
	if cerr := stmt.Close(); err == nil && cerr != nil {
		step, err = "copy", cerr
	}
	return step, err
}

// copyRows sends rows to the COPY statement stmt and ends it. On error, it
// also returns the step that failed.
func (ts *tableSink) copyRows(ctx context.Context, stmt *sql.Stmt, rows [][]any, seq bool) (string, error) {
	defer clear(ts.args)
	n := len(ts.cols)
	args := ts.args[:n]
	if seq {
		args = ts.args[:n+1]
	}
	for _, row := range rows {
		if len(row) != n {
			return "write", fmt.Errorf("a row has %d values, the table %d columns", len(row), n)
		}
		for i, v := range row {
			a, err := ts.enc[i](v)
			if err != nil {
				return "write", fmt.Errorf("column %q: %w", ts.cols[i], err)
			}
			args[i] = a
		}
		if seq {
			ts.seq++
			args[n] = ts.seq
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return "copy", err
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return "copy", err
	}
	return "", nil
}

// Flush commits the rows written since the last flush, merging those
// staged into the table (or into the resync copy, in a resync; or into both,
// for a copy left by an earlier run, see the package documentation),
// without a state: for use as a plain Sink, when the state is kept
// elsewhere (at-least-once). After EndResync it also swaps the resync copy
// in.
func (s *Sink) Flush(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "Flush")
	if err != nil {
		return err
	}
	ts.plain = true
	if ts.tx == nil && !ts.endCalled {
		return nil
	}
	dests := []string{ts.qTarget}
	switch {
	case ts.resyncBegun || ts.resyncExists && ts.endCalled:
		dests = []string{ts.qResync}
	case ts.resyncExists:
		// A copy left by an earlier run, and no state to say whether its
		// resync is being resumed or was abandoned: the rows go into both,
		// so they are right either way (a resumed resync swaps the copy in
		// at its end; an abandoned copy is replaced by the next resync).
		dests = []string{ts.qResync, ts.qTarget}
	}
	return ts.commit(ctx, dests, ts.endCalled && ts.resyncExists, false, nil)
}

// FlushState commits the rows written since the last flush together with
// doc, which it saves in the state table: one transaction, so either both
// are committed or neither is. Staged rows are merged first.
//
// Where staged rows go follows doc's entry for table: while it records a
// resync in progress, into the resync copy; when it records the table's
// sync finished after EndResync, into the resync copy, which is then swapped
// in, in the same transaction; otherwise into the table itself, and a resync
// copy left by an abandoned resync is dropped. A doc that contradicts the
// calls (a resync in progress without a copy, BeginResync or EndResync
// without the state to match) fails the flush.
func (s *Sink) FlushState(ctx context.Context, table *redshiftsync.Table, doc []byte) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "FlushState")
	if err != nil {
		return err
	}
	ts.plain = false
	var inResync, finishing bool
	if entry := tableEntry(doc, ts.name); entry != nil {
		inResync = entry.InProgress != nil && entry.InProgress.Resync
		finishing = entry.InProgress == nil && ts.endCalled
	} else { // not a state document this version knows: go by the calls
		inResync = ts.resyncExists && !ts.endCalled
		finishing = ts.resyncExists && ts.endCalled
	}
	switch {
	case (inResync || finishing) && !ts.resyncExists:
		return ts.fail("flush", fmt.Errorf("the state records a resync of the table in progress, but its copy %s does not exist, "+
			"so the rows it held are gone: remove the table's entry from the state (or the whole state) to sync it again", ts.qResync))
	case !inResync && !finishing && ts.resyncBegun:
		return ts.fail("flush", errors.New("BeginResync was called, but the state records no resync in progress"))
	case ts.endCalled && !finishing:
		return ts.fail("flush", errors.New("EndResync was called, but the state does not record the table's sync finished"))
	}
	if err := s.state.ensureTable(ctx); err != nil {
		return ts.fail("flush", err)
	}
	dest, swap, drop := ts.qTarget, false, false
	switch {
	case inResync:
		dest = ts.qResync
	case finishing:
		dest, swap = ts.qResync, true
	default:
		drop = ts.resyncExists
	}
	return ts.commit(ctx, []string{dest}, swap, drop, doc)
}

// commit merges the staged rows into each of dests, swaps the resync copy in
// (swap) or drops it (drop), saves doc when it is not nil, and commits.
func (ts *tableSink) commit(ctx context.Context, dests []string, swap, drop bool, doc []byte) error {
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	for _, dest := range dests {
		if ts.rows == 0 {
			break
		}
		if err := ts.merge(ctx, dest); err != nil {
			return ts.fail("merge", err)
		}
	}
	if swap {
		if err := ts.swap(ctx); err != nil {
			return ts.fail("swap in the resynced table", err)
		}
	}
	if drop {
		if _, err := ts.tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+ts.qResync); err != nil {
			return ts.fail("drop the copy of an abandoned resync", err)
		}
	}
	if doc != nil {
		if err := ts.s.state.save(ctx, ts.tx, doc); err != nil {
			return ts.fail("save state", err)
		}
	}
	err := ts.tx.Commit()
	ts.tx, ts.staged, ts.rows = nil, false, 0
	if err != nil {
		ts.broken = err
		return fmt.Errorf("pgsink: table %s: commit: %w", ts.name, err)
	}
	if swap || drop {
		ts.resyncExists, ts.resyncBegun, ts.endCalled = false, false, false
	}
	return nil
}

// merge moves the staged rows into dest. A table with a primary key is
// first tried with a plain INSERT, about twice as fast as the upsert, while
// it succeeds (a first load, a resync copy, an append-only table); once a
// key conflicts, the table is upserted for the rest of the run. A flush that
// holds a key more than once (which the upsert refuses) is merged again
// taking each key's last row.
func (ts *tableSink) merge(ctx context.Context, dest string) error {
	if len(ts.pk) == 0 {
		_, err := ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeAppend))
		return err
	}
	if _, err := ts.tx.ExecContext(ctx, "SAVEPOINT redshiftsync_merge"); err != nil {
		return err
	}
	if ts.tryInsert {
		_, err := ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeAppend))
		if !isCode(err, "23505") { // unique_violation
			return err
		}
		ts.tryInsert = false
		if _, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_merge"); err != nil {
			return err
		}
	}
	_, err := ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeUpsert))
	if !isCode(err, "21000") { // cardinality_violation: ON CONFLICT DO UPDATE command cannot affect row a second time
		return err
	}
	if _, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_merge"); err != nil {
		return err
	}
	_, err = ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeDedupe))
	return err
}

// isCode reports whether err is a server error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && string(pqErr.Code) == code
}

// BeginResync creates the resync copy of the table, empty, in the table's
// transaction (replacing a copy left by an abandoned resync): it is
// committed with the first flush of the resync, together with the state
// that records the resync. The table itself is left as it is until the
// resync ends. Called again, it starts the copy over: the rows written
// since the last flush are discarded, and the copy is empty again.
func (s *Sink) BeginResync(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "BeginResync")
	if err != nil {
		return err
	}
	if err := s.ensureResyncSchema(ctx); err != nil {
		return ts.fail("begin resync", err)
	}
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	stmts := []string{
		"DROP TABLE IF EXISTS " + ts.qResync,
		"CREATE TABLE " + ts.qResync + " (LIKE " + ts.qTarget + " INCLUDING ALL)",
	}
	if ts.staged {
		stmts = append(stmts, "TRUNCATE "+qStage)
	}
	for _, stmt := range stmts {
		if _, err := ts.tx.ExecContext(ctx, stmt); err != nil {
			return ts.fail("begin resync", err)
		}
	}
	if err := ts.reshapeCopy(ctx); err != nil {
		return ts.fail("begin resync", err)
	}
	ts.rows = 0
	ts.resyncExists, ts.resyncBegun, ts.endCalled = true, true, false
	ts.tryInsert = true
	return nil
}

// EndResync ends the resync of the table. When the table's rows are flushed
// with FlushState, it only records that the resync ended: the FlushState
// that follows swaps the copy in, in the transaction that saves the state
// recording the finished resync. When they are flushed with Flush (the last
// flush of the table was Flush), it swaps the copy in at once.
func (s *Sink) EndResync(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "EndResync")
	if err != nil {
		return err
	}
	if !ts.plain {
		if !ts.resyncExists {
			return ts.fail("end resync", fmt.Errorf("no resync in progress: its copy %s does not exist; "+
				"remove the table's entry from the state (or the whole state) to sync it again", ts.qResync))
		}
		ts.endCalled = true
		return nil
	}
	if !ts.resyncExists {
		// Resumed after a crash that followed the swap: the rows since
		// went into the table itself.
		return nil
	}
	ts.endCalled = true
	return ts.commit(ctx, []string{ts.qResync}, true, false, nil)
}

// swap replaces the table with its resync copy in the table's transaction,
// keeping the name of its primary key constraint, its privileges and its
// comment.
func (ts *tableSink) swap(ctx context.Context) error {
	tx := ts.tx
	var pkName sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, ts.qTarget).Scan(&pkName)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var comment sql.NullString
	var oldOID int64
	if err := tx.QueryRowContext(ctx, `SELECT pg_catalog.obj_description($1::regclass, 'pg_class'), $1::regclass::oid`, ts.qTarget).Scan(&comment, &oldOID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
       a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`, ts.qTarget)
	if err != nil {
		return err
	}
	var grants []string
	for rows.Next() {
		var grantee, priv string
		var grantable bool
		if err := rows.Scan(&grantee, &priv, &grantable); err != nil {
			rows.Close()
			return err
		}
		g := "GRANT " + priv + " ON TABLE " + ts.qTarget + " TO " + grantee
		if grantable {
			g += " WITH GRANT OPTION"
		}
		grants = append(grants, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// The copy keeps its name (which ends in a hash of the table's schema
	// and name) until it is renamed: a table of that very name in the
	// table's schema fails the swap, it is never replaced.
	stmts := []string{
		"DROP TABLE " + ts.qTarget,
		"ALTER TABLE " + ts.qResync + " SET SCHEMA " + sqlident.Quote(ts.schema),
		"ALTER TABLE " + sqlident.Qualified(ts.schema, ts.resync) + " RENAME TO " + sqlident.Quote(ts.table),
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			var pqErr *pq.Error
			if errors.As(err, &pqErr) && pqErr.Code == "2BP01" {
				return fmt.Errorf("%w (a full resync replaces the table: drop what depends on it, or sync the table incrementally)", err)
			}
			return err
		}
	}
	if err := ts.s.reregister(ctx, tx, oldOID, ts.schema, ts.table); err != nil {
		return err
	}
	if pkName.Valid {
		var newName string
		err := tx.QueryRowContext(ctx, `SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, ts.qTarget).Scan(&newName)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if newName != "" && newName != pkName.String {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE "+ts.qTarget+" RENAME CONSTRAINT "+sqlident.Quote(newName)+" TO "+sqlident.Quote(pkName.String)); err != nil {
				return err
			}
		}
	}
	for _, g := range grants {
		if _, err := tx.ExecContext(ctx, g); err != nil {
			return err
		}
	}
	if comment.Valid {
		if _, err := tx.ExecContext(ctx, "COMMENT ON TABLE "+ts.qTarget+" IS "+pq.QuoteLiteral(comment.String)); err != nil {
			return err
		}
	}
	return nil
}

func containsString(list []string, s string) bool { return indexString(list, s) >= 0 }

func indexString(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
