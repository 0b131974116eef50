// This file holds the batching of a unit's rows: the page buffer rows are
// decoded into, and their delivery to the sink in batches bounded by
// BatchSize rows and BatchBytes bytes.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
)

// ensurePage sizes the page buffer for limit rows.
func (u *unit) ensurePage(limit int) {
	if len(u.page) >= limit {
		return
	}
	cols := len(u.t.plan.Table.Columns)
	u.ranks = make([]int64, limit)
	u.sizes = make([]int64, limit)
	u.backing = make([]any, limit*cols)
	u.page = make([][]any, limit)
	for i := range u.page {
		u.page[i] = u.backing[i*cols : (i+1)*cols : (i+1)*cols]
	}
}

// decodeInto decodes one driver row into row n of the page, records its
// size, and calls added once it did.
func (u *unit) decodeInto(n int, row []driver.Value, added func()) error {
	dst := u.page[n]
	for i, dec := range u.t.decoders {
		v, err := dec(&u.alloc, row[i])
		if err != nil {
			return &TableError{Table: u.t.name, Step: StepDecode, Err: fmt.Errorf("column %q: %w", u.t.plan.Table.Columns[i].Name, err)}
		}
		dst[i] = v
	}
	u.sizes[n] = rowBytes(dst)
	u.pageBytes += u.sizes[n]
	added()
	return nil
}

// deliverPage delivers a page's rows and moves the unit's position past
// them, as one step under the table's sink lock.
func (u *unit) deliverPage(ctx context.Context, rows [][]any, last []string) error {
	u.t.sinkMu.Lock()
	defer u.t.sinkMu.Unlock()
	if err := u.deliver(ctx, rows); err != nil {
		return err
	}
	u.t.advance(u, int64(len(rows)), last)
	return nil
}

// deliver hands rows to the sink, in batches of at most BatchSize rows and
// BatchBytes bytes; a row larger than BatchBytes is a batch on its own. rows
// is always the page's first rows, whose sizes decodeInto recorded. The
// caller holds the table's sink lock.
func (u *unit) deliver(ctx context.Context, rows [][]any) error {
	cfg, st := u.t.e.cfg, u.t.stats
	sizes := u.sizes[:len(rows)]
	for len(rows) > 0 {
		n := min(len(rows), cfg.BatchSize)
		var bytes int64
		for i := range n {
			rb := sizes[i]
			if cfg.BatchBytes > 0 && bytes+rb > int64(cfg.BatchBytes) {
				if i == 0 {
					n, bytes = 1, rb
				} else {
					n = i
				}
				break
			}
			bytes += rb
		}
		if err := u.t.writeLocked(ctx, rows[:n]); err != nil {
			return err
		}
		// The sink is done with the rows (Batch): drop their values now,
		// not when the next batch overwrites them, so that the garbage
		// collector does not keep a delivered batch alive beside the one
		// being decoded (with several workers, a batch each).
		for _, r := range rows[:n] {
			clear(r)
		}
		st.rows.Add(int64(n))
		st.bytes.Add(bytes)
		st.batches.Add(1)
		if u.t.log.Enabled(ctx, slog.LevelDebug) {
			u.t.log.Debug("batch delivered", "rows", n, "bytes", bytes)
		}
		rows, sizes = rows[n:], sizes[n:]
	}
	return nil
}

// overBudget reports whether the rows decoded into the page since it was
// last reset passed BatchBytes; a running sum, as summing the page at every
// row would cost a batch's rows squared.
func (u *unit) overBudget() bool {
	b := u.t.e.cfg.BatchBytes
	return b > 0 && u.pageBytes > int64(b)
}

// spill keeps a streamed page of *n rows within BatchBytes: when its last
// row took it past the budget, the rows before it are delivered (flush
// delivers the page's first *n rows and empties it) and that row starts the
// next batch, delivered alone at once when it is larger than the budget.
func (u *unit) spill(n *int, flush func() error) error {
	if !u.overBudget() {
		return nil
	}
	if k := *n; k > 1 {
		last := u.page[k-1]
		*n = k - 1
		if err := flush(); err != nil {
			return err
		}
		u.page[0], u.page[k-1] = last, u.page[0]
		u.sizes[0], u.sizes[k-1] = u.sizes[k-1], u.sizes[0]
		*n, u.pageBytes = 1, u.sizes[0]
	}
	if u.overBudget() {
		return flush()
	}
	return nil
}

// nextLimit sizes the page after a full page of limit rows so that it stays
// within BatchBytes, judged by the rows of the page just read.
func (u *unit) nextLimit(limit int) int {
	b := u.t.e.cfg.BatchBytes
	if b <= 0 {
		return limit
	}
	per := max(u.pageBytes/int64(limit), 1)
	return int(min(max(int64(b)/per, minPageRows), int64(u.t.e.cfg.BatchSize)))
}

// rowBytes estimates the memory of a decoded row.
func rowBytes(row []any) int64 {
	n := int64(16 * len(row))
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		case Decimal:
			n += int64(len(x))
		}
	}
	return n
}
