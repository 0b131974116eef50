// This file holds the child side: one measured run in a process of its own,
// so that the peak RSS the parent reads from the child's rusage is that
// run's alone. The parent passes the job as JSON in $REDSHIFTSYNC_BENCH_JOB
// and the server's URL in $REDSHIFTSYNC_TEST_DSN (never argv, where a
// password would show in ps), and reads one JSON line (result) back.

package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// envJob holds a child's job; its presence makes the process a child.
const envJob = "REDSHIFTSYNC_BENCH_JOB"

// pageRows is the Extractor's BatchSize in every case: its page size.
const pageRows = 10_000

// job is what one child run does.
type job struct {
	Kind       string        `json:"kind"` // kindScan, kindDriver or kindExtract
	Table      string        `json:"table"`
	JSONL      string        `json:"jsonl,omitempty"`         // extract: write JSONL into this directory (removed after) instead of discarding
	CkptRows   int           `json:"ckpt_rows,omitempty"`     // extract: CheckpointEveryRows; 0: the default; -1: never
	Partitions int           `json:"partitions,omitempty"`    // extract: >1 splits the table (threshold 1), read by as many workers
	Workers    int           `json:"workers,omitempty"`       // extract: MaxParallelWorkers when not 0
	BatchBytes int           `json:"batch_bytes,omitempty"`   // extract: Config.BatchBytes; 0: the default
	LoadState  string        `json:"load_state,omitempty"`    // extract: start from this state document
	SaveState  string        `json:"save_state,omitempty"`    // extract: write the state document here after
	Deadline   time.Duration `json:"deadline,omitempty"`      // extract: stop after this long and record a timeline
	FailAt     int64         `json:"fail_at,omitempty"`       // extract: the sink fails once at this many rows; a second Run finishes
	Profile    string        `json:"profile,omitempty"`       // write a CPU profile of the timed part here
	AllocProf  string        `json:"alloc_profile,omitempty"` // write a heap profile (allocations since the start) here after the run
}

// The kinds of child.
const (
	kindScan    = "scan"    // database/sql Rows.Scan into []any
	kindDriver  = "driver"  // lib/pq's driver.Rows.Next into []driver.Value
	kindExtract = "extract" // redshiftsync.Extractor
)

// result is what a child reports.
type result struct {
	Rows     int64   `json:"rows"`
	Seconds  float64 `json:"seconds"`
	OutBytes int64   `json:"out_bytes,omitempty"`
	Ranges   int     `json:"ranges,omitempty"` // key ranges the Extractor split the table into (Stats)
	Mode     string  `json:"mode,omitempty"`
	// With JSONL: the wall time spent in the sink's Write (encoding, and
	// writing whenever its buffer fills) and in Flush and Close (the rest of
	// the writes, and fsync).
	WriteSecs float64 `json:"write_secs,omitempty"`
	FlushSecs float64 `json:"flush_secs,omitempty"`
	// The Go heap's own counts over the timed part (runtime.MemStats),
	// exact and unlike CPU time not moved by the machine's load.
	Mallocs    uint64  `json:"mallocs,omitempty"`
	AllocBytes uint64  `json:"alloc_bytes,omitempty"`
	NumGC      uint32  `json:"num_gc,omitempty"`
	Stopped    bool    `json:"stopped,omitempty"`  // the deadline stopped the run
	Timeline   []point `json:"timeline,omitempty"` // with a deadline: rows delivered, about once a second

	unloadResult // the unload group's (unload.go)
}

// point is the rows delivered by T seconds into the run.
type point struct {
	T    float64 `json:"t"`
	Rows int64   `json:"rows"`
}

func childMain(spec string) int {
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fmt.Fprintln(os.Stderr, "bench child: bad job:", err)
		return 2
	}
	dsn := os.Getenv(envDSN)
	ctx := context.Background()
	var (
		res result
		err error
	)
	stop, err := startProfile(j.Profile)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if err == nil {
		t0 := time.Now()
		switch j.Kind {
		case kindScan:
			res.Rows, err = scan(ctx, dsn, j.Table)
		case kindDriver:
			res.Rows, err = readDriver(ctx, dsn, j.Table)
		case kindExtract:
			res, err = extract(ctx, dsn, j)
		case kindStandinExtract: // unload.go
			res, err = extract(ctx, os.Getenv(envStandinDSN), j)
		case kindUnloadRead: // unload.go
			res, err = unloadRead(ctx, j)
		default:
			err = fmt.Errorf("unknown kind %q", j.Kind)
		}
		res.Seconds = time.Since(t0).Seconds()
		stop()
		runtime.ReadMemStats(&m1)
		res.Mallocs, res.AllocBytes, res.NumGC = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc, m1.NumGC-m0.NumGC
		if err == nil && j.AllocProf != "" {
			err = writeAllocProfile(j.AllocProf)
		}
	}
	if err == nil && j.JSONL != "" {
		res.OutBytes, err = dirBytes(j.JSONL)
		os.RemoveAll(j.JSONL)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench child (%s, bench.%s): %v\n", j.Kind, j.Table, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// startProfile starts a CPU profile into path ("" for none).
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeAllocProfile writes the heap profile, whose alloc_space and
// alloc_objects samples count every allocation since the process started.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scan reads the table through database/sql, Rows.Scan into a reused []any.
func scan(ctx context.Context, dsn, table string) (int64, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+schema+"."+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// readDriver reads the table below database/sql: lib/pq's Rows.Next into a
// reused []driver.Value, the least a Go client of lib/pq can do.
func readDriver(ctx context.Context, dsn, table string) (int64, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T is no QueryerContext", dc)
		}
		rows, err := qc.QueryContext(ctx, "SELECT * FROM "+schema+"."+table, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			n++
		}
	})
	return n, err
}

