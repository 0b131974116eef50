// This file holds the row-width probe: the peak RSS of a full sync of
// narrow, 64 KB, 1 MB and 16 MB rows, with no byte budget per batch
// (batch_bytes 0) and with the default one, everything else at the
// benchmark's settings (BatchSize 10,000, the default).

package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/seed2085993a/redshiftsync"
)

// widthTable is one table of the probe.
type widthTable struct {
	Name  string
	What  string
	Rows  int
	Bytes int // of each row's text
}

// widthTables: about 50, 130, 210 and 200 MB of row text. repeat(md5) compresses
// in TOAST, so they cost little disk and are quick to build.
var widthTables = []widthTable{
	{"width_narrow", "narrow (100 B)", 500_000, 100},
	{"width_64k", "64 KB", 2_000, 64 << 10},
	{"width_1m", "1 MB", 200, 1 << 20},
	{"width_16m", "16 MB", 12, 16 << 20},
}

// widthRow is what the probe measured for one table.
type widthRow struct {
	T                 widthTable
	NoneMiB, DefMiB   float64
	NoneSecs, DefSecs float64
}

func ensureWidthTables(ctx context.Context, db *sql.DB) error {
	for _, t := range widthTables {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM bench.`+t.Name).Scan(&n)
		if err == nil && n == t.Rows {
			continue
		}
		fmt.Printf("creating bench.%s (%d rows of %d bytes)...\n", t.Name, t.Rows, t.Bytes)
		_, err = db.ExecContext(ctx, fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.%[1]s;
CREATE TABLE bench.%[1]s (id bigint PRIMARY KEY, body text NOT NULL);
INSERT INTO bench.%[1]s SELECT i, left(repeat(md5(i::text), %[3]d), %[4]d) FROM generate_series(1, %[2]d) i;
ANALYZE bench.%[1]s;`, t.Name, t.Rows, t.Bytes/32+1, t.Bytes))
		if err != nil {
			return fmt.Errorf("create bench.%s: %w", t.Name, err)
		}
	}
	return nil
}

// measureWidths syncs each table twice per repetition, batch_bytes none and
// default, each in a child process of its own, and keeps the highest peak
// RSS and the best time of each.
func measureWidths(ctx context.Context, db *sql.DB, r *runner, reps int) ([]widthRow, error) {
	if err := ensureWidthTables(ctx, db); err != nil {
		return nil, err
	}
	var out []widthRow
	for _, t := range widthTables {
		row := widthRow{T: t}
		for rep := 0; rep < reps; rep++ {
			for _, bb := range []int{redshiftsync.BatchBytesNone, 0} {
				res, s, err := r.child(ctx, childArgs{Kind: kindExtract, Table: t.Name, Sink: "discard", BatchBytes: bb})
				if err != nil {
					return nil, err
				}
				if res.Rows != int64(t.Rows) {
					return nil, fmt.Errorf("bench.%s: %d rows synced, want %d", t.Name, res.Rows, t.Rows)
				}
				mib, secs := kibToMiB(s.MaxRSSKiB), s.Seconds
				if bb == 0 {
					row.DefMiB, row.DefSecs = max(row.DefMiB, mib), minPositive(row.DefSecs, secs)
				} else {
					row.NoneMiB, row.NoneSecs = max(row.NoneMiB, mib), minPositive(row.NoneSecs, secs)
				}
			}
		}
		fmt.Printf("  %s: peak RSS %.1f MiB with no budget, %.1f MiB with the default\n", t.What, row.NoneMiB, row.DefMiB)
		out = append(out, row)
	}
	return out, nil
}

func minPositive(a, b float64) float64 {
	if a <= 0 {
		return b
	}
	return min(a, b)
}

// widthsMarkdown is the probe's table for BENCHMARKS.md.
func widthsMarkdown(rows []widthRow) string {
	var b strings.Builder
	b.WriteString("| row width | rows | row text | peak RSS MiB, batch_bytes 0 (none) | peak RSS MiB, default (16 MiB) | best s, none | best s, default |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %.2f | %.2f |\n", r.T.What, thousands(int64(r.T.Rows)), mb(int64(r.T.Rows)*int64(r.T.Bytes)), r.NoneMiB, r.DefMiB, r.NoneSecs, r.DefSecs)
	}
	return b.String()
}
