// This file holds the child side: one case, run in a process of its own so
// that its peak RSS is its own. The parent starts it as
//
//	bench -bench-child -kind K -table T [...]
//
// with the server's URL in $REDSHIFTSYNC_TEST_DSN, and reads one JSON line
// (childResult) from its standard output.

package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// The kinds of child.
const (
	kindPQScan   = "pq-scan"   // (a)
	kindPQDriver = "pq-driver" // (b)
	kindPQPages  = "pq-pages"  // (b-pages): diagnostic
	kindPsql     = "psql"      // (c): run by the parent itself
	kindExtract  = "extract"   // (d) to (g)
)

// childArgs are the settings of one child run.
type childArgs struct {
	Kind         string
	Table        string
	Sink         string // "discard" or "jsonl"
	OutDir       string // jsonl: the sink's directory, removed after the run
	CkptRows     int    // 0: the library's default
	CkptInterval time.Duration
	Partitions   int           // >1: intra-table partitions, case (e)
	Workers      int           // MaxParallelWorkers; 0: as many as partitions (at least 1)
	Deadline     time.Duration // >0: stop the run after this long, and report rows read each second
	LoadState    string        // start from this state document
	SaveState    string        // write the state document here after the run
	CPUProfile   string        // write a CPU profile of the timed part here
	FailAt       int64         // >0: the sink fails once it was handed this many rows; a second Run then finishes
	BatchBytes   int           // Config.BatchBytes; 0: the library's default
}

func (a childArgs) args() []string {
	out := []string{"-kind", a.Kind, "-table", a.Table}
	add := func(name, v string) {
		if v != "" && v != "0" && v != "0s" {
			out = append(out, "-"+name, v)
		}
	}
	add("sink", a.Sink)
	add("outdir", a.OutDir)
	add("ckpt-rows", strconv.Itoa(a.CkptRows))
	add("ckpt-interval", a.CkptInterval.String())
	add("partitions", strconv.Itoa(a.Partitions))
	add("workers", strconv.Itoa(a.Workers))
	add("deadline", a.Deadline.String())
	add("load-state", a.LoadState)
	add("save-state", a.SaveState)
	add("cpuprofile", a.CPUProfile)
	add("fail-at", strconv.FormatInt(a.FailAt, 10))
	add("batch-bytes", strconv.Itoa(a.BatchBytes))
	return out
}

// childResult is what a child reports.
type childResult struct {
	Rows     int64   `json:"rows"`
	Seconds  float64 `json:"seconds"`
	Mode     string  `json:"mode,omitempty"`
	Key      string  `json:"key,omitempty"`
	OutBytes int64   `json:"out_bytes,omitempty"`
	// Partitions is what the Extractor logged at "table started": the key
	// ranges it split the table into (0: none); -1 when it did not say.
	Partitions int64 `json:"partitions"`
	// With a deadline: whether the run was stopped by it, and the rows read
	// by the end of each second (Extractor.Stats).
	Stopped  bool    `json:"stopped,omitempty"`
	Timeline []int64 `json:"timeline,omitempty"`
}

// startLog is a slog.Handler that keeps the "partitions" attribute of the
// Extractor's "table started" line and drops everything else.
type startLog struct{ partitions *int64 }

func (h startLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h startLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h startLog) WithGroup(string) slog.Handler                { return h }
func (h startLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "table started" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "partitions" && a.Value.Kind() == slog.KindInt64 {
				*h.partitions = a.Value.Int64()
			}
			return true
		})
	}
	return nil
}

