// This file holds ListKeys, the sink's side of delete detection's key
// comparison: the live keys of a destination table within a KeyRange,
// compared as KeyRange orders them (text byte by byte, COLLATE "C").

package pgsink

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// ListKeys calls fn for each live key of table within r (see
// [redshiftsync.KeyLister]): the keys of the rows whose DeletedColumn is
// false (all rows, for a table without the column), read with one query
// whose bounds are row comparisons on the key columns, text-like key
// columns compared as text COLLATE "C" (bytewise, as KeyRange orders
// strings, whatever the column's collation; such a comparison cannot use
// the primary key's index when the column's collation is not "C", so a
// range is read with a scan of the table's rows, not of the range alone).
//
// Keys written but not yet flushed are listed: while the table's
// transaction is open, the query runs in it, where the rows COPYed into the
// table and those in the staging table are visible, under a savepoint, so a
// failure of the listing leaves the rows written so far intact. During a
// resync (and while a copy left by an earlier run is pending), the keys of
// the table and of its resync copy are listed together: the keys a reader
// may still see and those the resync wrote, so that a key the resync did
// not deliver can still be deleted (see Delete). Each key is listed once.
//
// fn must not call the sink for the table: the query is still being read.
func (s *Sink) ListKeys(ctx context.Context, table *redshiftsync.Table, r redshiftsync.KeyRange, fn func(redshiftsync.Key) error) error {
	ts, err := s.table(table, "ListKeys")
	if err != nil {
		return err
	}
	if len(ts.pk) == 0 {
		return fmt.Errorf("pgsink: ListKeys: table %s has no primary key", ts.name)
	}
	q, args, err := ts.listSQL(r)
	if err != nil {
		return fmt.Errorf("pgsink: ListKeys: table %s: %w", ts.name, err)
	}
	var db queryer = s.db
	if ts.tx != nil {
		db = ts.tx
		if _, err := ts.tx.ExecContext(ctx, "SAVEPOINT redshiftsync_list"); err != nil {
			return ts.fail("list keys", err)
		}
	}
	err = ts.scanKeys(ctx, db, q, args, fn)
	if ts.tx != nil {
		end := "RELEASE SAVEPOINT redshiftsync_list"
		if err != nil {
			end = "ROLLBACK TO SAVEPOINT redshiftsync_list"
		}
		if _, eerr := ts.tx.ExecContext(context.WithoutCancel(ctx), end); eerr != nil {
			return ts.fail("list keys", eerr)
		}
	}
	return err
}

// listSQL returns the query of the live keys within r and its arguments.
func (ts *tableSink) listSQL(r redshiftsync.KeyRange) (string, []any, error) {
	var args []any
	cond := func(alias string) (string, error) {
		conds := []string{"true"}
		for _, b := range []struct {
			key redshiftsync.Key
			op  string
		}{{r.Lower, ">="}, {r.Upper, "<"}} {
			if b.key == nil {
				continue
			}
			if len(b.key) > len(ts.pk) {
				return "", fmt.Errorf("range bound %v has %d values, the primary key (%s) %d columns", b.key, len(b.key), strings.Join(ts.pk, ", "), len(ts.pk))
			}
			var cols, params []string
			for i, v := range b.key {
				if v == nil {
					return "", fmt.Errorf("range bound %v: key column %q is NULL", b.key, ts.pk[i])
				}
				a, err := encodeValue(v, ts.keyTypes[i])
				if err != nil {
					return "", fmt.Errorf("range bound %v: column %q: %w", b.key, ts.pk[i], err)
				}
				args = append(args, a)
				col, param := alias+"."+sqlident.Quote(ts.pk[i]), "$"+strconv.Itoa(len(args))
				if ts.keyCmp[i] == "text" {
					col, param = col+`::text COLLATE "C"`, param+`::text COLLATE "C"`
				} else {
					param += "::" + ts.keyCmp[i]
				}
				cols, params = append(cols, col), append(params, param)
			}
			conds = append(conds, "ROW("+strings.Join(cols, ", ")+") "+b.op+" ROW("+strings.Join(params, ", ")+")")
		}
		return strings.Join(conds, " AND "), nil
	}
	var outs []string
	for _, k := range ts.pk {
		outs = append(outs, "t."+sqlident.Quote(k))
	}
	out := strings.Join(outs, ", ")
	tables := []string{ts.qTarget}
	if ts.resyncCopy.exists() {
		tables = append(tables, ts.qResync)
	}
	var parts []string
	for _, tbl := range tables {
		args = args[:0]
		c, err := cond("t")
		if err != nil {
			return "", nil, err
		}
		if ts.deletedCol {
			c += " AND NOT t." + sqlident.Quote(DeletedColumn)
		}
		parts = append(parts, "SELECT "+out+" FROM "+tbl+" t WHERE "+c)
	}
	if ts.staged {
		// Staged rows are merged by the flush: live, even where the
		// table has their key marked deleted.
		args = args[:0]
		c, err := cond("t")
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, "SELECT "+out+" FROM "+qStage+" t WHERE "+c)
	}
	return strings.Join(parts, " UNION "), args, nil
}

// scanKeys runs q and calls fn with each row's key, in the Go types of the
// key columns' logical types.
func (ts *tableSink) scanKeys(ctx context.Context, db queryer, q string, args []any, fn func(redshiftsync.Key) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("pgsink: ListKeys: table %s: %w", ts.name, err)
	}
	defer rows.Close()
	dest := make([]any, len(ts.pk))
	for i := range dest {
		dest[i] = new(any)
	}
	key := make(redshiftsync.Key, len(ts.pk))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("pgsink: ListKeys: table %s: %w", ts.name, err)
		}
		for i := range key {
			v, err := keyValue(*dest[i].(*any), ts.keyTypes[i])
			if err != nil {
				return fmt.Errorf("pgsink: ListKeys: table %s: key column %q: %w", ts.name, ts.pk[i], err)
			}
			key[i] = v
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgsink: ListKeys: table %s: %w", ts.name, err)
	}
	return nil
}

// keyValue turns a value lib/pq scanned into the Go type of logical type lt
// (see [redshiftsync.LogicalType]).
func keyValue(v any, lt redshiftsync.LogicalType) (any, error) {
	switch x := v.(type) {
	case []byte:
		switch lt {
		case redshiftsync.TypeBinary:
			return append([]byte(nil), x...), nil
		case redshiftsync.TypeDecimal:
			return redshiftsync.Decimal(x), nil
		case redshiftsync.TypeShort, redshiftsync.TypeInt, redshiftsync.TypeLong:
			return strconv.ParseInt(string(x), 10, 64)
		case redshiftsync.TypeFloat, redshiftsync.TypeDouble:
			return strconv.ParseFloat(string(x), 64)
		}
		return string(x), nil
	case string:
		if lt == redshiftsync.TypeDecimal {
			return redshiftsync.Decimal(x), nil
		}
		return x, nil
	case time.Time:
		switch lt {
		case redshiftsync.TypeUTCDateTime:
			return x.UTC(), nil
		case redshiftsync.TypeNaiveDate, redshiftsync.TypeNaiveDateTime:
			y, m, d := x.Date()
			return time.Date(y, m, d, x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
		}
		return x, nil
	case int64, float64, bool:
		return x, nil
	case nil:
		return nil, fmt.Errorf("NULL in a key column")
	}
	return nil, fmt.Errorf("unexpected %T", v)
}
