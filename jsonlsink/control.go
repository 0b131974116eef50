// This file holds the control lines: the lines that are not rows, which
// mark where a full resync of a table begins and ends.

package jsonlsink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// ControlPrefix begins every key of a control line. A line is a control
// line when it is a JSON object with at least one key and every key begins
// with ControlPrefix; a row never is one, because its keys are the table's
// column names and Open refuses a table all of whose columns begin with
// ControlPrefix.
const ControlPrefix = "_redshiftsync_"

// The keys and values of the resync control lines.
const (
	// ResyncKey holds ResyncBegin or ResyncEnd.
	ResyncKey = ControlPrefix + "resync"
	// AtKey holds the time the line was written, RFC 3339 in UTC with
	// microseconds; it is for people, a reader needs only ResyncKey.
	AtKey       = ControlPrefix + "at"
	ResyncBegin = "begin"
	ResyncEnd   = "end"
)

var _ redshiftsync.ResyncSink = (*Sink)(nil)

// BeginResync appends the control line that begins a full resync of table,
// {"_redshiftsync_resync":"begin","_redshiftsync_at":"…"}, to the lines
// buffered for it: it becomes durable with the resync's first rows. A
// resync that must start over (a streamed read retried, a pass restarted in
// a new snapshot) calls it again, so the rows after the last begin line are
// the ones that count.
func (s *Sink) BeginResync(ctx context.Context, table *redshiftsync.Table) error {
	return s.control(ctx, table, "BeginResync", ResyncBegin, false)
}

// EndResync appends the control line that ends a full resync of table,
// {"_redshiftsync_resync":"end","_redshiftsync_at":"…"}, and flushes and
// fsyncs the file, so the line is durable before the extractor saves the
// state that records the finished resync.
func (s *Sink) EndResync(ctx context.Context, table *redshiftsync.Table) error {
	return s.control(ctx, table, "EndResync", ResyncEnd, true)
}

// control writes the resync control line holding value, then flushes when
// flush is set.
func (s *Sink) control(ctx context.Context, table *redshiftsync.Table, op, value string, flush bool) error {
	tf, err := s.writable(ctx, table, op)
	if err != nil {
		return err
	}
	tf.w.cur = appendControl(tf.w.cur, value, time.Now())
	if flush {
		if err := tf.flush(); err != nil {
			return fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err)
		}
	}
	return nil
}

// appendControl appends the resync control line holding value, '\n'
// included.
func appendControl(b []byte, value string, at time.Time) []byte {
	b = append(b, '{')
	b = appendString(b, ResyncKey)
	b = append(b, ':')
	b = appendString(b, value)
	b = append(b, ',')
	b = appendString(b, AtKey)
	b = append(b, ':', '"')
	b = appendDateTime(b, at.UTC(), new(civilDay))
	return append(b, 'Z', '"', '}', '\n')
}

// checkColumns refuses a table whose rows could be taken for control lines:
// one all of whose columns have names beginning with ControlPrefix.
func checkColumns(table *redshiftsync.Table) error {
	if len(table.Columns) == 0 {
		return nil // its rows are {}, which has no key
	}
	for _, c := range table.Columns {
		if !strings.HasPrefix(c.Name, ControlPrefix) {
			return nil
		}
	}
	return fmt.Errorf("jsonlsink: table %s: every column name begins with %q, so its rows could not be told from the sink's control lines; rename a column or exclude the table (exclude_tables)",
		table.QualifiedName(), ControlPrefix)
}

// IsControl reports whether line (one line of a file, without its '\n') is
// a control line: a JSON object with at least one key, every key beginning
// with ControlPrefix. A line that is not a JSON object is not a control
// line.
func IsControl(line []byte) bool {
	if !bytes.HasPrefix(line, []byte(`{"`+ControlPrefix)) {
		return false // every row of a table with columns starts with its first column's name
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil || len(obj) == 0 {
		return false
	}
	for k := range obj {
		if !strings.HasPrefix(k, ControlPrefix) {
			return false
		}
	}
	return true
}
