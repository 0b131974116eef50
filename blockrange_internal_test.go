package redshiftsync

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// TestBlockRangeIsTidRangeScan: the read of a block range is planned as a
// TID Range Scan, which reads only the range's blocks (before PostgreSQL 14
// the same predicate scanned the whole table, for every range).
func TestBlockRangeIsTidRangeScan(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.u (n int, label text);
INSERT INTO %[1]s.u SELECT i, 'l' || i FROM generate_series(1, 50000) i; ANALYZE %[1]s.u;`, s))
	base := &readShape{selectList: "n, label", from: sqlident.Qualified(s, "u"), filters: []string{"n IS NOT NULL"}}
	lo, hi := tidText(16), tidText(32)
	for _, p := range []*Partition{{Upper: &hi}, {Lower: &lo, Upper: &hi}, {Lower: &lo}} {
		q, args := base.withinBlocks(p).pageSQL(nil, 0)
		rows, err := db.Query("EXPLAIN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		if !strings.Contains(plan[0], "Tid Range Scan") {
			t.Errorf("%s\nis planned as\n%s", q, strings.Join(plan, "\n"))
		}
	}
}

// TestRangeBlocks: ranges aim at rangesPerWorker per worker, within their
// bounds in blocks and in number.
func TestRangeBlocks(t *testing.T) {
	for _, c := range []struct {
		blocks  int64
		workers int
		want    int64
	}{
		{0, 4, minRangeBlocks},
		{1000, 2, minRangeBlocks},
		{1 << 17, 4, 1 << 10},                    // 1 GiB, 4 workers: 128 ranges of 8 MiB
		{1 << 22, 4, maxRangeBlocks},             // 32 GiB: 64 MiB ranges
		{1 << 24, 4, (1 << 24) / maxBlockRanges}, // 128 GiB: the cap on ranges wins
	} {
		if got := rangeBlocks(c.blocks, c.workers); got != c.want {
			t.Errorf("rangeBlocks(%d, %d) = %d, want %d", c.blocks, c.workers, got, c.want)
		}
	}
}

// TestExportSlots: exporters never take the connections the readers need.
func TestExportSlots(t *testing.T) {
	for _, c := range []struct{ workers, maxOpen, want int }{
		{4, 0, 4}, // no limit
		{4, 9, 4}, // 2*workers+1: the extractor's own pool
		{4, 5, 1}, // workers+1, the documented minimum for NewFromDB
		{4, 7, 2}, //
		{4, 3, 1}, // too small: still one, readers get the rest
		{4, 1, 0}, // one connection: no exporter, no shared snapshot
		{1, 2, 1}, //
	} {
		if got := exportSlots(c.workers, c.maxOpen); got != c.want {
			t.Errorf("exportSlots(%d, %d) = %d, want %d", c.workers, c.maxOpen, got, c.want)
		}
	}
}
