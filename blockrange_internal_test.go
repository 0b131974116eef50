package redshiftsync

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// TestBlockOrderPlans: the first read of a pass in block order is a plain
// sequential scan (which reads a large table through a small ring of
// buffers), and the resume after a position, and the catch-up of the blocks
// already read, are TID Range Scans, which read only those blocks (before
// PostgreSQL 14 the same predicate scanned the whole table).
func TestBlockOrderPlans(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.u (n int, label text);
INSERT INTO %[1]s.u SELECT i, 'l' || i FROM generate_series(1, 50000) i; ANALYZE %[1]s.u;`)
	base := (&readShape{selectList: "n, label", from: sqlident.Qualified(s, "u"), filters: []string{"n IS NOT NULL"}}).blockShape()
	for _, c := range []struct {
		shape *readShape
		plan  string
	}{
		{base, "Seq Scan"},
		{base.tidPredicate(">", "(16,3)"), "Tid Range Scan"},
		{base.tidPredicate("<=", "(16,3)"), "Tid Range Scan"},
	} {
		q, args := c.shape.pageSQL(nil, 0)
		plan := pgtest.QueryColumn[string](t, db, "EXPLAIN "+q, args...)
		if !strings.Contains(plan[0], c.plan) {
			t.Errorf("%s\nis planned as\n%s\nwant a %s", q, strings.Join(plan, "\n"), c.plan)
		}
	}
}

// TestParseTID: positions are read back exactly.
func TestParseTID(t *testing.T) {
	if got, ok := parseTIDBytes([]byte("(4294967295,291)")); !ok || got != [2]int64{4294967295, 291} || tidString(got) != "(4294967295,291)" {
		t.Errorf("parseTIDBytes = %v, %v", got, ok)
	}
	for _, bad := range []string{"", "(1)", "(a,1)", "1,2,3", "(,1)", "(1,)", "(1,2,3)"} {
		if _, ok := parseTIDBytes([]byte(bad)); ok {
			t.Errorf("parseTIDBytes(%q) accepted it", bad)
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

// TestCheckBlockProgress: the position of a pass in block order is one ctid
// in one unbounded partition; anything else is refused as corrupt before it
// is bound into a query.
func TestCheckBlockProgress(t *testing.T) {
	lo := "1"
	for _, c := range []struct {
		parts []*partition
		ok    bool
	}{
		{[]*partition{{}}, true},
		{[]*partition{{After: []string{"(12,3)"}}}, true},
		{[]*partition{{After: []string{"12"}}}, false},
		{[]*partition{{After: []string{"(1,2)", "(3,4)"}}}, false},
		{[]*partition{{Lower: &lo}}, false},
		{[]*partition{{}, {}}, false},
	} {
		p := &progress{Phase: phaseRows, Blocks: &blockPass{FileNode: 1}, Partitions: c.parts}
		if err := checkProgress("s.t", p); (err == nil) != c.ok || err != nil && !errors.Is(err, ErrStateCorrupt) {
			t.Errorf("partitions %+v: err = %v", c.parts[0], err)
		}
	}
}
