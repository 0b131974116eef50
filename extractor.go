// This file holds the Extractor: its construction and options, discovery of
// the plan, and Run, which syncs the planned tables in parallel.

package redshiftsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Extractor copies the tables of one source schema into a Sink, saving its
// progress in a StateStore. Create it with New, NewFromDB or NewFromSQLX; it
// is safe to call Stats while Run is going, but Run itself must not be called
// concurrently with itself.
type Extractor struct {
	cfg   Config
	ab    *abilities // the sink and the store, their optional interfaces probed once
	pool  *pool
	owned bool // the pool was opened by New and is closed by Close
	log   *slog.Logger
	specs []TableSpec
	hook  func(Checkpoint)
	adopt bool // WithAdoptState

	progress      func(Stats)
	progressEvery time.Duration

	lockWait time.Duration

	// unloader reads the files of UNLOADs (WithUnloader); unloadExec runs
	// the statement (execUnload; a test's seam).
	unloader   Unloader
	unloadExec func(ctx context.Context, conn *sql.Conn, stmt string) error

	stats statsBoard
}

// Option configures an Extractor beyond its Config. An option checks its
// own arguments: New, NewFromDB and NewFromSQLX return the error of the first
// option that rejects them, naming it, and reject options that contradict
// each other or the configuration.
type Option func(*Extractor) error

// WithLogger sends the extractor's structured logs to l: one info line per
// table started and finished, a warning per retry (RetryLogMessage), debug
// lines per page. The default is silent; a nil l is an error.
func WithLogger(l *slog.Logger) Option {
	return func(e *Extractor) error {
		if l == nil {
			return errors.New("redshiftsync: WithLogger: the logger is nil (leave the option out for no logs)")
		}
		e.log = l
		return nil
	}
}

// WithCheckpointHook calls fn after each checkpoint is saved, from the
// goroutine that saved it: fn must return quickly. A panic in fn fails the
// table whose checkpoint it was given (an error wrapping ErrPanic); that
// checkpoint itself was saved. A nil fn is an error.
func WithCheckpointHook(fn func(Checkpoint)) Option {
	return func(e *Extractor) error {
		if fn == nil {
			return errors.New("redshiftsync: WithCheckpointHook: the hook is nil")
		}
		e.hook = fn
		return nil
	}
}

// WithProgressHook calls fn with a Stats snapshot every interval while Run
// goes, and once when it ends, from a goroutine of its own: a slow fn delays
// the next report, never the sync. A panic in fn is recovered: fn is not
// called again in that Run, the tables go on, and Run's error includes the
// panic (wrapping ErrPanic). An interval that is not positive, or a nil fn,
// is an error.
func WithProgressHook(interval time.Duration, fn func(Stats)) Option {
	return func(e *Extractor) error {
		switch {
		case interval <= 0:
			return fmt.Errorf("redshiftsync: WithProgressHook: interval %s is not positive", interval)
		case fn == nil:
			return errors.New("redshiftsync: WithProgressHook: the hook is nil")
		}
		e.progress, e.progressEvery = fn, interval
		return nil
	}
}

// WithTableSpecs lists the tables to sync. It is the Go counterpart of
// table_spec_file: the configuration must have TablesFromSpecs set
// and no TableSpecFile, and specs must not be empty.
func WithTableSpecs(specs []TableSpec) Option {
	return func(e *Extractor) error {
		if len(specs) == 0 {
			return fmt.Errorf("%w: WithTableSpecs: no table specs given", ErrTableSpec)
		}
		e.specs = specs
		return nil
	}
}

// New returns an Extractor that opens its own pooled lib/pq connections from
// cfg, which it resolves (Config.WithDefaults: a zero field takes its
// default) and validates. Close releases them.
func New(cfg Config, sink Sink, store StateStore, opts ...Option) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := openPool(cfg)
	if err != nil {
		return nil, err
	}
	e, err := newExtractor(cfg, p, sink, store, opts)
	if err != nil {
		p.db.Close()
		return nil, err
	}
	e.owned = true
	return e, nil
}

