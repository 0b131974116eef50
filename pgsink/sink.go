// This file holds the Sink: its construction and Close, Open of a table
// (its destination table, columns and key, and the staging it prepares),
// and the per-table state the other calls share.

package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/opentables"
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

	tables *opentables.Registry[*tableSink]

	mu                sync.Mutex // guards the flags below
	resyncSchemaReady bool       // ResyncSchema exists
	registryReady     bool       // the registry of tables exists
}

var (
	_ redshiftsync.Sink        = (*Sink)(nil)
	_ redshiftsync.ResyncSink  = (*Sink)(nil)
	_ redshiftsync.StateSink   = (*Sink)(nil)
	_ redshiftsync.AttemptSink = (*Sink)(nil)
)

// New returns a Sink that loads into db, which it never closes. Nothing is
// created in the database until the first Open (or Save).
func New(db *sql.DB, opts ...Option) (*Sink, error) {
	if db == nil {
		return nil, errors.New("pgsink: New: db is nil")
	}
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	return &Sink{db: db, opts: o, state: newStateStore(db, o), tables: opentables.New[*tableSink]("pgsink")}, nil
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
	open, ok := s.tables.Close()
	if !ok {
		return nil
	}
	for _, ts := range open {
		ts.rollback()
	}
	if s.owned {
		return s.db.Close()
	}
	return nil
}

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

	resyncCopy copyState // where the table's resync copy stands (see resync.go)
	plain      bool      // the last flush was Flush, not FlushState
	broken     error
	attempt    attemptMark       // where the last BeginAttempt left the transaction
	reshape    map[string]string // column: the source's type, for the columns a resync must reshape (see followTypes)

	// Delete detection (delete.go, listkeys.go).
	keyTypes   []redshiftsync.LogicalType // of the primary key columns, in key order
	keyCmp     []string                   // per key column: its destination type, or "text" for a text-like one compared bytewise
	deletedCol bool                       // the table (and so its copies) has DeletedColumn
	keysReady  bool                       // the temporary table of keys to delete exists in tx
}

// Open creates the destination schema and table of table when they do not
// exist, adds the columns the table lacks (to a resync copy in progress as
// well), and checks that its primary key is the source's. Opening a table
// again (on a later run with the same sink) discards what was staged and not
// flushed. Open knows no saved state: it is what a sink used without
// FlushState (at-least-once, see WithoutState) is opened with; as a
// StateSink, the extractor calls OpenState instead.
func (s *Sink) Open(ctx context.Context, table *redshiftsync.Table) error {
	return s.open(ctx, table, nil)
}

// OpenState is Open, told what the saved state records of table (nil:
// nothing). A table the state names is adopted when it exists and pgsink's
// registry does not list it (it was loaded before the registry existed); a
// resync in progress goes on in its copy, which is emptied first when the
// resync has no position (its rows are all delivered again).
func (s *Sink) OpenState(ctx context.Context, table *redshiftsync.Table, saved *redshiftsync.TableView) error {
	return s.open(ctx, table, saved)
}

func (s *Sink) open(ctx context.Context, table *redshiftsync.Table, saved *redshiftsync.TableView) error {
	if table == nil {
		return errors.New("pgsink: Open: nil table")
	}
	if table.Schema == "" || table.Name == "" {
		return fmt.Errorf("pgsink: Open: table %q: empty schema or table name", table.QualifiedName())
	}
	if len(table.Columns) == 0 {
		return fmt.Errorf("pgsink: Open: table %s has no columns", table.QualifiedName())
	}
	if old, ok, err := s.tables.Remove(table); err != nil {
		return err
	} else if ok {
		old.rollback()
	}

	ts, err := s.openTable(ctx, table, saved)
	if err != nil && ts == nil {
		return fmt.Errorf("pgsink: table %s: %w", table.QualifiedName(), err)
	}
	if perr := s.tables.Put(table, ts); perr != nil {
		return perr
	}
	if err != nil { // ErrResyncRequired: the table is open, for the resync
		return fmt.Errorf("pgsink: table %s: %w", table.QualifiedName(), err)
	}
	return nil
}

func (s *Sink) openTable(ctx context.Context, t *redshiftsync.Table, saved *redshiftsync.TableView) (*tableSink, error) {
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
	if containsString(ts.cols, DeletedColumn) {
		return nil, fmt.Errorf("the source has a column %q, the name of pgsink's soft-delete column: rename it at the source, or exclude the column (or the table)", DeletedColumn)
	}
	ts.keyTypes = make([]redshiftsync.LogicalType, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		ts.keyTypes[i] = t.Columns[indexString(ts.cols, k)].Type
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
	} else if err := s.claim(ctx, tx, ts.schema, ts.table, saved != nil); err != nil {
		return nil, err
	}
	if err := s.addColumns(ctx, tx, ts.schema, ts.table, t); err != nil {
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
	left, err := tableExists(ctx, tx, ResyncSchema, ts.resync)
	if err != nil {
		return nil, err
	}
	if left {
		ts.resyncCopy = copyLeft
		if err := s.addColumns(ctx, tx, ResyncSchema, ts.resync, t); err != nil {
			return nil, fmt.Errorf("table %s: %w", ts.qResync, err)
		}
		// A resync whose saved progress has no position starts over from
		// the first row (a table read in one stream, without an order, has
		// no position): what its copy holds will all be delivered again.
		if saved.Resyncing() && !saved.Positioned() {
			if _, err := tx.ExecContext(ctx, "TRUNCATE "+ts.qResync); err != nil {
				return nil, err
			}
		}
	}
	inResync := left && saved.Resyncing()
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
	if err := ts.readKeyTypes(ctx, tx); err != nil {
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
	ts.mergeSQL = mergeSQL(ts.cols, ts.pk, seqCol, ts.deletedCol)
	ts.args = make([]any, len(ts.cols)+1)
	ts.tryInsert = true
	return ts, reshape // nil, or ErrResyncRequired
}

// table returns the open table of t.
func (s *Sink) table(t *redshiftsync.Table, op string) (*tableSink, error) {
	ts, err := s.tables.Get(t, op)
	if err != nil {
		return nil, err
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
	ts.tx, ts.staged, ts.rows, ts.keysReady = nil, false, 0, false
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

func containsString(list []string, s string) bool { return indexString(list, s) >= 0 }

func indexString(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
