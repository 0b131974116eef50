// This file tests what pgsink does with a column renamed at the source: it
// keeps the old column and adds the new one (see "Schema changes" in the
// package documentation for why it does not rename).

package pgsink_test

import (
	"testing"
)

// TestRenamedColumnKept: a column renamed at the source (detected as a
// rename: same type, same position) is not renamed in the destination:
// the new column is added, the old one keeps the values of the rows loaded
// before the rename, and rows loaded since hold their value in the new
// column only (the old one: NULL in a new row, its earlier value in an
// updated one). Nothing the destination held is lost or
// moved under another name.
func TestRenamedColumnKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `
CREATE TABLE %[1]s.r (id bigint PRIMARY KEY, phone text, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.r VALUES (1, 'p1', '2024-01-01'), (2, 'p2', '2024-01-02');`, e.schema)
	cfg := e.config(t)
	sink := e.newSink(t)
	e.sync(t, cfg, sink, sink.StateStore())
	mustExec(t, e.src, `
ALTER TABLE %[1]s.r RENAME COLUMN phone TO mobile;
UPDATE %[1]s.r SET mobile = 'm2', updated_at = '2024-02-01' WHERE id = 2;
INSERT INTO %[1]s.r VALUES (3, 'm3', '2024-02-02');`, e.schema)
	e.sync(t, cfg, sink, sink.StateStore())
	var got string
	err := e.dst.QueryRow(`SELECT string_agg(id || ':' || coalesce(phone, '-') || ':' || coalesce(mobile, '-'), ',' ORDER BY id) FROM ` + e.schema + `.r`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1:p1:-,2:p2:m2,3:-:m3"; got != want {
		t.Errorf("id:phone:mobile = %s, want %s", got, want)
	}
}