// NewFromDB returns an Extractor that reads through the caller's db, which it
// never closes. The connection keys of cfg are not used and may be empty; its
// other settings apply. Make sure db allows at least MaxParallelWorkers+1 open
// connections; 2*MaxParallelWorkers+1 (or no limit) lets every table in a
// full sync on PostgreSQL hold its snapshot's session beside the readers.
// With fewer, fewer tables hold one at once, so that the readers always find
// a connection (the limit is read from db.Stats here: set it before).
//
// The extractor sets TimeZone, DateStyle, extra_float_digits (and
// statement_timeout, when configured) on each connection it takes from db,
// having read their values first; before the connection goes back to db it
// sets exactly those values again, so a setting the caller made on the
// connection, or in the connection string, is what the caller finds after
// Run. A connection that cannot be set back is closed instead.
func NewFromDB(db *sql.DB, cfg Config, sink Sink, store StateStore, opts ...Option) (*Extractor, error) {
	if db == nil {
		return nil, errors.New("redshiftsync: NewFromDB: db is nil")
	}
	c := cfg
	// The connection keys are required of a Config that opens its own
	// connections; here they are only for show.
	for _, f := range []*string{&c.Host, &c.Database, &c.User} {
		if *f == "" {
			*f = "-"
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Host, c.Database, c.User = cfg.Host, cfg.Database, cfg.User
	return newExtractor(c, adoptPoolConfig(db, c), sink, store, opts)
}

// NewFromSQLX is NewFromDB for a *sqlx.DB.
func NewFromSQLX(db *sqlx.DB, cfg Config, sink Sink, store StateStore, opts ...Option) (*Extractor, error) {
	if db == nil {
		return nil, errors.New("redshiftsync: NewFromSQLX: db is nil")
	}
	return NewFromDB(db.DB, cfg, sink, store, opts...)
}

func newExtractor(cfg Config, p *pool, sink Sink, store StateStore, opts []Option) (*Extractor, error) {
	if sink == nil {
		return nil, errors.New("redshiftsync: sink is nil")
	}
	if store == nil {
		return nil, errors.New("redshiftsync: state store is nil; use &MemoryStore{} to keep no state")
	}
	e := &Extractor{cfg: cfg, ab: probe(sink, store), pool: p, log: slog.New(slog.DiscardHandler), unloadExec: execUnload}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("redshiftsync: an Option is nil")
		}
		if err := o(e); err != nil {
			return nil, err
		}
	}
	switch {
	case e.specs != nil && !cfg.TablesFromSpecs:
		return nil, fmt.Errorf("%w: WithTableSpecs lists the tables, but auto_schema_detection is true (TablesFromSpecs false), which would ignore it; set it to false", ErrTableSpec)
	case e.specs != nil && cfg.TableSpecFile != "":
		return nil, fmt.Errorf("%w: both WithTableSpecs and table_spec_file (%s) list the tables; use one", ErrTableSpec, cfg.TableSpecFile)
	}
	if cfg.TablesFromSpecs && e.specs == nil {
		if cfg.TableSpecFile == "" {
			return nil, fmt.Errorf("%w: auto_schema_detection is false (TablesFromSpecs true), so set table_spec_file or pass WithTableSpecs", ErrTableSpec)
		}
		specs, err := LoadTableSpecs(cfg.TableSpecFile)
		if err != nil {
			return nil, err
		}
		e.specs = specs
	}
	return e, nil
}

// Close releases the connections New opened. It does nothing for an
// Extractor made from the caller's database.
func (e *Extractor) Close() error {
	if e.owned {
		return e.pool.db.Close()
	}
	return nil
}

// Discovery is what Discover finds: the source's dialect and the plan of
// every table to sync.
type Discovery struct {
	Dialect Dialect `json:"dialect"`
	Schema  string  `json:"schema"`
	Plans   []*Plan `json:"tables"`
}

// Discover reads the catalog and returns the plan of every table to sync,
// without reading any rows. With a saved state, each plan shows the schema
// change its table's next sync tells a SchemaSink (Plan.SchemaChange).
func (e *Extractor) Discover(ctx context.Context) (*Discovery, error) {
	d, err := e.plans(ctx)
	if err != nil {
		return nil, err
	}
	e.pendingChanges(ctx, d.Plans)
	return d, nil
}

