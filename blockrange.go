// This file holds the block-order reads of PostgreSQL tables that have no
// index to page by (keyless tables, and tables whose leading ordering column
// has no B-tree index): one sequential scan in block order whose position is
// the exact ctid of the last row delivered, resumed with a TID Range Scan.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// blockPass records that a phase is read in block order: its one partition's
// After is then the ctid ("(block,offset)") of the last row delivered, and
// the phase resumes strictly after it.
type blockPass struct {
	// FileNode is the table's pg_relation_filenode when the pass began.
	// VACUUM FULL, CLUSTER, TRUNCATE and rewriting ALTER TABLEs give the
	// table a new one and renumber its rows: the position then means
	// nothing, and the pass starts again.
	FileNode int64 `json:"file_node"`
	// Blocks is the table's size in blocks when the pass began, for the
	// operator; the read is not bounded by it.
	Blocks int64 `json:"blocks"`
}

// Why one scan in block order rather than ranges of blocks read
// concurrently: a TID Range Scan does not use the small ring of buffers that
// a sequential scan of a table larger than a quarter of shared_buffers
// reads through, so ranges cost the server 1.4-1.5 times as much per block
// (measured on PostgreSQL 15, 273 MB table, 128 MB shared_buffers) and
// evict the rest of the server's working set from shared_buffers. A plain
// sequential scan returns the rows in (block, offset) order when neither
// synchronized scans nor parallel workers reorder it (both are turned off
// for the read's transaction, and the order is checked row by row), so its
// position can be as exact as a keyset page's: a crash re-reads only the
// rows since the last checkpoint, and the resume, `ctid > $last`, is a TID
// Range Scan of the rest of the table only.

// tidRangeMinVersion is the first server_version_num with TID Range Scans:
// before it, the resume predicate would scan the whole table.
const tidRangeMinVersion = 140000

// blockOrderSQL is run in the transaction of every read of a pass in block
// order: a synchronized scan could start mid-table, parallel workers
// interleave blocks, and an index or bitmap scan of some other index would
// not return block order either.
const blockOrderSQL = "; SET LOCAL synchronize_seqscans TO off; SET LOCAL max_parallel_workers_per_gather TO 0" +
	"; SET LOCAL enable_indexscan TO off; SET LOCAL enable_indexonlyscan TO off; SET LOCAL enable_bitmapscan TO off"

// blockRanges makes the phase of prog one read in block order, or reports
// false when the table cannot be read so: a server before PostgreSQL 14, a
// partitioned table (each of its partitions has a block space of its own;
// such a table is read in one pass, as before), or a pool where no session
// may hold the pass's snapshot (rows move between blocks when updated: the
// position is only meaningful within one snapshot).
func (u *unit) blockRanges(ctx context.Context, prog *progress) ([]*partition, bool, error) {
	t := u.t
	if t.e.pool.exporters == nil {
		return nil, false, nil
	}
	var kind string
	var node, blocks, version int64
	q := `SELECT c.relkind::text, coalesce(pg_relation_filenode(c.oid)::text::bigint, 0),
	pg_relation_size(c.oid) / current_setting('block_size')::bigint, current_setting('server_version_num')::bigint
FROM pg_catalog.pg_class c WHERE c.oid = $1::regclass`
	err := u.withRetry(ctx, StepReadTableSize, func() error {
		return u.query(ctx, q, []any{t.regclass()}, func(row []driver.Value) error {
			k, err := decodeString(row[0])
			if kind, _ = k.(string); err != nil || kind == "" {
				return fmt.Errorf("relkind %v: %v", row[0], err)
			}
			node, _ = row[1].(int64)
			blocks, _ = row[2].(int64)
			version, _ = row[3].(int64)
			return nil
		})
	})
	if err != nil {
		return nil, false, err
	}
	if kind != "r" || version < tidRangeMinVersion || node == 0 {
		t.log.Debug("table read in one pass, not in block order", "relkind", kind, "server_version_num", version)
		return nil, false, nil
	}
	prog.Blocks = &blockPass{FileNode: node, Blocks: blocks}
	prog.Chunked = false
	t.log.Debug("table read in block order", "blocks", blocks)
	return []*partition{{}}, true, nil
}

// blockShape returns the shape of a read in block order: unordered, with the
// row's ctid selected after the table's columns.
func (s *readShape) blockShape() *readShape {
	c := *s
	c.orderBy, c.orderIdx = nil, nil
	c.selectList = s.selectList + ", " + sourceAlias + "." + sqlident.Quote("ctid")
	if s.textList != "" {
		c.textList = s.textList + ", " + sourceAlias + "." + sqlident.Quote("ctid")
	}
	if s.wireList != "" {
		c.wireList = s.wireList + ", " + sourceAlias + "." + sqlident.Quote("ctid")
	}
	return &c
}