func childMain(argv []string) int {
	var a childArgs
	fs := flag.NewFlagSet("bench-child", flag.ContinueOnError)
	fs.StringVar(&a.Kind, "kind", "", "")
	fs.StringVar(&a.Table, "table", "", "")
	fs.StringVar(&a.Sink, "sink", "discard", "")
	fs.StringVar(&a.OutDir, "outdir", "", "")
	fs.IntVar(&a.CkptRows, "ckpt-rows", 0, "")
	fs.DurationVar(&a.CkptInterval, "ckpt-interval", 0, "")
	fs.IntVar(&a.Partitions, "partitions", 0, "")
	fs.IntVar(&a.BatchBytes, "batch-bytes", 0, "")
	fs.IntVar(&a.Workers, "workers", 0, "")
	fs.DurationVar(&a.Deadline, "deadline", 0, "")
	fs.StringVar(&a.LoadState, "load-state", "", "")
	fs.StringVar(&a.SaveState, "save-state", "", "")
	fs.StringVar(&a.CPUProfile, "cpuprofile", "", "")
	fs.Int64Var(&a.FailAt, "fail-at", 0, "")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	dsn := os.Getenv(envDSN)
	if dsn == "" || a.Table == "" {
		fmt.Fprintln(os.Stderr, "bench child: no $"+envDSN+" or -table")
		return 2
	}
	ctx := context.Background()
	var (
		res childResult
		err error
	)
	switch a.Kind {
	case kindPQScan:
		res, err = timed(a, func() (childResult, error) { return pqScan(ctx, dsn, a.Table) })
	case kindPQDriver:
		res, err = timed(a, func() (childResult, error) { return pqDriver(ctx, dsn, a.Table) })
	case kindPQPages:
		res, err = timed(a, func() (childResult, error) { return pqPages(ctx, dsn, a.Table, pageRows) })
	case kindExtract:
		res, err = extract(ctx, dsn, a)
	default:
		err = fmt.Errorf("unknown kind %q", a.Kind)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench child (%s, bench.%s): %v\n", a.Kind, a.Table, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// timed runs fn under the CPU profile (when asked) and measures its wall
// time into the result.
func timed(a childArgs, fn func() (childResult, error)) (childResult, error) {
	if a.CPUProfile != "" {
		f, err := os.Create(a.CPUProfile)
		if err != nil {
			return childResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return childResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	res, err := fn()
	res.Seconds = time.Since(t0).Seconds()
	return res, err
}

// pqScan is case (a): database/sql's Rows.Scan into a reused []any.
func pqScan(ctx context.Context, dsn, table string) (childResult, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return childResult{}, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT * FROM bench."+table)
	if err != nil {
		return childResult{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return childResult{}, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return childResult{}, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return childResult{}, err
	}
	return childResult{Rows: n}, rows.Close()
}

// pqDriver is case (b): lib/pq below database/sql, Rows.Next into a reused
// []driver.Value.
func pqDriver(ctx context.Context, dsn, table string) (childResult, error) {
	var n int64
	err := withDriverConn(ctx, dsn, func(qc driver.QueryerContext) error {
		return driverRows(ctx, qc, "SELECT * FROM bench."+table, nil, func([]driver.Value) { n++ })
	})
	return childResult{Rows: n}, err
}

// withDriverConn opens one lib/pq connection to dsn and runs fn on it at the
// driver level.
func withDriverConn(ctx context.Context, dsn string, fn func(driver.QueryerContext) error) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T is no QueryerContext", dc)
		}
		return fn(qc)
	})
}

// driverRows runs q and calls each for every row, the values reused from row
// to row, as a bare driver-level loop does.
func driverRows(ctx context.Context, qc driver.QueryerContext, q string, args []driver.NamedValue, each func([]driver.Value)) error {
	rows, err := qc.QueryContext(ctx, q, args)
	if err != nil {
		return err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return rows.Close()
			}
			rows.Close()
			return err
		}
		each(dest)
	}
}

// errSinkCrash is the failure of the sink of a case that crashes half-way.
var errSinkCrash = errors.New("the sink fails half-way, as asked")

// pageRows is the Extractor's BatchSize in these cases: its page size.
const pageRows = 10_000

// pqPages is the diagnostic case (b-pages): the driver-level loop of (b) over
// the keyset pages the Extractor reads a table without replication key by
// (WHERE id > $1 ORDER BY id LIMIT n, the last id bound as text and cast, as
// the Extractor binds it), without decoding anything. Set beside (b) and (d),
// it separates the cost of reading in pages from the cost of the Extractor's
// own work on the rows.
func pqPages(ctx context.Context, dsn, table string, limit int) (childResult, error) {
	var n int64
	err := withDriverConn(ctx, dsn, func(qc driver.QueryerContext) error {
		after := ""
		for {
			q := "SELECT * FROM bench." + table + " ORDER BY id LIMIT " + strconv.Itoa(limit)
			var args []driver.NamedValue
			if after != "" {
				q = "SELECT * FROM bench." + table + " WHERE (id > $1::bigint) ORDER BY id LIMIT " + strconv.Itoa(limit)
				args = []driver.NamedValue{{Ordinal: 1, Value: after}}
			}
			got := 0
			err := driverRows(ctx, qc, q, args, func(row []driver.Value) {
				got++
				if id, ok := row[0].(int64); ok {
					after = strconv.FormatInt(id, 10)
				}
			})
			if err != nil {
				return err
			}
			n += int64(got)
			if got < limit {
				return nil
			}
		}
	})
	return childResult{Rows: n}, err
}

