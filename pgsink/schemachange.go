// This file holds the sink's side of schema-change events: SchemaChanged,
// and addColumns, the one helper that gives a destination table (or its
// resync copy) the columns it lacks, which Open and SchemaChanged share.

package pgsink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/seed2085993a/redshiftsync"
)

var _ redshiftsync.SchemaSink = (*Sink)(nil)

// addColumns adds to table schema.name the columns of t it lacks, and the
// soft-delete column DeletedColumn (see ensureDeletedColumn).
func (s *Sink) addColumns(ctx context.Context, q queryer, schema, name string, t *redshiftsync.Table) error {
	if err := addMissingColumns(ctx, q, schema, name, t, s.opts.nativeIntervals); err != nil {
		return err
	}
	return s.ensureDeletedColumn(ctx, q, schema, name, len(t.PrimaryKey) > 0)
}

// SchemaChanged applies a change of the table's columns at the source (see
// [redshiftsync.SchemaSink]) with the helpers Open uses, in one DDL
// transaction: added columns are added (ALTER TABLE ... ADD COLUMN, to the
// table and to a resync copy in progress), retyped columns widened in place
// where no value changes (see "Tables" in the package documentation). Open
// has already done both for the table it was given, so for the same table
// this finds nothing left to do; it is still checked, so that the event
// and the destination cannot disagree silently.
//
// A retyped column that cannot be widened (a narrowing, an incompatible
// type) is not altered: Open has already asked the extractor for a full
// resync of the table (redshiftsync.ErrResyncRequired), whose copy takes
// the new type. SchemaChanged fails, naming the table and the column, only
// when no such resync is pending. Dropped columns stay in the destination
// (rows loaded afterwards hold NULL in them); a renamed column is a new
// column: the old one keeps the values of the rows loaded before.
func (s *Sink) SchemaChanged(ctx context.Context, table *redshiftsync.Table, change redshiftsync.SchemaChange) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "SchemaChanged")
	if err != nil {
		return err
	}
	pending := ts.reshape
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgsink: SchemaChanged: table %s: %w", ts.name, err)
	}
	defer tx.Rollback()
	if err := lockDDL(ctx, tx); err != nil {
		return fmt.Errorf("pgsink: SchemaChanged: table %s: %w", ts.name, err)
	}
	if err := s.addColumns(ctx, tx, ts.schema, ts.table, table); err != nil {
		return fmt.Errorf("pgsink: SchemaChanged: table %s: %w", ts.qTarget, err)
	}
	if ts.resyncCopy.exists() && ts.resyncCopy != copyBegun {
		if err := s.addColumns(ctx, tx, ResyncSchema, ts.resync, table); err != nil {
			return fmt.Errorf("pgsink: SchemaChanged: table %s: %w", ts.qResync, err)
		}
	}
	reshape := ts.followTypes(ctx, tx, table, false)
	if reshape != nil && !errors.Is(reshape, redshiftsync.ErrResyncRequired) {
		return fmt.Errorf("pgsink: SchemaChanged: table %s: %w", ts.name, reshape)
	}
	var unplanned []string
	for col := range ts.reshape {
		if _, ok := pending[col]; !ok {
			unplanned = append(unplanned, col)
		}
	}
	ts.reshape = pending // what the staging table was made for
	if len(unplanned) > 0 {
		slices.Sort(unplanned)
		return fmt.Errorf("pgsink: SchemaChanged: table %s: column(s) %s changed to a type the destination column cannot be widened to, and no resync was planned for it: "+
			"open the table again (Open asks for the full resync that reshapes it): %w", ts.qTarget, strings.Join(unplanned, ", "), reshape)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgsink: SchemaChanged: table %s: %w", ts.name, err)
	}
	return nil
}