// tidPredicate returns the shape with "ctid op $n::tid" added.
func (s *readShape) tidPredicate(op, tid string) *readShape {
	return s.withFilter(sqlident.Quote("ctid")+" "+op+" %[1]s::tid", []any{tid})
}

// partShape returns the shape of one partition of the "rows" phase.
func (s *tableSync) partShape(part *partition) *readShape {
	if s.prog.Blocks != nil {
		return s.shape().blockShape()
	}
	shape := s.shape()
	if part.Lower != nil || part.Upper != nil || part.Null {
		shape = shape.within(part)
	}
	if s.prog.Chunked || part.Null {
		shape.orderBy, shape.orderIdx = nil, nil // streamed whole, unordered
	}
	return shape
}

// readPart reads one partition of the "rows" phase to its end.
func (u *unit) readPart(ctx context.Context) error {
	if u.t.prog.Blocks != nil {
		// Not a chunk: its position moves with every batch.
		u.part = nil
		return u.readBlocks(ctx)
	}
	return u.read(ctx)
}

// readBlocks streams the table in block order from after its position,
// delivering batches as they fill and moving the position to the ctid of
// each batch's last row, so a checkpoint can fall anywhere and a retry
// resumes after the last delivered batch.
func (u *unit) readBlocks(ctx context.Context) (err error) {
	defer func() { u.releaseConn(err != nil) }()
	t := u.t
	cols := len(t.plan.Table.Columns)
	return u.withRetry(ctx, StepReadBlocks, func() error {
		t.mu.Lock()
		after := *u.after
		t.mu.Unlock()
		shape := u.shape
		var prev [2]int64
		if after != nil {
			shape = shape.tidPredicate(">", after[0])
			var ok bool
			if prev, ok = parseTIDBytes([]byte(after[0])); !ok {
				return &TableError{Table: t.name, Step: StepReadBlocks, Err: fmt.Errorf("%w: the saved position %q is not a ctid", ErrStateCorrupt, after[0])}
			}
		}
		q, args := shape.pageSQL(nil, 0)
		check := func(row []driver.Value) error {
			// The ctid is parsed in place, for every row: its text
			// would be an allocation per row.
			raw, _ := row[cols].([]byte)
			cur, ok := parseTIDBytes(raw)
			if !ok || cur[0] < prev[0] || cur[0] == prev[0] && cur[1] <= prev[1] {
				// Never resume from a position the scan did not pass
				// in order: rows between would be skipped.
				return &TableError{Table: t.name, Step: StepReadBlocks, Err: fmt.Errorf("row %q arrived after row %s: the scan is not in block order", raw, tidString(prev))}
			}
			prev = cur
			return nil
		}
		// The batch's last row is the last checked: prev is its ctid.
		_, err := u.streamBatches(ctx, q, args, check, func([]any) ([]string, error) { return []string{tidString(prev)}, nil })
		return err
	})
}

// tidString formats a tid as PostgreSQL does.
func tidString(t [2]int64) string {
	return "(" + strconv.FormatInt(t[0], 10) + "," + strconv.FormatInt(t[1], 10) + ")"
}

// parseTIDBytes parses "(block,offset)" without allocating.
func parseTIDBytes(b []byte) ([2]int64, bool) {
	var out [2]int64
	if len(b) < 5 || b[0] != '(' || b[len(b)-1] != ')' {
		return out, false
	}
	i, digits := 0, 0
	for _, c := range b[1 : len(b)-1] {
		switch {
		case c >= '0' && c <= '9':
			out[i] = out[i]*10 + int64(c-'0')
			digits++
		case c == ',' && i == 0 && digits > 0:
			i, digits = 1, 0
		default:
			return out, false
		}
	}
	return out, i == 1 && digits > 0
}

// checkBlockProgress checks the progress of a pass in block order as a
// document holds it: one partition, without bounds, whose position is a
// ctid.
func checkBlockProgress(table string, p *progress) error {
	if p.Phase != phaseRows || len(p.Partitions) != 1 || p.Partitions[0].Lower != nil || p.Partitions[0].Upper != nil || p.After != nil {
		return fmt.Errorf("%w: table %q: a pass in block order has one partition without bounds, in the rows phase; move the state away to sync the table from its start", ErrStateCorrupt, table)
	}
	switch after := p.Partitions[0].After; len(after) {
	case 0:
	case 1:
		if _, ok := parseTIDBytes([]byte(after[0])); ok {
			break
		}
		fallthrough
	default:
		return fmt.Errorf("%w: table %q: the position of a pass in block order is one ctid, not %q; move the state away to sync the table from its start", ErrStateCorrupt, table, after)
	}
	return nil
}
