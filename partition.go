// This file holds range splitting: the partitions (or Redshift chunks) a
// table's rows phase (and, on Redshift, its null_keys phase) is cut into,
// with the min/max query and the arithmetic that cut them, and the
// concurrent read of those ranges.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"errors"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// readRows reads the "rows" phase: one unit, or one per unfinished
// partition, concurrently. The first failing partition stops the others.
func (s *tableSync) readRows(ctx context.Context) error {
	if len(s.prog.Partitions) == 0 {
		return s.newUnit(s.shape(), &s.prog.After).read(ctx)
	}
	// As many readers as the worker budget allows; each takes the next
	// range when it finishes one, in key order.
	return eachPart(ctx, s, StepRead, s.prog.Partitions,
		func(part *partition) bool { return part.Done },
		func(ctx context.Context, part *partition) error {
			u := s.newUnit(s.partShape(part), &part.After)
			u.part = part
			if err := u.readPart(ctx); err != nil {
				return err
			}
			s.mu.Lock()
			part.Done = true
			s.mu.Unlock()
			return nil
		})
}

// eachPart runs read for every part not yet done, as many at once as the
// worker budget allows, each worker taking the next part in order when it
// finishes one; the table's Stats count the parts. The first failure stops
// the others and is returned; a failure that is not a *TableError (the run
// was canceled) is reported as one at step.
func eachPart[P any](ctx context.Context, s *tableSync, step string, parts []P, done func(P) bool, read func(context.Context, P) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan P, len(parts))
	s.stats.parts.Store(int64(len(parts)))
	for _, part := range parts {
		if done(part) {
			s.stats.partsDone.Add(1)
		} else {
			todo <- part
		}
	}
	close(todo)
	var wg sync.WaitGroup
	for range min(s.e.cfg.MaxParallelWorkers, len(todo)) {
		wg.Go(func() {
			defer s.catch(step, cancel)
			for part := range todo {
				if ctx.Err() != nil {
					return
				}
				if err := read(ctx, part); err != nil {
					cancel(err)
					return
				}
				s.stats.partsDone.Add(1)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		var te *TableError
		if !errors.As(err, &te) {
			err = &TableError{Table: s.name, Step: step, Err: err} // the run was canceled
		}
		return err
	}
	return nil
}

// chunkRows is the size a Redshift table's key ranges aim at: large enough
// that the leader node's cost per query stays small, small enough that a
// crash re-reads little. (A variable for tests: SetChunkRows.)
var chunkRows int64 = 1_000_000

// maxChunks caps the chunks of one table (a stale or wrong estimate must not
// make thousands of tiny queries); larger tables get larger chunks.
const maxChunks = 256

// partitions splits the phase of prog into Config.Partitions key ranges of
// equal width on the leading ordering column, from one min/max query, when
// the table is large enough and that column is an integer or a timestamp.
//
// On Redshift the ranges are chunks instead (see progress.Chunked): every
// table whose leading column can be split is read in key ranges of about
// chunkRows rows, each streamed without ORDER BY, since a per-page sort runs
// on the leader node. The null_keys phase (prog.Phase) is chunked on the
// primary key's leading column, sized by its own rows (counted).
//
// On PostgreSQL a table with no index to page by (keyless, or its leading
// ordering column unindexed) is read in block order instead, when the
// server can (see blockRanges).
func (u *unit) partitions(ctx context.Context, prog *progress) ([]*partition, error) {
	t, cfg := u.t, u.t.e.cfg
	est := t.plan.Table.EstimatedRows
	large := cfg.Partitions > 1 && est >= int64(cfg.PartitionThreshold)
	nullKeys := prog.Phase == phaseNullKeys // the rows whose replication key is NULL (Redshift only)
	shape := t.plan.shape(prog.Phase, prog, t.lookback(), t.dialect)
	if t.dialect != DialectRedshift && (len(shape.orderBy) == 0 || !shape.orderBy[0].Indexed) {
		// No index to page by: block order, resumable, when the server
		// can read them (see blockrange.go).
		if parts, ok, err := u.blockRanges(ctx, prog); err != nil || ok {
			return parts, err
		}
	}
	if len(shape.orderBy) == 0 {
		return nil, nil
	}
	lead := shape.orderBy[0]
	// Without an index on the leading column, every keyset page would scan
	// the table: read it in one streaming pass (a single chunk), or one per
	// partition when it is large.
	unindexed := t.dialect != DialectRedshift && !lead.Indexed
	chunked := t.dialect == DialectRedshift || unindexed
	if !large && !chunked {
		return nil, nil
	}
	cut := splittable(lead.Type) || (t.dialect == DialectRedshift && chunkSplittable(lead.Type))
	if !cut && t.dialect == DialectRedshift && !nullKeys {
		// Chunks are streamed unordered: they may range over another
		// column than the ordering's (a text key's), such as the sort key.
		if c, ok := t.chunkColumn(); ok {
			prog.ChunkColumn = c.Name
			shape = t.plan.shape(phaseRows, prog, t.lookback(), t.dialect)
			lead, cut = c, true
		}
	}
	if !cut {
		if chunked {
			// One streaming pass over the phase, resumed as a whole: on
			// Redshift, rather than keyset pages that the leader node
			// sorts one by one.
			prog.Chunked = true
			t.log.Debug("table split into key ranges", "ranges", 1, "chunked", true, "column", lead.Name)
			return []*partition{{}}, nil
		}
		return nil, nil
	}
	n := 1
	if large {
		n = cfg.Partitions
	}
	// Redshift chunks are sized by svv_table_info's row count; when it is
	// unknown (the view is visible only to superusers unless granted:
	// https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html)
	// the rows are counted instead, range by range (see sizeRanges).
	// The null_keys phase is sized by its own rows: the table's estimate
	// says nothing of how many keys are NULL.
	counted := chunked && !unindexed && (est <= 0 || nullKeys)
	switch {
	case unindexed:
	case chunked && !counted:
		n = max(n, int(min((est+chunkRows-1)/chunkRows, maxChunks)))
	}
	if n == 1 && !counted {
		prog.Chunked = true // one range: no bounds to find
		t.log.Debug("table split into key ranges", "ranges", 1, "chunked", true, "column", lead.Name)
		return []*partition{{}}, nil
	}
	lo, hi, rows, err := u.rangeStats(ctx, shape, counted)
	if err != nil {
		return nil, err
	}
	if counted {
		// At least partitions ranges, as with an estimate.
		n = max(n, cfg.Partitions, int(min((rows+chunkRows-1)/chunkRows, maxChunks)))
	}
	var bounds []string
	if lo != nil && hi != nil {
		if bounds, err = splitRange(lo, hi, n, lead.Type); err != nil {
			return nil, err
		}
	}
	if len(bounds) == 0 {
		if !chunked {
			return nil, nil
		}
		// No width to cut (no non-NULL key, one value, an infinite end):
		// one chunk, which holds the NULLs too.
		prog.Chunked = true
		t.log.Debug("table split into key ranges", "ranges", 1, "chunked", true, "column", lead.Name)
		return []*partition{{}}, nil
	}
	prog.Chunked = chunked
	parts := cutRange(&partition{}, bounds)
	if counted {
		// Equal widths hold equal rows only where the keys are spread
		// evenly: a range found to hold more is split again.
		if parts, err = u.sizeRanges(ctx, shape, parts); err != nil {
			return nil, err
		}
	}
	if shape.rangeNullable {
		// Lower <= k < Upper holds no NULL: those rows are a chunk of
		// their own, last as in the key's sort order.
		parts = append(parts, &partition{Null: true})
	}
	t.log.Debug("table split into key ranges", "ranges", len(parts), "chunked", chunked, "column", lead.Name)
	return parts, nil
}

// cutRange returns the len(bounds)+1 ranges that the increasing bounds cut p's
// range into: the first from p's Lower, the last to p's Upper.
func cutRange(p *partition, bounds []string) []*partition {
	out := make([]*partition, len(bounds)+1)
	for i := range out {
		out[i] = &partition{Lower: p.Lower, Upper: p.Upper}
		if i > 0 {
			out[i].Lower = &bounds[i-1]
		}
		if i < len(bounds) {
			out[i].Upper = &bounds[i]
		}
	}
	return out
}

// minMaxSQL returns the query of the leading ordering column's range within
// the shape: one cheap query (an index or zone maps answer it), never OFFSET
// probes. With count, it counts the column's values too (a scan of the
// column: on Redshift, of its blocks the zone maps do not rule out).
func (s *readShape) minMaxSQL(count bool) (string, []any) {
	q := sqlident.Quote(s.rangeColumn().Name)
	sql := "SELECT min(" + q + "), max(" + q + ")"
	if count {
		sql += ", count(" + q + ")"
	}
	sql += " FROM " + s.from
	if len(s.filters) > 0 {
		sql += " WHERE " + strings.Join(s.filters, " AND ")
	}
	return sql, s.args
}

// rangeStats returns the smallest and largest value of the shape's leading
// ordering column (nil when it has none) and, with count, how many rows
// hold a value.
func (u *unit) rangeStats(ctx context.Context, shape *readShape, count bool) (lo, hi any, rows int64, err error) {
	q, args := shape.minMaxSQL(count)
	dec := decoderFor(shape.rangeColumn())
	err = u.withRetry(ctx, StepReadBounds, func() error {
		return u.query(ctx, q, args, func(row []driver.Value) error {
			var err error
			if lo, err = dec(row[0]); err != nil {
				return err
			}
			if hi, err = dec(row[1]); err != nil {
				return err
			}
			if count {
				rows, _ = row[2].(int64)
			}
			return nil
		})
	})
	return lo, hi, rows, err
}

// maxSplitDepth bounds how many times sizeRanges splits a range again: each
// level costs a count of every range it splits.
const maxSplitDepth = 3

// sizeRanges counts the rows of each key range and splits one that holds
// more than twice chunkRows again, into ranges of equal width between its
// own smallest and largest value, until each holds at most that, a range
// cannot be cut (one value), maxSplitDepth levels are done or the table has
// maxChunks ranges. Used when no row count is known for the table: keys
// spread unevenly (a few outliers far above the rest) would otherwise make
// one chunk hold nearly every row.
func (u *unit) sizeRanges(ctx context.Context, base *readShape, parts []*partition) ([]*partition, error) {
	lead := base.rangeColumn()
	var out []*partition
	var split func(p *partition, depth int) error
	split = func(p *partition, depth int) error {
		if depth >= maxSplitDepth || len(out)+1 >= maxChunks {
			out = append(out, p)
			return nil
		}
		lo, hi, rows, err := u.rangeStats(ctx, base.within(p), true)
		if err != nil {
			return err
		}
		if rows <= 2*chunkRows || lo == nil || hi == nil {
			out = append(out, p)
			return nil
		}
		n := int(min((rows+chunkRows-1)/chunkRows, int64(maxChunks)))
		bounds, err := splitRange(lo, hi, n, lead.Type)
		if err != nil || len(bounds) == 0 {
			out = append(out, p)
			return err
		}
		for _, sub := range cutRange(p, bounds) {
			if err := split(sub, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range parts {
		if err := split(p, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// splittable reports whether a range of the type can be cut into equal widths.
func splittable(lt LogicalType) bool {
	switch lt {
	case TypeShort, TypeInt, TypeLong, TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime:
		return true
	}
	return false
}

// chunkSplittable reports whether a Redshift chunk's range on a column of
// the type can be cut: splittable's types, and decimals and floats, whose
// chunks are streamed unordered (on PostgreSQL they are keyset-paged within
// partitions on splittable types only, as before).
func chunkSplittable(lt LogicalType) bool {
	return splittable(lt) || lt == TypeDecimal || lt == TypeFloat || lt == TypeDouble
}

// splitRange returns up to n-1 increasing inner bounds that cut [lo, hi] into
// n ranges of equal width, as key text of type lt. Values arrive as the
// decoders deliver them: int64, or time.Time, or the strings "infinity" and
// "-infinity" for an infinite date or timestamp, or a Decimal, or a float64.
// A range with an infinite end (or NaN), or ends of two kinds, has no width
// to cut and is read unsplit (no bounds); any input returns, none panics
// (FuzzSplitRange).
func splitRange(lo, hi any, n int, lt LogicalType) ([]string, error) {
	var a, b int64
	switch x := lo.(type) {
	case Decimal:
		y, ok := hi.(Decimal)
		if !ok {
			return nil, nil
		}
		return splitDecimal(x, y, n), nil
	case float64:
		y, ok := hi.(float64)
		if !ok {
			return nil, nil
		}
		return splitFloat(x, y, n), nil
	case int64:
		y, ok := hi.(int64)
		if !ok {
			return nil, nil
		}
		a, b = x, y
	case time.Time:
		y, ok := hi.(time.Time)
		if !ok {
			return nil, nil // hi is 'infinity'
		}
		a, b = x.UnixMicro(), y.UnixMicro()
	default:
		return nil, nil // lo is '-infinity' (or 'infinity': a range of infinities)
	}
	if b <= a {
		return nil, nil
	}
	span := new(big.Int).Sub(big.NewInt(b), big.NewInt(a))
	var out []string
	for i := 1; i < n; i++ {
		step := new(big.Int).Mul(span, big.NewInt(int64(i)))
		step.Quo(step, big.NewInt(int64(n)))
		v := a + step.Int64()
		var txt string
		var err error
		if _, ok := lo.(time.Time); ok {
			txt, err = keyText(time.UnixMicro(v).UTC(), lt)
		} else {
			txt, err = keyText(v, lt)
		}
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1] != txt {
			out = append(out, txt)
		}
	}
	return out, nil
}

// splitParts is how many chunks a Redshift chunk whose statement timed out
// is read in instead (see readSplit).
const splitParts = 4

// canSplit reports whether a Redshift chunk whose statement timed out can
// be read in smaller key ranges: a range (not the NULLs' chunk) on a
// column that can be cut.
func (s *tableSync) canSplit(part *partition) bool {
	if s.dialect != DialectRedshift || part.Null || s.prog.Blocks != nil {
		return false
	}
	shape := s.shape()
	return len(shape.orderBy) > 0 && chunkSplittable(shape.rangeColumn().Type)
}

// readSplit reads the unit's chunk, whose statement timed out (cause), as
// splitParts chunks of equal width between its own smallest and largest
// key, which take its place in the progress (so a crash resumes at them),
// each split again if it times out too. Running the same statement again
// would meet the same statement_timeout or WLM rule. A chunk of one key
// value cannot be split: it is retried once more as it is, and a second
// timeout fails the table (see withRetry).
func (u *unit) readSplit(ctx context.Context, cause error) error {
	t, part := u.t, u.part
	base := t.shape().within(part)
	u.splitOnTimeout = false
	lo, hi, _, err := u.rangeStats(ctx, base, false)
	if err != nil {
		return err
	}
	var bounds []string
	if lo != nil && hi != nil {
		if bounds, err = splitRange(lo, hi, splitParts, base.rangeColumn().Type); err != nil {
			return err
		}
	}
	if len(bounds) == 0 {
		u.timeouts = 1 // the timeout that brought it here
		return u.readChunk(ctx)
	}
	u.releaseConn(false) // the smaller chunks take connections of their own
	subs := cutRange(part, bounds)
	t.mu.Lock()
	if i := slices.Index(t.prog.Partitions, part); i >= 0 {
		t.prog.Partitions = slices.Replace(t.prog.Partitions, i, i+1, subs...)
	}
	t.mu.Unlock()
	t.stats.parts.Add(int64(len(subs) - 1))
	t.log.Warn("statement timed out: reading its chunk in smaller chunks", "chunks", len(subs), "sqlstate", SQLState(cause), "error", cause)
	for _, sub := range subs {
		su := t.newUnit(t.partShape(sub), &sub.After)
		su.part = sub
		if err := su.read(ctx); err != nil {
			return err
		}
		t.mu.Lock()
		sub.Done = true
		t.mu.Unlock()
		t.stats.partsDone.Add(1)
	}
	t.stats.partsDone.Add(-1) // readRows counts the chunk split here as done
	return nil
}

// splitDecimal is splitRange for decimals: exact arithmetic on the texts,
// each bound printed with two more fractional digits than the ends have.
// The server rounds a bound to the column's scale when it binds it, which
// keeps the bounds in order (a range may come out empty, never overlap
// another); every row lies in exactly one range whatever the bounds are.
func splitDecimal(lo, hi Decimal, n int) []string {
	a, okA := new(big.Rat).SetString(string(lo))
	b, okB := new(big.Rat).SetString(string(hi))
	if !okA || !okB || b.Cmp(a) <= 0 || n < 2 {
		return nil // NaN, or nothing to cut
	}
	digits := 2
	for _, d := range []Decimal{lo, hi} {
		if i := strings.IndexByte(string(d), '.'); i >= 0 {
			digits = max(digits, len(d)-i-1+2)
		}
	}
	digits = min(digits, 40)
	span := new(big.Rat).Sub(b, a)
	var out []string
	for i := 1; i < n; i++ {
		v := new(big.Rat).Mul(span, big.NewRat(int64(i), int64(n)))
		v.Add(v, a)
		txt := decimalKeyText(Decimal(v.FloatString(digits)))
		if len(out) == 0 || out[len(out)-1] != txt {
			out = append(out, txt)
		}
	}
	return out
}

// splitFloat is splitRange for floats: a*(n-i)/n + b*i/n, which cannot
// overflow as b-a can, printed exactly (floatKeyText); bounds that do not
// increase (rounding between two adjacent floats) are dropped.
func splitFloat(a, b float64, n int) []string {
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) || b <= a || n < 2 {
		return nil
	}
	var out []string
	prev := a
	for i := 1; i < n; i++ {
		f := float64(i) / float64(n)
		v := a*(1-f) + b*f
		if v <= prev || v > b {
			continue
		}
		prev = v
		out = append(out, floatKeyText(v))
	}
	return out
}

// chunkColumn returns the column a Redshift table whose ordering column
// cannot be cut (a text key) is chunked on instead: its sort key when that
// can be cut, else its first integer, date or timestamp column, NOT NULL
// ones first. Zone maps prune ranges of the sort key best
// (https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html).
func (s *tableSync) chunkColumn() (Column, bool) {
	t := s.plan.Table
	if c, ok := t.Column(t.SortKey); ok && t.SortKey != "" && chunkSplittable(c.Type) {
		return c, true
	}
	var nullable *Column
	for _, c := range t.Columns {
		if !splittable(c.Type) {
			continue
		}
		if !c.Nullable {
			return c, true
		}
		if nullable == nil {
			nullable = &c
		}
	}
	if nullable != nil {
		return *nullable, true
	}
	return Column{}, false
}