// plans is Discover without the state: Run reads the state itself.
func (e *Extractor) plans(ctx context.Context) (*Discovery, error) {
	db := sqlx.NewDb(e.pool.db, "postgres")
	dialect := e.cfg.Dialect
	if dialect == "" || dialect == DialectAuto {
		d, err := detectDialect(ctx, db)
		if err != nil {
			return nil, err
		}
		dialect = d
	}
	catalog, err := discoverTables(ctx, db, dialect, e.cfg.Schema, e.log)
	if err != nil {
		var ce *ConnectError
		if errors.As(err, &ce) {
			return nil, ce // the first connection: its error says where and what to do
		}
		return nil, err
	}
	var tables []*Table
	specs := map[string]TableSpec{}
	if !e.cfg.TablesFromSpecs {
		tables = filterTables(catalog, e.cfg.IncludeTables, e.cfg.ExcludeTables)
	} else if tables, specs, err = applySpecs(catalog, e.specs, e.cfg.Schema); err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("%w: schema %q has no base tables that the configuration selects (check redshift_schema, include_tables and exclude_tables)", ErrNoTables, e.cfg.Schema)
	}
	d := &Discovery{Dialect: dialect, Schema: e.cfg.Schema}
	for _, t := range tables {
		var spec *TableSpec
		if s, ok := specs[t.QualifiedName()]; ok {
			spec = &s
		}
		p := makePlan(t, spec, e.cfg.EnableCompleteResync)
		_, p.Deletes = e.deletePlan(t, dialect)
		p.Unload = e.planUnload(p, dialect)
		d.Plans = append(d.Plans, p)
	}
	return d, nil
}

// Report is the outcome of a Run.
type Report struct {
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	Rows     int64         `json:"rows"`
	Tables   []TableReport `json:"tables"`
}

// TableReport is the outcome of one table's sync.
type TableReport struct {
	Table    string        `json:"table"`
	Mode     Mode          `json:"mode"`
	Key      string        `json:"replication_key,omitempty"`
	Rows     int64         `json:"rows"`
	Duration time.Duration `json:"duration"`
	// Warnings are the plan's warnings, with those found while syncing
	// (rows whose key is above the server's clock).
	Warnings []string `json:"warnings,omitempty"`
	// Status says how the table's sync ended: TableOK, TableFailed (Err is
	// the cause), TableCanceled (stopped because another table failed) or
	// TableInterrupted (the caller canceled Run's context).
	Status TableStatus `json:"status"`
	// Err is nil when the table's sync finished; otherwise a *TableError.
	Err error `json:"-"`
	// Deletes is what delete detection did for the table in this run; nil
	// when it did not run (off, or not due).
	Deletes *DeleteStats `json:"deletes,omitempty"`
}

