// This file holds the block-range reads of PostgreSQL tables that have no
// index to page by (keyless tables, and tables whose leading ordering column
// has no B-tree index): how the table's blocks are cut into ranges, and the
// shape of one range's read.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// BlockPass records how a phase read in block ranges numbered the table:
// its partitions are then ranges of the table's blocks, each streamed whole
// (a TID Range Scan, PostgreSQL 14+) and the unit of resume.
type BlockPass struct {
	// FileNode is the table's pg_relation_filenode when the ranges were
	// numbered. VACUUM FULL, CLUSTER, TRUNCATE and rewriting ALTER TABLEs
	// give the table a new one and renumber its rows: the block numbers
	// then mean nothing, and the pass starts again.
	FileNode int64 `json:"file_node"`
	// Blocks is the table's size in blocks when the ranges were numbered.
	// The last range has no upper bound, so blocks added since are read.
	Blocks int64 `json:"blocks"`
}

// Block ranges are sized so that a crash, which re-reads the ranges in
// flight (one per worker), re-reads little: about rangesPerWorker ranges per
// worker, so the ranges in flight are about 1/rangesPerWorker of the table
// (3%). A range is never smaller than minRangeBlocks (each range is a query:
// tiny ones would cost more in round trips than they save) nor larger than
// maxRangeBlocks (64 MiB of 8 KiB blocks: on a large table a crash then
// re-reads at most that much per worker, and a range takes about a second
// to read at this library's speed). maxBlockRanges bounds the ranges of one
// table, and with them the size of the state document saved at every
// checkpoint; past it (tables over 64 GiB) ranges grow.
const (
	rangesPerWorker = 32
	minRangeBlocks  = 16
	maxRangeBlocks  = 8192
	maxBlockRanges  = 1024
)

// tidRangeMinVersion is the first server_version_num with TID Range Scans:
// before it, a ctid range predicate scans the whole table.
const tidRangeMinVersion = 140000

// blockRanges cuts the phase of prog into ranges of the table's blocks, or
// reports false when the table cannot be read so: a server before
// PostgreSQL 14, or a partitioned table (each of its partitions has a block
// space of its own; such a table is read in one pass, as before).
func (u *unit) blockRanges(ctx context.Context, prog *Progress) ([]*Partition, bool, error) {
	t := u.t
	var kind string
	var node, blocks, version int64
	q := `SELECT c.relkind::text, coalesce(pg_relation_filenode(c.oid)::text::bigint, 0),
	pg_relation_size(c.oid) / current_setting('block_size')::bigint, current_setting('server_version_num')::bigint
FROM pg_catalog.pg_class c WHERE c.oid = $1::regclass`
	err := u.withRetry(ctx, "read table size", func() error {
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
		t.log.Debug("table read in one pass, not in block ranges", "relkind", kind, "server_version_num", version)
		return nil, false, nil
	}
	size := rangeBlocks(blocks, t.e.cfg.MaxParallelWorkers)
	n := max((blocks+size-1)/size, 1)
	parts := make([]*Partition, n)
	for i := range parts {
		parts[i] = &Partition{}
		if i > 0 {
			lo := tidText(int64(i) * size)
			parts[i].Lower = &lo
		}
		if int64(i) < n-1 {
			hi := tidText(int64(i+1) * size)
			parts[i].Upper = &hi
		}
	}
	prog.Blocks = &BlockPass{FileNode: node, Blocks: blocks}
	prog.Chunked = true
	t.log.Debug("table split into block ranges", "ranges", n, "blocks", blocks, "range_blocks", size)
	return parts, true, nil
}

// rangeBlocks returns the blocks of one range of a table of blocks blocks
// read by workers workers.
func rangeBlocks(blocks int64, workers int) int64 {
	size := (blocks + int64(rangesPerWorker*workers) - 1) / int64(rangesPerWorker*workers)
	size = min(max(size, minRangeBlocks), maxRangeBlocks)
	return max(size, (blocks+maxBlockRanges-1)/maxBlockRanges)
}

// tidText returns the tid of the first tuple slot of block b.
func tidText(b int64) string { return "(" + strconv.FormatInt(b, 10) + ",0)" }

// withinBlocks returns the shape narrowed to one block range, Lower <= ctid
// < Upper, streamed without order.
func (s *readShape) withinBlocks(p *Partition) *readShape {
	c := *s
	c.orderBy, c.orderIdx = nil, nil
	c.filters = append([]string(nil), s.filters...)
	c.args = append([]any(nil), s.args...)
	ctid := sqlident.Quote("ctid")
	if p.Lower != nil {
		c.args = append(c.args, *p.Lower)
		c.filters = append(c.filters, ctid+" >= $"+strconv.Itoa(len(c.args))+"::tid")
	}
	if p.Upper != nil {
		c.args = append(c.args, *p.Upper)
		c.filters = append(c.filters, ctid+" < $"+strconv.Itoa(len(c.args))+"::tid")
	}
	return &c
}

// partShape returns the shape of one partition of the "rows" phase.
func (s *tableSync) partShape(part *Partition) *readShape {
	if s.prog.Blocks != nil {
		return s.shape().withinBlocks(part)
	}
	shape := s.shape()
	if part.Lower != nil || part.Upper != nil {
		shape = shape.within(part)
	}
	if s.prog.Chunked {
		shape.orderBy, shape.orderIdx = nil, nil // streamed whole, unordered
	}
	return shape
}
