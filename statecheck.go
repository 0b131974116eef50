// This file holds the checks of a saved position before it is resumed: the
// shape of a table's progress as the document holds it (checkProgress, run
// by decodeState), and its fit to the table's plan (checkResume, run when a
// table's sync resumes). A state edited by hand, copied between
// environments or written by a buggy store must be refused with
// ErrStateCorrupt naming the table, never bound into a query it would make
// panic or skip rows.

package redshiftsync

import (
	"fmt"
	"strconv"
)

// checkProgress checks what can be checked of p without the plan: every
// partition is present, and every position tuple has as many values as the
// ordering it was taken on (when the document records it).
func checkProgress(table string, p *progress) error {
	if p == nil {
		return nil
	}
	for i, part := range p.Partitions {
		if part == nil {
			return fmt.Errorf("%w: table %q: partition %d is null", ErrStateCorrupt, table, i)
		}
	}
	if err := checkUnloadProgress(table, p); err != nil {
		return err
	}
	if p.Blocks != nil {
		return checkBlockProgress(table, p) // positions are ctids, not ordering tuples
	}
	if len(p.Order) == 0 {
		return nil // a state from before Order was recorded: resumed only if the plan has no ordering either (checkResume)
	}
	// The null_keys phase pages by the primary key alone: its position has
	// no replication-key value.
	n := len(p.Order)
	if p.Phase == phaseNullKeys {
		n--
	}
	if err := checkTuple(table, "in_progress.after", p.After, n); err != nil {
		return err
	}
	for i, part := range p.Partitions {
		if err := checkTuple(table, fmt.Sprintf("partition %d's after", i), part.After, n); err != nil {
			return err
		}
	}
	return nil
}

// checkTuple checks that a position has no values (none delivered yet) or one
// per ordering column.
func checkTuple(table, what string, after []string, n int) error {
	if len(after) != 0 && len(after) != n {
		return fmt.Errorf("%w: table %q: %s has %d values, the ordering it belongs to has %d; move the state away to sync the table from its start", ErrStateCorrupt, table, what, len(after), n)
	}
	return nil
}

// checkResume checks the progress about to be resumed against the plan:
// position tuples as long as the ordering, partitions only where there is
// an ordering column to range over (a partition is a key range: Lower and
// Upper are values of the leading ordering column), and the position values
// and bounds of integer, date and timestamp columns in the form keyText
// writes. Other values (and the bookmark, From, HighWater) are the server's
// to refuse: they are bound as parameters cast to the column's type, and a
// refusal fails the table with an error naming it.
func (s *tableSync) checkResume() error {
	p := s.state.InProgress
	if p == nil {
		return nil
	}
	if err := checkProgress(s.name, p); err != nil || p.Blocks != nil {
		return err
	}
	shape := s.plan.shape(phaseRows, p, 0, s.dialect)
	if p.Phase == phaseNullKeys {
		shape = s.plan.shape(phaseNullKeys, p, 0, s.dialect)
	}
	order := shape.orderBy
	if err := s.checkKeyTexts("in_progress.after", order, p.After); err != nil {
		return err
	}
	if c := p.ChunkColumn; c != "" {
		if col, ok := s.plan.Table.Column(c); !ok || !chunkSplittable(col.Type) {
			return fmt.Errorf("%w: table %q: its chunks range over column %q, which the table no longer has (or it cannot be cut); move the state away to sync the table from its start", ErrStateCorrupt, s.name, c)
		}
	}
	if len(p.Partitions) > 0 && len(order) == 0 {
		return fmt.Errorf("%w: table %q: %d partitions, but the table has no ordering column to range over; move the state away to sync the table from its start", ErrStateCorrupt, s.name, len(p.Partitions))
	}
	for i, part := range p.Partitions {
		what := fmt.Sprintf("partition %d", i)
		if part.Null && (part.Lower != nil || part.Upper != nil || len(part.After) > 0) {
			// The NULLs' chunk is streamed whole: it has no bound and no position.
			return fmt.Errorf("%w: table %q: %s holds the NULL keys but has a bound or a position; move the state away to sync the table from its start", ErrStateCorrupt, s.name, what)
		}
		if err := s.checkKeyTexts(what+"'s after", order, part.After); err != nil {
			return err
		}
		for _, b := range []*string{part.Lower, part.Upper} {
			if b == nil {
				continue
			}
			rc := shape.rangeColumn()
			if !chunkSplittable(rc.Type) {
				return fmt.Errorf("%w: table %q: %s has a bound, but its range column %q (%s) is never split into ranges", ErrStateCorrupt, s.name, what, rc.Name, rc.SourceType)
			}
			if err := s.checkKeyTexts(what+"'s bound", []Column{rc}, []string{*b}); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeyTexts checks a position tuple against the columns it is bound to.
func (s *tableSync) checkKeyTexts(what string, cols []Column, vals []string) error {
	if err := checkTuple(s.name, what, vals, len(cols)); err != nil || len(vals) == 0 {
		return err
	}
	for i, c := range cols {
		if !keyTextValid(vals[i], c.Type) {
			return fmt.Errorf("%w: table %q: %s: %q is not a value of column %q (%s); move the state away to sync the table from its start", ErrStateCorrupt, s.name, what, vals[i], c.Name, c.SourceType)
		}
	}
	return nil
}

// keyTextValid reports whether txt is in the form keyText writes for a value
// of type lt, for the types whose form the library knows; any text passes
// for the others.
func keyTextValid(txt string, lt LogicalType) bool {
	switch lt {
	case TypeShort, TypeInt, TypeLong:
		_, err := strconv.ParseInt(txt, 10, 64)
		return err == nil
	case TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime:
		if txt == "infinity" || txt == "-infinity" {
			return true
		}
		_, ok := parseDateTimeText(txt)
		return ok
	}
	return true
}
