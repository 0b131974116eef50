package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// TestProgressWaiting: a table no worker reads yet is shown as waiting, not
// as running with no rows; past maxWaitingLines the rest are counted.
func TestProgressWaiting(t *testing.T) {
	s := redshiftsync.Stats{Tables: []redshiftsync.TableStats{
		{Table: "public.orders", State: "running", Rows: 10, EstimatedRows: 100, RowsPerSecond: 10},
	}}
	for i := range 8 {
		s.Tables = append(s.Tables, redshiftsync.TableStats{Table: fmt.Sprintf("public.w%d", i), State: "waiting", EstimatedRows: int64(1000 * i)})
	}
	var buf bytes.Buffer
	p := &progress{w: &buf, live: true}
	p.draw(s, time.Now())
	lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(buf.String(), "\x1b[K", ""), "\n"), "\n")
	want := []string{
		"public.orders                             10 / ~100          10%        10 rows/s  ETA ?",
		"public.w0                                    / ~0           waiting for a worker",
		"public.w1                                    / ~1,000       waiting for a worker",
		"public.w2                                    / ~2,000       waiting for a worker",
		"public.w3                                    / ~3,000       waiting for a worker",
		"public.w4                                    / ~4,000       waiting for a worker",
		"… 3 more waiting",
		"0/9 tables done, 1 running, 8 waiting, 0 rows",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("live frame:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if p.lines != len(want) {
		t.Errorf("frame of %d lines recorded as %d", len(want), p.lines)
	}

	// Plain: the waiting tables are counted, also before any table runs.
	buf.Reset()
	p = &progress{w: &buf}
	p.draw(redshiftsync.Stats{Tables: s.Tables[1:]}, time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC))
	if got := buf.String(); got != "12:00:00 0/8 tables done, 0 running, 8 waiting, 0 rows\n" {
		t.Errorf("plain frame with every table waiting: %q", got)
	}
}

// TestProgressIncrementalNoPercent: an incremental sync from a bookmark has
// no estimate of the rows it reads (-1): its line shows rows and rate, and
// no percentage of the whole table.
func TestProgressIncrementalNoPercent(t *testing.T) {
	line := tableLine(redshiftsync.TableStats{Table: "public.events", State: "running", Rows: 2500, EstimatedRows: -1, RowsPerSecond: 1250})
	if strings.Contains(line, "%") || !strings.Contains(line, "2,500 / ?") || !strings.Contains(line, "1,250 rows/s") {
		t.Errorf("incremental line: %q", line)
	}
}
