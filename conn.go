// This file holds a read unit's connection to the source: taking it from
// the pool and giving it back, and the driver-level queries the row path
// runs on it.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

func (u *unit) ensureConn(ctx context.Context) error {
	if u.conn != nil {
		return nil
	}
	c, err := u.t.e.pool.acquire(ctx)
	if err != nil {
		return err
	}
	u.conn = c
	if !u.planning {
		u.t.stats.start() // a worker reads its rows: no longer waiting
	}
	return nil
}

func (u *unit) releaseConn(broken bool) {
	if u.conn != nil {
		u.t.e.pool.release(u.conn, broken)
		u.conn = nil
	}
}

// query runs q on the unit's connection at the driver level, calling each
// for every row. The row's values are only valid during the call. Reading
// below database/sql skips its per-row conversions and copies.
func (u *unit) query(ctx context.Context, q string, args []any, each func(row []driver.Value) error) error {
	if u.snap != nil {
		return u.inSnapshot(ctx, func() error { return u.rawQuery(ctx, q, args, each) })
	}
	return u.rawQuery(ctx, q, args, each)
}

// rowQuery is query for a query of the row path, whose first columns are
// the table's, read by rowDecoderFor's decoders.
func (u *unit) rowQuery(ctx context.Context, q string, args []any, each func(row []driver.Value) error) error {
	u.send = u.t.wireSend
	defer func() { u.send = nil }()
	return u.query(ctx, q, args, each)
}

// rawQuery is query, in the connection's own transaction.
func (u *unit) rawQuery(ctx context.Context, q string, args []any, each func(row []driver.Value) error) error {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	// A read given up half-way (the sink or a decoder failed) is canceled,
	// not drained: lib/pq's rows.Close reads every remaining row.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wire *bufferedConn
	defer func() {
		if wire != nil && wire.closed.Load() {
			// The wire reader closed the socket (a read given up half-way):
			// database/sql must not hand the connection out again.
			_ = u.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return u.conn.Raw(func(dc any) error {
		if wire = u.t.e.pool.wires.lookup(dc); wire != nil && u.t.dialect == DialectPostgres {
			if handled, err := wire.query(ctx, &u.alloc, q, args, u.send, &u.dest, each); handled {
				return err
			}
		}
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver %T cannot run queries directly", dc)
		}
		rows, err := qc.QueryContext(ctx, q, named)
		if err != nil {
			return err
		}
		cols := len(rows.Columns())
		if cap(u.dest) < cols {
			u.dest = make([]driver.Value, cols)
		}
		dest := u.dest[:cols]
		for {
			if err := rows.Next(dest); err != nil {
				if errors.Is(err, io.EOF) {
					return rows.Close()
				}
				rows.Close()
				return err
			}
			if err := each(dest); err != nil {
				cancel()
				rows.Close()
				return err
			}
		}
	})
}
