// This file holds how a destination column follows a change of its source
// column's type: widened in place when every value it holds is kept exactly,
// otherwise rebuilt by a full resync into a copy of the new shape.

package pgsink

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// typeChange is what a destination column needs to take the values of its
// source column.
type typeChange int

const (
	// keepType: the column already holds the source's values exactly, or
	// has a type the sink never creates (changed by hand), which is kept.
	keepType typeChange = iota
	// widenType: ALTER COLUMN ... TYPE in place keeps every value it holds.
	widenType
	// reshapeType: the column cannot be widened to the source's type (a
	// narrowing, an incompatible type): the table is resynced into a copy
	// whose column has that type.
	reshapeType
)

// numericRe matches format_type's numeric(p,s).
var numericRe = regexp.MustCompile(`^numeric\((\d+),(\d+)\)$`)

// intRank orders the integer types by width; intDigits is the decimal
// digits each holds.
var (
	intRank   = map[string]int{"smallint": 1, "integer": 2, "bigint": 3}
	intDigits = map[string]int{"smallint": 5, "integer": 10, "bigint": 19}
)

// canonicalType turns format_type's spelling into columnType's.
func canonicalType(t string) string {
	switch t {
	case "timestamp without time zone":
		return "timestamp"
	case "timestamp with time zone":
		return "timestamptz"
	case "time without time zone":
		return "time"
	case "time with time zone":
		return "timetz"
	}
	return t
}

// createdType reports whether t (canonical) is a type the sink creates: a
// column of any other type was given it by hand, and keeps it.
func createdType(t string) bool {
	switch t {
	case "boolean", "smallint", "integer", "bigint", "numeric", "real", "double precision",
		"date", "time", "timetz", "timestamp", "timestamptz", "interval", "bytea", "jsonb", "uuid", "text":
		return true
	}
	return numericRe.MatchString(t)
}

// compareTypes says what a destination column of type have needs to take the
// values of a source column the sink would create as want (both canonical).
func compareTypes(have, want string) typeChange {
	switch {
	case have == want, !createdType(have):
		return keepType
	case have == "text" && (want == "uuid" || want == "interval"):
		// Made by an earlier version (uuid was text) or without
		// WithNativeIntervals: text holds those values exactly.
		return keepType
	case want == "text":
		return widenType // any type to text
	case widens(have, want):
		return widenType
	}
	return reshapeType
}

// widens reports whether every value of type have is a value of type want,
// unchanged.
func widens(have, want string) bool {
	hp, hs, hNum := numericType(have)
	wp, ws, wNum := numericType(want)
	switch {
	case intRank[have] > 0 && intRank[want] > 0:
		return intRank[want] > intRank[have]
	case intRank[have] > 0 && want == "numeric":
		return true
	case intRank[have] > 0 && wNum && wp > 0:
		return wp-ws >= intDigits[have]
	case (have == "smallint" || have == "integer") && want == "double precision":
		return true // 53 bits of mantissa hold 32-bit integers
	case have == "smallint" && want == "real":
		return true // 24 bits hold 16
	case hNum && wNum && want == "numeric":
		return true
	case hNum && hp > 0 && wNum && wp > 0:
		return ws >= hs && wp-ws >= hp-hs
	case have == "real" && want == "double precision":
		return true
	case have == "date" && want == "timestamp":
		return true // midnight, with no time zone to interpret it in
	}
	return false
}

// numericType parses numeric or numeric(p,s); p is 0 for numeric.
func numericType(t string) (p, s int, ok bool) {
	if t == "numeric" {
		return 0, 0, true
	}
	m := numericRe.FindStringSubmatch(t)
	if m == nil {
		return 0, 0, false
	}
	p, _ = strconv.Atoi(m[1])
	s, _ = strconv.Atoi(m[2])
	return p, s, true
}

// followTypes makes the destination columns take the source's values
// exactly, in Open's DDL transaction: a column that can be widened is
// altered in place, in the table and in a resync copy that exists (a
// widening changes no value, so it is committed before the rows, and the
// table is locked only for the ALTER); a column that cannot is recorded in
// ts.reshape, its staging column gets the source's type, and the returned
// error (wrapping redshiftsync.ErrResyncRequired) asks the extractor for a
// full resync, whose copy BeginResync builds in the new shape. During a
// resync in progress, the copy is what the rows go into: it is compared
// instead of the table.
func (ts *tableSink) followTypes(ctx context.Context, q queryer, t *redshiftsync.Table, inResync bool) error {
	type rel struct{ schema, name string }
	tables := []rel{{ts.schema, ts.table}}
	if ts.resyncCopy.exists() {
		tables = append(tables, rel{ResyncSchema, ts.resync}) // the copy lives in pgsink's own schema
		if inResync {
			tables = tables[1:]
		}
	}
	ts.reshape = map[string]string{}
	var reasons []string
	for i, r := range tables {
		names, types, err := columnTypes(ctx, q, r.schema, r.name)
		if err != nil {
			return err
		}
		qname := sqlident.Qualified(r.schema, r.name)
		for _, c := range t.Columns {
			j := slices.Index(names, c.Name)
			if j < 0 {
				continue
			}
			have, want := canonicalType(types[j]), columnType(c, ts.s.opts.nativeIntervals)
			switch compareTypes(have, want) {
			case widenType:
				stmt := "ALTER TABLE " + qname + " ALTER COLUMN " + sqlident.Quote(c.Name) + " TYPE " + want +
					" USING " + sqlident.Quote(c.Name) + "::" + want
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("widen column %q of %s from %s to %s: %w", c.Name, qname, have, want, err)
				}
			case reshapeType:
				if i == 0 { // the table the rows go into
					ts.reshape[c.Name] = want
					reasons = append(reasons, fmt.Sprintf("column %q is %s in %s and %s at the source (%s), which it cannot be widened to",
						c.Name, have, qname, want, c.SourceType))
				}
			}
		}
	}
	if len(reasons) > 0 {
		return fmt.Errorf("%w: %s", redshiftsync.ErrResyncRequired, strings.Join(reasons, "; "))
	}
	return nil
}

// stageType returns the type that column col is staged in: the source's
// type when the column is being reshaped, else the destination's, have.
func (ts *tableSink) stageType(col, have string) string {
	if want, ok := ts.reshape[col]; ok {
		return want
	}
	return have
}

// reshapeCopy gives the columns of the new, empty resync copy that cannot
// be widened the source's types (BeginResync): the resync then loads the
// rows in the new shape, and its swap puts that shape in place.
func (ts *tableSink) reshapeCopy(ctx context.Context) error {
	for col, want := range ts.reshape {
		q := sqlident.Quote(col)
		// The copy is empty: no value needs a cast.
		stmt := "ALTER TABLE " + ts.qResync + " ALTER COLUMN " + q + " TYPE " + want + " USING NULL::" + want
		if _, err := ts.tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("give column %q of %s the type %s: %w", col, ts.qResync, want, err)
		}
	}
	return nil
}
