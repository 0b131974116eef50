// This file holds the optional Sink interfaces of delete detection and schema
// changes: DeleteSink, KeyLister and SchemaSink, and the KeyRange they share.
//
// Contract draft (session 3): the extractor's side (range digests, the
// splitter, the state of the last detection) is built in deletes*.go; the
// sinks' side in pgsink and jsonlsink.

package redshiftsync

import (
	"bytes"
	"context"
	"math/big"
	"strings"
	"time"
)

// A Key is one row's primary key: one value per column of Table.PrimaryKey,
// in that order, each of the Go type its column's LogicalType gives (see
// LogicalType). Key columns are never NULL.
type Key []any

// KeyRange is a range of primary keys, Lower <= key < Upper, compared column
// by column in primary-key order (lexicographically, as a tuple). A nil
// bound leaves that end open. Values compare as their Go types do: numbers
// numerically (a Decimal by its value, not its text), times by instant, and
// strings and bytes byte by byte (the "C" collation, which is also how the
// extractor orders text keys at the source when it splits them, whatever the
// column's collation), so a sink and the source agree on which keys a range
// holds. CompareKeys and KeyRange.Contains implement exactly this
// comparison.
type KeyRange struct {
	Lower Key
	Upper Key
}

// DeleteSink is an optional interface of a Sink that is told of rows deleted
// at the source (see Config.DeleteDetection). The extractor calls Delete only
// for keys the sink holds (KeyLister listed them) and the source lacks (it
// looked each one up), between Write calls of the table, and makes the
// deletes durable with the next Flush or FlushState, like rows: a sync that
// fails before that flush delivers them again.
//
// A key written again after its delete (the row came back at the source) is
// live again: a later Write of the same key un-deletes it.
//
// Delete is called after the table's rows of the run were written, and, for
// a full resync (ResyncSink), before EndResync: the keys a resync did not
// deliver and the source lacks are deleted through Delete like any other,
// so a sink may keep unseen rows at EndResync (they were deleted already,
// or are still at the source). A run stopped during detection may call
// Delete for the same key again in the next run only if the delete was not
// made durable.
type DeleteSink interface {
	Sink
	Delete(ctx context.Context, table *Table, keys []Key) error
}

// KeyLister is an optional interface of a Sink that can list the primary keys
// of the live (not deleted) rows it holds. Delete detection needs it: a sink
// that is a DeleteSink but not a KeyLister gets no deletes, and the plan says
// why.
//
// ListKeys calls fn once for each live key of table within r, in any order,
// including keys written but not yet flushed. The Key passed to fn may be
// reused once fn returns. An error from fn stops the listing and is returned.
type KeyLister interface {
	Sink
	ListKeys(ctx context.Context, table *Table, r KeyRange, fn func(Key) error) error
}

// SchemaSink is an optional interface of a Sink that is told how a table's
// columns changed since its last sync: once per run, after Open (or
// OpenState) and before the table's first Write. It is not called for a
// table's first sync, nor when nothing changed.
type SchemaSink interface {
	Sink
	SchemaChanged(ctx context.Context, table *Table, change SchemaChange) error
}

// SchemaChange is what changed in a table's columns between two syncs.
type SchemaChange struct {
	// Added are the columns the source has now and had not before.
	Added []Column
	// Dropped are the columns the source had and has no more.
	Dropped []Column
	// Retyped are the columns whose type changed, as they are now; Before
	// holds them as they were, index for index.
	Retyped []Column
	Before  []Column
	// Renamed maps an old column name to its new one, where the rename is
	// detectable (a dropped and an added column of the same type at the
	// same position); those columns are in neither Added nor Dropped.
	Renamed map[string]string
}

// Contains reports whether k lies within r: Lower <= k < Upper.
func (r KeyRange) Contains(k Key) bool {
	if r.Lower != nil && CompareKeys(k, r.Lower) < 0 {
		return false
	}
	return r.Upper == nil || CompareKeys(k, r.Upper) < 0
}

// CompareKeys compares two keys of the same table as a tuple, column by
// column, and returns -1, 0 or +1. Values compare as KeyRange documents;
// values of different Go types (which keys of one table never hold) compare
// by type name, so the order stays total.
func CompareKeys(a, b Key) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// compareValue compares two key values of the Go types a Batch carries.
func compareValue(a, b any) int {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmpOrdered(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmpOrdered(boolInt(x), boolInt(y))
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case Decimal:
		if y, ok := b.(Decimal); ok {
			return compareDecimal(x, y)
		}
	}
	return strings.Compare(typeName(a), typeName(b))
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// compareDecimal compares two decimals by value; "NaN" sorts above every
// number, as PostgreSQL sorts it, and "Infinity"/"-Infinity" at their ends.
func compareDecimal(x, y Decimal) int {
	rank := func(d Decimal) int {
		switch d {
		case "-Infinity":
			return -1
		case "Infinity":
			return 1
		case "NaN":
			return 2
		}
		return 0
	}
	rx, ry := rank(x), rank(y)
	if rx != 0 || ry != 0 {
		return cmpOrdered(int64(rx), int64(ry))
	}
	bx, okx := new(big.Rat).SetString(string(x))
	by, oky := new(big.Rat).SetString(string(y))
	if !okx || !oky {
		return strings.Compare(string(x), string(y))
	}
	return bx.Cmp(by)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return ""
	case int64:
		return "int64"
	case float64:
		return "float64"
	case string:
		return "string"
	case []byte:
		return "[]byte"
	case bool:
		return "bool"
	case time.Time:
		return "time.Time"
	case Decimal:
		return "Decimal"
	}
	return "other"
}
