// This file holds Stats: live counters of a run, readable while it goes.

package redshiftsync

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a run's progress.
type Stats struct {
	Tables []TableStats
	Rows   int64
}

// TableStats is a snapshot of one table's progress.
type TableStats struct {
	Table string
	// State is "waiting" until the table's sync first holds a unit of the
	// worker budget to read rows with (the short catalog queries that plan
	// the read do not count), then "running", and at its end "done",
	// "failed", "canceled" (stopped because another table failed) or
	// "interrupted" (the caller canceled Run), as TableReport.Status says.
	State   string
	Rows    int64
	Bytes   int64
	Batches int64
	Retries int64
	// EstimatedRows is how many rows this sync of the table is expected
	// to deliver: the catalog's estimate of the table when the sync reads
	// all of it (a full sync, an incremental table's first sync); -1 when
	// unknown: the catalog has no estimate, or the sync is an incremental
	// one from a bookmark, which reads only the rows changed since (the
	// catalog does not know how many changed, and counting them would cost
	// a scan of their own).
	EstimatedRows int64
	// Partitions is the number of key ranges (partitions, or chunks on
	// Redshift) the table's read is split into, 0 when it is not split;
	// PartitionsDone how many of them are finished.
	Partitions     int
	PartitionsDone int
	// Started is when the table first held a unit of the worker budget to
	// read rows with (zero while it waits), Elapsed the time since (to its
	// end, once it ended).
	Started time.Time
	Elapsed time.Duration
	// RowsPerSecond is this run's rows over Elapsed; ETA is the time left
	// at that rate to reach EstimatedRows, 0 when unknown.
	RowsPerSecond float64
	ETA           time.Duration
}

// tableStats are the live counters of one table.
type tableStats struct {
	name      string
	estimate  atomic.Int64
	state     atomic.Value // string
	rows      atomic.Int64
	bytes     atomic.Int64
	batches   atomic.Int64
	retries   atomic.Int64
	parts     atomic.Int64
	partsDone atomic.Int64
	base      atomic.Int64 // rows delivered by earlier runs of a resumed sync
	startedNs atomic.Int64
	doneNs    atomic.Int64
}

// statsBoard holds the counters of the current run.
type statsBoard struct {
	mu     sync.Mutex
	tables []*tableStats
}

func (b *statsBoard) reset(plans []*Plan) {
	ts := make([]*tableStats, len(plans))
	for i, p := range plans {
		ts[i] = &tableStats{name: p.Table.QualifiedName()}
		ts[i].estimate.Store(p.Table.EstimatedRows)
		ts[i].state.Store("waiting")
	}
	b.mu.Lock()
	b.tables = ts
	b.mu.Unlock()
}

func (b *statsBoard) table(name string) *tableStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.tables {
		if t.name == name {
			return t
		}
	}
	return &tableStats{name: name}
}

// start marks the table running, the first time it holds a unit of the
// worker budget to read rows; later calls do nothing.
func (t *tableStats) start() {
	if t.startedNs.Load() == 0 && t.startedNs.CompareAndSwap(0, time.Now().UnixNano()) {
		t.state.Store("running")
	}
}

// unknownEstimate says that the rows this sync reads are not known ahead:
// an incremental sync from a bookmark reads the rows changed since, which
// the catalog's estimate of the whole table does not count.
func (t *tableStats) unknownEstimate() { t.estimate.Store(-1) }

// resume counts the rows an interrupted sync delivered before this run, so
// Rows and the ETA describe the whole sync while RowsPerSecond is this run's.
func (t *tableStats) resume(rows int64) {
	t.base.Store(rows)
	t.rows.Add(rows)
}

// settle records the status Run decided for the finished table: finish
// could only tell done from failed.
func (t *tableStats) settle(st TableStatus) {
	switch st {
	case TableOK:
		t.state.Store("done")
	case TableFailed, TableCanceled, TableInterrupted:
		t.state.Store(string(st))
	}
}

func (t *tableStats) finish(err error) {
	t.doneNs.Store(time.Now().UnixNano())
	if err != nil {
		t.state.Store("failed")
	} else {
		t.state.Store("done")
	}
}

// Stats returns a snapshot of the current or last run. It is safe to call
// from any goroutine while Run is going.
func (e *Extractor) Stats() Stats {
	e.stats.mu.Lock()
	tables := e.stats.tables
	e.stats.mu.Unlock()
	var s Stats
	now := time.Now()
	for _, t := range tables {
		ts := TableStats{
			Table: t.name, Rows: t.rows.Load(), Bytes: t.bytes.Load(), Batches: t.batches.Load(),
			Retries: t.retries.Load(), EstimatedRows: t.estimate.Load(),
			Partitions: int(t.parts.Load()), PartitionsDone: int(t.partsDone.Load()),
		}
		ts.State, _ = t.state.Load().(string)
		if ns := t.startedNs.Load(); ns != 0 {
			ts.Started = time.Unix(0, ns)
			end := now
			if d := t.doneNs.Load(); d != 0 {
				end = time.Unix(0, d)
			}
			ts.Elapsed = end.Sub(ts.Started)
		}
		if sec := ts.Elapsed.Seconds(); sec > 0 {
			ts.RowsPerSecond = float64(ts.Rows-t.base.Load()) / sec
			if ts.EstimatedRows > ts.Rows && ts.RowsPerSecond > 0 && ts.State == "running" {
				ts.ETA = time.Duration(float64(ts.EstimatedRows-ts.Rows) / ts.RowsPerSecond * float64(time.Second))
			}
		}
		s.Rows += ts.Rows
		s.Tables = append(s.Tables, ts)
	}
	return s
}