// extract runs the Extractor: cases (d) to (g). The timed part is
// New + Run + Close (and the JSONL sink's Close, its final flush); loading a
// prepared state and removing the JSONL files are not timed.
func extract(ctx context.Context, dsn string, a childArgs) (childResult, error) {
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		return childResult{}, err
	}
	cfg.Schema = schema
	cfg.IncludeTables = []string{a.Table}
	cfg.BatchSize = pageRows
	cfg.MaxParallelWorkers = 1
	if a.CkptRows > 0 {
		cfg.CheckpointEveryRows = a.CkptRows
	}
	if a.CkptInterval > 0 {
		cfg.CheckpointInterval = a.CkptInterval
	}
	// Intra-table partitions: off, except in (e), where every table is split
	// (threshold 1) and read with as many workers as partitions, and in the
	// preparation of (f).
	cfg.Partitions = 1
	if a.Partitions > 1 {
		cfg.Partitions = a.Partitions
		cfg.PartitionThreshold = 1
		cfg.MaxParallelWorkers = a.Partitions
	}
	if a.Workers > 0 {
		cfg.MaxParallelWorkers = a.Workers
	}
	if a.BatchBytes != 0 {
		cfg.BatchBytes = a.BatchBytes
	}

	store := &redshiftsync.MemoryStore{}
	if a.LoadState != "" {
		doc, err := os.ReadFile(a.LoadState)
		if err != nil {
			return childResult{}, err
		}
		if err := store.Save(ctx, doc); err != nil {
			return childResult{}, err
		}
	}

	var (
		sink    redshiftsync.Sink
		jsonl   *jsonlsink.Sink
		counted int64
	)
	if a.Sink == "jsonl" {
		if a.OutDir == "" {
			return childResult{}, errors.New("-sink jsonl needs -outdir")
		}
		if err := os.RemoveAll(a.OutDir); err != nil {
			return childResult{}, err
		}
		defer os.RemoveAll(a.OutDir)
	} else {
		failing := a.FailAt > 0
		sink = redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
			if failing && counted+int64(len(b.Rows)) > a.FailAt {
				failing = false // once: the rerun finishes
				return errSinkCrash
			}
			counted += int64(len(b.Rows))
			return nil
		}}
	}

	var (
		rep      *redshiftsync.Report
		timeline []int64
		stopped  bool
	)
	partitions := int64(-1)
	res, err := timed(a, func() (childResult, error) {
		if a.Sink == "jsonl" {
			s, err := jsonlsink.New(a.OutDir)
			if err != nil {
				return childResult{}, err
			}
			jsonl, sink = s, s
		}
		ex, err := redshiftsync.New(cfg, sink, store, redshiftsync.WithLogger(slog.New(startLog{&partitions})))
		if err != nil {
			return childResult{}, err
		}
		runCtx, stopTimeline := ctx, func() {}
		if a.Deadline > 0 {
			var cancel context.CancelFunc
			runCtx, cancel = context.WithTimeout(ctx, a.Deadline)
			defer cancel()
			stopTimeline = sampleRows(ex, &timeline)
		}
		rep, err = ex.Run(runCtx)
		if a.FailAt > 0 {
			if !errors.Is(err, errSinkCrash) {
				ex.Close()
				return childResult{}, fmt.Errorf("the run with a failing sink ended with %v, not the sink's failure", err)
			}
			rep, err = ex.Run(runCtx) // the rerun, from the state the first run saved
		}
		stopTimeline()
		if a.Deadline > 0 && err != nil && runCtx.Err() != nil && ctx.Err() == nil {
			stopped, err = true, nil // the deadline, as asked
		}
		if cerr := ex.Close(); err == nil {
			err = cerr
		}
		if jsonl != nil {
			if cerr := jsonl.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return childResult{}, err
		}
		return childResult{Rows: rep.Rows}, nil
	})
	if err != nil {
		return res, err
	}
	if len(rep.Tables) != 1 {
		return res, fmt.Errorf("the run synced %d tables, want 1 (bench.%s)", len(rep.Tables), a.Table)
	}
	res.Mode, res.Key, res.Partitions = string(rep.Tables[0].Mode), rep.Tables[0].Key, partitions
	res.Stopped, res.Timeline = stopped, timeline
	if a.FailAt > 0 {
		res.Rows = counted // both runs
	} else if a.Sink != "jsonl" && counted != rep.Rows && !stopped {
		return res, fmt.Errorf("the sink got %d rows, the report says %d", counted, rep.Rows)
	}
	if a.Sink == "jsonl" {
		files, _ := filepath.Glob(filepath.Join(a.OutDir, "*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				res.OutBytes += fi.Size()
			}
		}
	}
	if a.SaveState != "" {
		doc, err := store.Load(ctx)
		if err != nil {
			return res, fmt.Errorf("read the state: %w", err)
		}
		if err := os.WriteFile(a.SaveState, doc, 0o600); err != nil {
			return res, err
		}
	}
	return res, nil
}

// sampleRows records ex.Stats().Rows once a second into *timeline until the
// returned function is called (which records a last sample).
func sampleRows(ex *redshiftsync.Extractor, timeline *[]int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				*timeline = append(*timeline, ex.Stats().Rows)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
