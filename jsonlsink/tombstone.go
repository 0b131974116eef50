// This file holds Delete: the tombstone lines of rows deleted at the source.

package jsonlsink

import (
	"context"
	"fmt"
	"slices"

	"github.com/seed2085993a/redshiftsync"
)

// DeletedKey is the key of a tombstone line, always true: the line holds
// the key columns of a row deleted at the source, and DeletedKey.
//
//	{"id":42,"_redshiftsync_deleted":true}
const DeletedKey = ControlPrefix + "deleted"

var _ redshiftsync.DeleteSink = (*Sink)(nil)

// Delete appends one tombstone line per key to the lines buffered for
// table: the key columns, in primary-key order, encoded as in a row, then
// "_redshiftsync_deleted":true. Like rows, the lines become durable with
// the next Flush (the extractor's checkpoint), so "the last line of a
// primary key is the row's current state" holds: a deleted key's last line
// is its tombstone, until the row is written again. A key of the wrong
// length, a NULL or a value of the wrong Go type fails the call, naming the
// table and the key; no line of that call is kept then.
func (s *Sink) Delete(ctx context.Context, table *redshiftsync.Table, keys []redshiftsync.Key) error {
	tf, err := s.writable(ctx, table, "Delete")
	if err != nil {
		return err
	}
	if err := tf.keyed(table); err != nil {
		return err
	}
	start := len(tf.w.cur)
	for _, k := range keys {
		b, err := tf.appendTombstone(tf.w.cur, k)
		if err != nil {
			tf.w.cur = tf.w.cur[:start]
			return err
		}
		tf.w.cur = b
	}
	if len(tf.w.cur) >= handOffSize {
		tf.w.handOff()
	}
	return nil
}

// keyed checks that table has a primary key, and no column named DeletedKey
// (whose rows could not be told from tombstones), and records the key's
// columns.
func (tf *tableFile) keyed(table *redshiftsync.Table) error {
	if len(table.PrimaryKey) == 0 {
		return fmt.Errorf("jsonlsink: table %s has no primary key: its rows cannot be deleted or listed by key", table.QualifiedName())
	}
	for _, c := range table.Columns {
		if c.Name == DeletedKey {
			return fmt.Errorf("jsonlsink: table %s has a column %q, the key of the sink's tombstone lines: its rows could not be told from deletes; rename the column or turn delete detection off for the table", table.QualifiedName(), DeletedKey)
		}
	}
	if tf.keyCols == nil || !slices.Equal(tf.keyNames, table.PrimaryKey) {
		tf.keyNames = slices.Clone(table.PrimaryKey)
		tf.keyCols = tf.keyCols[:0]
		for _, k := range table.PrimaryKey {
			i := slices.IndexFunc(table.Columns, func(c redshiftsync.Column) bool { return c.Name == k })
			if i < 0 {
				return fmt.Errorf("jsonlsink: table %s: primary key column %q is not a column of the table", table.QualifiedName(), k)
			}
			tf.keyCols = append(tf.keyCols, table.Columns[i])
		}
	}
	return nil
}

// appendTombstone appends the tombstone line of key to b; on an error it
// returns b as it was given.
func (tf *tableFile) appendTombstone(b []byte, key redshiftsync.Key) ([]byte, error) {
	if len(key) != len(tf.keyCols) {
		return b, fmt.Errorf("jsonlsink: table %s: key %v has %d values, the primary key %d columns", tf.enc.table, key, len(key), len(tf.keyCols))
	}
	start := len(b)
	b = append(b, '{')
	var day civilDay
	for i, v := range key {
		if v == nil {
			return b[:start], fmt.Errorf("jsonlsink: table %s: key %v: key column %q is NULL", tf.enc.table, key, tf.keyCols[i].Name)
		}
		b = appendString(b, tf.keyCols[i].Name)
		b = append(b, ':')
		var err error
		if b, err = tf.enc.appendValue(b, &tf.keyCols[i], v, &day); err != nil {
			return b[:start], fmt.Errorf("jsonlsink: table %s: key %v: %w", tf.enc.table, key, err)
		}
		b = append(b, ',')
	}
	b = appendString(b, DeletedKey)
	return append(b, ":true}\n"...), nil
}
