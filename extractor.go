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
	sink  Sink
	store StateStore
	pool  *pool
	owned bool // the pool was opened by New and is closed by Close
	log   *slog.Logger
	specs []TableSpec
	hook  func(Checkpoint)

	progress      func(Stats)
	progressEvery time.Duration

	stats statsBoard
}

// Option configures an Extractor beyond its Config.
type Option func(*Extractor)

// WithLogger sends the extractor's structured logs to l: one info line per
// table started and finished, a warning per retry, debug lines per page. The
// default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(e *Extractor) { e.log = l }
}

// WithCheckpointHook calls fn after each checkpoint is saved, from the
// goroutine that saved it: fn must return quickly.
func WithCheckpointHook(fn func(Checkpoint)) Option {
	return func(e *Extractor) { e.hook = fn }
}

// WithProgressHook calls fn with a Stats snapshot every interval while Run
// goes, and once when it ends, from a goroutine of its own: a slow fn delays
// the next report, never the sync.
func WithProgressHook(interval time.Duration, fn func(Stats)) Option {
	return func(e *Extractor) { e.progress, e.progressEvery = fn, interval }
}

// WithTableSpecs lists the tables to sync when the configuration's
// AutoSchemaDetection is false (the Go counterpart of table_spec_file, which
// it replaces).
func WithTableSpecs(specs []TableSpec) Option {
	return func(e *Extractor) { e.specs = specs }
}

// New returns an Extractor that opens its own pooled lib/pq connections from
// cfg. Close releases them.
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
// connections.
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
	e := &Extractor{cfg: cfg, sink: sink, store: store, pool: p, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	if !cfg.AutoSchemaDetection && e.specs == nil {
		if cfg.TableSpecFile == "" {
			return nil, fmt.Errorf("%w: auto_schema_detection is false, so set table_spec_file or pass WithTableSpecs", ErrTableSpec)
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
// without reading any rows.
func (e *Extractor) Discover(ctx context.Context) (*Discovery, error) {
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
		return nil, err
	}
	var tables []*Table
	specs := map[string]TableSpec{}
	if e.cfg.AutoSchemaDetection {
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
		d.Plans = append(d.Plans, makePlan(t, spec, e.cfg.EnableCompleteResync))
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
	// Err is nil when the table's sync finished.
	Err error `json:"-"`
}

// Run syncs every planned table, at most MaxParallelWorkers queries at once,
// and returns what it did. The first table that fails cancels the others
// (each keeps the checkpoint it last saved; a table dropped since discovery
// is only reported, and the others finish); the error joins every table's
// TableError. A canceled ctx stops Run promptly with an error wrapping
// context.Canceled, after saving the last checkpoint of each table.
func (e *Extractor) Run(ctx context.Context) (*Report, error) {
	start := time.Now()
	rep := &Report{Started: start}
	d, err := e.discover(ctx)
	if err != nil {
		return rep, err
	}
	source, err := e.sourceName(ctx)
	if err != nil {
		return rep, err
	}
	ck := &checkpointer{store: e.store, hook: e.hook}
	if err := ck.load(ctx, source); err != nil {
		return rep, err
	}
	e.stats.reset(d.Plans)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.progress != nil && e.progressEvery > 0 {
		stop := e.reportProgress()
		defer stop()
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
			// Fail fast: the others stop at their next page. A table
			// dropped since discovery is only reported: the others are
			// not at fault and finish.
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrTableGone) {
				cancel()
			}
		}()
	}
	wg.Wait()
	var errs []error
	for _, t := range rep.Tables {
		rep.Rows += t.Rows
		if t.Err != nil {
			errs = append(errs, t.Err)
		}
	}
	rep.Duration = time.Since(start)
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return rep, errors.Join(errs...)
}

// discover runs Discover for Run, retrying a transient failure (a dropped
// connection, a restarting server) the way table reads are retried.
func (e *Extractor) discover(ctx context.Context) (*Discovery, error) {
	for attempt := 0; ; attempt++ {
		d, err := e.Discover(ctx)
		if err == nil || !isTransient(ctx, err) || attempt >= e.cfg.MaxRetries {
			return d, err
		}
		wait := backoff(attempt + 1)
		e.log.Warn("transient source error: retrying", "step", "discover", "attempt", attempt+1, "wait", wait, "sqlstate", SQLState(err), "error", err)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// reportProgress calls the progress hook every progressEvery until the
// returned stop is called, which reports once more and waits for it.
func (e *Extractor) reportProgress() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(e.progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				e.progress(e.Stats())
			case <-quit:
				e.progress(e.Stats())
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}

// sourceName identifies the source in the state: "database/schema".
func (e *Extractor) sourceName(ctx context.Context) (string, error) {
	db := e.cfg.Database
	if db == "" {
		if err := e.pool.db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&db); err != nil {
			return "", fmt.Errorf("redshiftsync: read database name: %w", err)
		}
	}
	return db + "/" + e.cfg.Schema, nil
}
