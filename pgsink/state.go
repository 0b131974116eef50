// This file holds StateStore: the state document kept in a table of the
// destination database.

package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// Defaults of the state table and row.
const (
	// DefaultStateSchema and DefaultStateTable name the state table.
	DefaultStateSchema = "public"
	DefaultStateTable  = "redshiftsync_state"
	// DefaultStateName is the key of the state row.
	DefaultStateName = "default"
)

// StateStore is a [redshiftsync.StateStore] that keeps the state document in
// one row of a table of a PostgreSQL database, by default
//
//	CREATE TABLE public.redshiftsync_state (
//		name       text PRIMARY KEY,
//		doc        jsonb NOT NULL,
//		updated_at timestamptz NOT NULL DEFAULT now()
//	)
//
// created by the first Save (or FlushState) when it does not exist. Each
// StateStore owns the row whose name is its name, so several syncs (of
// different sources, say) can share the table under different names.
//
// It is the store that reads what [Sink.FlushState] writes (get it with
// [Sink.StateStore]); it also works alone, as a plain state store in
// PostgreSQL for any sink. It is safe for concurrent use.
//
// It is a [redshiftsync.Locker]: a run holds a session advisory lock on the
// state (see [StateStore.Lock]), so two runs never write one state at once.
type StateStore struct {
	db          *sql.DB
	schema      string
	table       string
	name        string
	qTable      string // quoted schema.table
	mu          sync.Mutex
	tableExists bool
	lock        *runLock // the run's advisory lock, while held; guarded by mu
}

var _ redshiftsync.StateStore = (*StateStore)(nil)

// NewStateStore returns the StateStore of the row named by WithStateName
// (default DefaultStateName) in the state table of db (WithStateTable, default
// public.redshiftsync_state). Those are the only options that apply to a
// StateStore; the others are an error.
func NewStateStore(db *sql.DB, opts ...Option) (*StateStore, error) {
	if db == nil {
		return nil, errors.New("pgsink: NewStateStore: db is nil")
	}
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	if o.schema != "" || o.nativeIntervals || o.hardDeletes {
		return nil, errors.New("pgsink: NewStateStore: only WithStateName and WithStateTable apply to a StateStore (WithSchema, WithNativeIntervals and WithHardDeletes are options of a Sink)")
	}
	return newStateStore(db, o), nil
}

func newStateStore(db *sql.DB, o options) *StateStore {
	return &StateStore{
		db: db, schema: o.stateSchema, table: o.stateTable, name: o.stateName,
		qTable: sqlident.Qualified(o.stateSchema, o.stateTable),
	}
}

// Name returns the key of the store's row.
func (s *StateStore) Name() string { return s.name }

// Table returns the schema and name of the state table.
func (s *StateStore) Table() (schema, table string) { return s.schema, s.table }

// Load returns the document of the store's row. When the row, or the whole
// table, does not exist, the error wraps [redshiftsync.ErrNoCheckpoint].
func (s *StateStore) Load(ctx context.Context) ([]byte, error) {
	doc, err := s.load(ctx, s.db)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("%w: no row %q in %s", redshiftsync.ErrNoCheckpoint, s.name, s.qTable)
	}
	return doc, nil
}

// load returns the document, or nil when there is none.
func (s *StateStore) load(ctx context.Context, q queryer) ([]byte, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT doc::text FROM `+s.qTable+` WHERE name = $1`, s.name).Scan(&doc)
	var pqErr *pq.Error
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case errors.As(err, &pqErr) && (pqErr.Code == "42P01" || pqErr.Code == "3F000"): // no such table, schema
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("pgsink: load state %q from %s: %w", s.name, s.qTable, err)
	}
	return doc, nil
}

// Save upserts doc (a JSON document) into the store's row, in a transaction
// of its own: once it returns nil, the document is committed.
func (s *StateStore) Save(ctx context.Context, doc []byte) error {
	if err := s.ensureTable(ctx); err != nil {
		return err
	}
	if err := s.save(ctx, s.db, doc); err != nil {
		return fmt.Errorf("pgsink: save state %q to %s: %w", s.name, s.qTable, err)
	}
	return nil
}

// save upserts doc through q (the sink's transaction in FlushState), only
// while the store's run lock, when it has one, is still held.
func (s *StateStore) save(ctx context.Context, q queryer, doc []byte) error {
	cond, args := s.fence(3)
	res, err := q.ExecContext(ctx, `INSERT INTO `+s.qTable+` (name, doc, updated_at) SELECT $1, $2::jsonb, now() WHERE `+cond+`
ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at`, append([]any{s.name, string(doc)}, args...)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errLockLost
	}
	return nil
}

// ensureTable creates the state table (and its schema) unless it exists.
func (s *StateStore) ensureTable(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tableExists {
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("pgsink: create state table %s: %w", s.qTable, err)
	}
	if ok, err := tableExists(ctx, s.db, s.schema, s.table); err != nil {
		return fail(err)
	} else if ok {
		s.tableExists = true
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := lockDDL(ctx, tx); err != nil {
		return fail(err)
	}
	if err := ensureSchema(ctx, tx, s.schema); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+s.qTable+` (
	name text PRIMARY KEY,
	doc jsonb NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	s.tableExists = true
	return nil
}