// Run syncs every planned table, at most MaxParallelWorkers queries at once,
// and returns what it did, with a TableStatus per table.
//
// A failure that belongs to one table ends that table, and the others go
// on: a privilege the role lacks on it (SQLSTATE 42501; the error's Hint is
// the GRANT to run), a table or column dropped since discovery (42P01,
// 42703, ErrTableGone), a value it holds that cannot be read (class 22,
// 42804), its saved state that does not fit it (ErrStateCorrupt). Any other
// failure (authentication, a connection lost beyond the retries, the state
// store, the sink) stops the run: the other running tables are stopped at
// their next page, keep the checkpoint they last saved, and are reported
// TableCanceled, with an error wrapping ErrCanceledByFailure (not
// context.Canceled). The error joins every table's TableError, the causes
// (TableFailed) first, so that errors.As finds a failed table first.
//
// A canceled ctx stops Run promptly, after saving the last checkpoint of
// each table, with its tables TableInterrupted and an error wrapping
// context.Canceled: errors.Is(err, context.Canceled) is true only then. When the
// StateStore is a Locker, Run first takes its lock and holds it until it
// returns: while another run holds it, Run fails at once with a *LockError
// (ErrLocked), or waits as WithLockWait allows.
//
// Before any table is read, Run reads the source server's identity (see
// SourceInfo), gives it to a SourceAware sink, which may refuse it, and
// loads the state, refusing one saved for another source or server
// (ErrStateMismatch) unless WithAdoptState.
func (e *Extractor) Run(ctx context.Context) (*Report, error) {
	start := time.Now()
	rep := &Report{Started: start}
	unlock, err := e.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()
	d, err := e.discover(ctx)
	if err != nil {
		return rep, err
	}
	src, err := e.identify(ctx, d.Dialect)
	if err != nil {
		return rep, err
	}
	if err := e.tellSink(ctx, src); err != nil {
		return rep, err
	}
	source := e.sourceName(src.Database)
	ck := &checkpointer{store: e.ab.store, hook: e.hook, bind: serverBinding{server: src.Server, adopt: e.adopt, log: e.log}}
	if err := ck.load(ctx, source); err != nil {
		return rep, err
	}
	e.stats.reset(d.Plans)

	// A table's failure cancels the others with a cause of its own, so that
	// they are told apart from tables the caller's cancel stopped.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopProgress := func() error { return nil }
	if e.progress != nil && e.progressEvery > 0 {
		stopProgress = e.reportProgress()
	}
	rep.Tables = make([]TableReport, len(d.Plans))
	var wg sync.WaitGroup
	for i, p := range d.Plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			ts := &tableSync{e: e, ck: ck, plan: p, dialect: d.Dialect, stats: e.stats.table(p.Table.QualifiedName())}
			rows, err := ts.run(runCtx)
			rep.Tables[i] = TableReport{Table: p.Table.QualifiedName(), Mode: p.Mode, Key: p.ReplicationKey, Rows: rows, Duration: time.Since(t0), Warnings: p.Warnings, Err: err}
			if ts.del != nil && ts.del.stats.Ranges > 0 {
				st := ts.del.stats
				rep.Tables[i].Deletes = &st
			}
			// Fail fast: the others stop at their next page, unless the
			// failure is the table's own (see tableScoped): the others are
			// not at fault and finish.
			if err != nil && !canceledWork(ctx, err) && !tableScoped(err) {
				cancel(&canceledBy{table: p.Table.QualifiedName()})
			}
		}()
	}
	wg.Wait()
	for i := range rep.Tables {
		outcome(ctx, runCtx, &rep.Tables[i])
		rep.Rows += rep.Tables[i].Rows
		// Before the last progress report, so that it shows a canceled
		// table as canceled, not failed.
		e.stats.table(rep.Tables[i].Table).settle(rep.Tables[i].Status)
	}
	var extra []error
	if err := stopProgress(); err != nil {
		extra = append(extra, err)
	}
	rep.Duration = time.Since(start)
	err = joinOutcome(rep.Tables, extra...)
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return rep, err
}

// discover runs Discover for Run, retrying a transient failure (a dropped
// connection, a restarting server) the way table reads are retried.
func (e *Extractor) discover(ctx context.Context) (*Discovery, error) {
	var d *Discovery
	err := retryTransient(ctx, e.log, "discover", e.cfg.MaxRetries, nil, func() (err error) {
		d, err = e.plans(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// reportProgress calls the progress hook every progressEvery until the
// returned stop is called, which reports once more, waits for it, and
// returns the hook's panic, if it panicked: the hook is then not called
// again in this run, and the tables go on.
func (e *Extractor) reportProgress() (stop func() error) {
	quit, done := make(chan struct{}), make(chan struct{})
	var hookErr error
	report := func() {
		if hookErr == nil {
			hookErr = e.recoverHook("progress hook", func() { e.progress(e.Stats()) })
		}
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(e.progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				report()
			case <-quit:
				report()
				return
			}
		}
	}()
	return func() error { close(quit); <-done; return hookErr }
}

// sourceName identifies the source in the state: "database/schema", the
// database as configured (a pooler's alias stays the name states were saved
// under), else current as the server reports it.
func (e *Extractor) sourceName(current string) string {
	db := e.cfg.Database
	if db == "" {
		db = current
	}
	return db + "/" + e.cfg.Schema
}