// errCrash is the failure of a sink that crashes half-way.
var errCrash = errors.New("the sink fails half-way, as asked")

// extract runs the Extractor on one table: New, Run (twice after a crash)
// and Close, and for JSONL the sink's Close (its final flush and fsync).
func extract(ctx context.Context, dsn string, j job) (result, error) {
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		return result{}, err
	}
	cfg.Schema, cfg.IncludeTables = schema, []string{j.Table}
	cfg.BatchSize, cfg.MaxParallelWorkers, cfg.Partitions = pageRows, 1, 1
	switch {
	case j.CkptRows < 0:
		cfg.CheckpointEveryRows, cfg.CheckpointInterval = math.MaxInt, time.Duration(math.MaxInt64)
	case j.CkptRows > 0:
		cfg.CheckpointEveryRows = j.CkptRows
	}
	if j.Partitions > 1 {
		cfg.Partitions, cfg.PartitionThreshold, cfg.MaxParallelWorkers = j.Partitions, 1, j.Partitions
	}
	if j.Workers > 0 {
		cfg.MaxParallelWorkers = j.Workers
	}
	if j.BatchBytes != 0 {
		cfg.BatchBytes = j.BatchBytes
	}
	store := &redshiftsync.MemoryStore{}
	if j.LoadState != "" {
		doc, err := os.ReadFile(j.LoadState)
		if err != nil {
			return result{}, err
		}
		if err := store.Save(ctx, doc); err != nil {
			return result{}, err
		}
	}

	var delivered int64 // rows handed to the discarding sink, both runs
	failing := j.FailAt > 0
	var sink redshiftsync.Sink = redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
		if failing && delivered+int64(len(b.Rows)) > j.FailAt {
			failing = false // once: the rerun finishes
			return errCrash
		}
		delivered += int64(len(b.Rows))
		return nil
	}}
	var jsonl *timedSink
	if j.JSONL != "" {
		s, err := jsonlsink.New(j.JSONL)
		if err != nil {
			return result{}, err
		}
		jsonl = &timedSink{Sink: s}
		sink = jsonl
	}
	ex, err := redshiftsync.New(cfg, sink, store)
	if err != nil {
		return result{}, err
	}
	runCtx := ctx
	var stopTimeline func() []point
	if j.Deadline > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, j.Deadline)
		defer cancel()
		stopTimeline = timeline(ex)
	}
	rep, err := ex.Run(runCtx)
	if j.FailAt > 0 {
		if !errors.Is(err, errCrash) {
			ex.Close()
			return result{}, fmt.Errorf("the run with a failing sink ended with %v, not the sink's failure", err)
		}
		rep, err = ex.Run(runCtx) // the rerun, from the state the first run saved
	}
	var res result
	if stopTimeline != nil {
		res.Timeline = stopTimeline()
		if err != nil && runCtx.Err() != nil && ctx.Err() == nil {
			res.Stopped, err = true, nil // the deadline, as asked
		}
	}
	if st := ex.Stats(); len(st.Tables) == 1 {
		res.Ranges = st.Tables[0].Partitions
	}
	err = errors.Join(err, ex.Close())
	if jsonl != nil {
		t0 := time.Now()
		err = errors.Join(err, jsonl.Close())
		res.WriteSecs, res.FlushSecs = jsonl.write.Seconds(), (jsonl.flush + time.Since(t0)).Seconds()
	}
	if err != nil {
		return res, err
	}
	if len(rep.Tables) != 1 {
		return res, fmt.Errorf("the run synced %d tables, want 1 (%s.%s)", len(rep.Tables), schema, j.Table)
	}
	res.Rows, res.Mode = rep.Rows, string(rep.Tables[0].Mode)
	if j.FailAt > 0 {
		res.Rows = delivered
	}
	if j.SaveState != "" {
		doc, err := store.Load(ctx)
		if err != nil {
			return res, err
		}
		return res, os.WriteFile(j.SaveState, doc, 0o600)
	}
	return res, nil
}

// timedSink is a jsonlsink.Sink (its optional methods promoted) whose Write
// and Flush calls are timed: where the wall time goes, which a CPU profile
// does not show (the time blocked in write and fsync).
type timedSink struct {
	*jsonlsink.Sink
	write, flush time.Duration
}

func (s *timedSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	defer func(t0 time.Time) { s.write += time.Since(t0) }(time.Now())
	return s.Sink.Write(ctx, b)
}

func (s *timedSink) Flush(ctx context.Context, t *redshiftsync.Table) error {
	defer func(t0 time.Time) { s.flush += time.Since(t0) }(time.Now())
	return s.Sink.Flush(ctx, t)
}

// timeline records the rows ex has delivered about once a second, until the
// returned function is called, which records a last point and returns them.
func timeline(ex *redshiftsync.Extractor) func() []point {
	var pts []point
	t0 := time.Now()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				pts = append(pts, point{time.Since(t0).Seconds(), ex.Stats().Rows})
			}
		}
	}()
	return func() []point {
		close(done)
		<-finished
		return append(pts, point{time.Since(t0).Seconds(), ex.Stats().Rows})
	}
}

// dirBytes is the size of the files in dir.
func dirBytes(dir string) (int64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n, err
}
