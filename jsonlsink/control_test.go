package jsonlsink

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// latestCopy reads a table's file as the package documentation tells a
// reader to: the rows between the last begin line followed by an end line
// and that end, then the rows after it; every row line when there is no
// complete resync.
func latestCopy(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type line struct {
		text    string
		control string // the value of _redshiftsync_resync, "" for a row
	}
	var lines []line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := line{text: sc.Text()}
		if IsControl(sc.Bytes()) {
			var c map[string]string
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("control line %s: %v", sc.Text(), err)
			}
			l.control = c[ResyncKey]
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	start := 0
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].control != ResyncBegin {
			continue
		}
		if slices.ContainsFunc(lines[i+1:], func(l line) bool { return l.control == ResyncEnd }) {
			start = i + 1
			break
		}
	}
	var rows []string
	for _, l := range lines[start:] {
		if !IsControl([]byte(l.text)) {
			rows = append(rows, l.text)
		}
	}
	return rows
}

// TestResyncControlLines: a resync is delimited by a begin and an end line
// that are control lines and no row is; a resync that starts over writes a
// second begin line, after which the reader takes the rows; a torn tail
// after them is repaired and the lines stay whole.
func TestResyncControlLines(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	table := simpleTable()
	// A column named like the control key: its rows are still rows.
	table.Columns = append(table.Columns, redshiftsync.Column{Name: ResyncKey, Type: redshiftsync.TypeString})
	path := filepath.Join(dir, "public.t.jsonl")
	s := mustNew(t, dir)
	writeRows(t, s, table, []any{int64(1), "old", "begin"}, []any{int64(9), "deleted later", "end"})

	before := time.Now().UTC().Add(-time.Second)
	write := func(rows ...[]any) { // in the same run: no new Open
		t.Helper()
		if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows}); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx, table); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.BeginResync(ctx, table); err != nil {
		t.Fatal(err)
	}
	write([]any{int64(1), "failed attempt", nil})
	// The streamed read is retried: the resync begins again.
	if err := s.BeginResync(ctx, table); err != nil {
		t.Fatal(err)
	}
	write([]any{int64(1), "a", "begin"}, []any{int64(2), "b", nil})
	if err := s.EndResync(ctx, table); err != nil {
		t.Fatal(err)
	}
	// EndResync made its line durable: another process sees it without a
	// Flush or Close.
	lines := readLines(t, path)
	if len(lines) != 8 {
		t.Fatalf("%d lines after EndResync, want 8:\n%s", len(lines), lines)
	}
	var controls []string
	for _, l := range lines {
		if !IsControl(l) {
			continue
		}
		var c map[string]string
		if err := json.Unmarshal(l, &c); err != nil {
			t.Fatal(err)
		}
		for k := range c {
			if !strings.HasPrefix(k, ControlPrefix) {
				t.Errorf("control line %s has key %q", l, k)
			}
		}
		at, err := time.Parse(time.RFC3339Nano, c[AtKey])
		if err != nil || at.Before(before) || len(c) != 2 {
			t.Errorf("control line %s: at %v, %v", l, at, err)
		}
		controls = append(controls, c[ResyncKey])
	}
	if strings.Join(controls, ",") != "begin,begin,end" {
		t.Errorf("control lines %v, want begin,begin,end", controls)
	}
	// After the resync, an incremental row applies on top of the copy.
	write([]any{int64(3), "c", nil})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A crash tore the next line; the next Open cuts it off.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"_redshiftsync_resync":"beg`)
	f.Close()
	s = mustNew(t, dir)
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	s.Close()

	want := []string{`{"id":1,"v":"a","_redshiftsync_resync":"begin"}`, `{"id":2,"v":"b","_redshiftsync_resync":null}`, `{"id":3,"v":"c","_redshiftsync_resync":null}`}
	if got := latestCopy(t, path); !slices.Equal(got, want) {
		t.Errorf("latest copy\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestIsControl(t *testing.T) {
	for line, want := range map[string]bool{
		`{"_redshiftsync_resync":"begin","_redshiftsync_at":"2026-01-01T00:00:00.000000Z"}`: true,
		`{"_redshiftsync_resync":"end"}`:          true,
		`{"_redshiftsync_tombstone":{"id":1}}`:    true, // a control line not known today
		`{"_redshiftsync_resync":"begin","id":1}`: false,
		`{"id":1,"_redshiftsync_resync":"begin"}`: false,
		`{}`:                              false, // the row of a table without columns
		`{"_redshiftsync_resync":"begin"`: false, // torn
		`["_redshiftsync_resync"]`:        false,
		`{"_redshiftsync_resync":"begin"} trailing`:       false,
		`{"_redshiftsync_a":1,"_redshiftsync_b":2,"x":3}`: false,
	} {
		if got := IsControl([]byte(line)); got != want {
			t.Errorf("IsControl(%s) = %v, want %v", line, got, want)
		}
	}
}

// TestOpenRefusesControlColumns: a table whose rows would look like control
// lines is refused, by name, with what to do.
func TestOpenRefusesControlColumns(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	table := &redshiftsync.Table{Schema: "public", Name: "odd", Columns: []redshiftsync.Column{
		{Name: ResyncKey, Type: redshiftsync.TypeString}, {Name: AtKey, Type: redshiftsync.TypeString},
	}}
	err = s.Open(context.Background(), table)
	if err == nil || !strings.Contains(err.Error(), "public.odd") || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("Open = %v, want a refusal naming the table", err)
	}
	empty := &redshiftsync.Table{Schema: "public", Name: "empty"}
	if err := s.Open(context.Background(), empty); err != nil {
		t.Errorf("Open of a table without columns: %v", err)
	}
}

// TestResyncLatestCopyEqualsSource syncs a keyless table (a full resync on
// every run) from a real server twice, deleting and changing rows between
// the runs: the latest complete copy in the file is the source's table, the
// deleted rows gone.
func TestResyncLatestCopyEqualsSource(t *testing.T) {
	db, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.k (id int, v text, "_redshiftsync_resync" text);
INSERT INTO %[1]s.k SELECT i, 'v' || i, CASE WHEN i %% 2 = 0 THEN 'end' END FROM generate_series(1, 250) i`)
	cfg, err := redshiftsync.ConfigFromURL(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema, cfg.BatchSize = schema, 40
	dir := t.TempDir()
	store := redshiftsync.NewFileStore(filepath.Join(dir, "state.json"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sync := func() {
		t.Helper()
		s := mustNew(t, dir)
		defer s.Close()
		ex := synctest.New(t, cfg, s, store)
		defer ex.Close() // before s's
		rep, err := ex.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Tables[0].Mode != redshiftsync.ModeFull {
			t.Fatalf("mode %s, want a full sync", rep.Tables[0].Mode)
		}
	}
	source := func() []string {
		var rows []string
		r, err := db.Query(`SELECT json_build_object('id', id, 'v', v, '_redshiftsync_resync', "_redshiftsync_resync")::text FROM ` + schema + `.k ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for r.Next() {
			var s string
			r.Scan(&s)
			rows = append(rows, canonical(t, s))
		}
		return rows
	}
	path := filepath.Join(dir, FileName(schema, "k"))
	sync()
	if got, want := sortedCanonical(t, latestCopy(t, path)), source(); !slices.Equal(got, want) {
		t.Fatalf("first sync: latest copy has %d rows, source %d", len(got), len(want))
	}
	pgtest.Exec(t, db, `DELETE FROM `+schema+`.k WHERE id > 200; UPDATE `+schema+`.k SET v = 'changed' WHERE id <= 10`)
	sync()
	got, want := sortedCanonical(t, latestCopy(t, path)), source()
	if !slices.Equal(got, want) {
		t.Errorf("second sync: latest copy (%d rows) differs from the source (%d rows)", len(got), len(want))
	}
	if n := len(readLines(t, path)); n != 250+200+4 {
		t.Errorf("file holds %d lines, want 454 (two copies and four control lines)", n)
	}
}

// canonical re-encodes a JSON object with sorted keys.
func canonical(t *testing.T, s string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func sortedCanonical(t *testing.T, rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = canonical(t, r)
	}
	slices.SortFunc(out, func(a, b string) int {
		var x, y struct{ ID int }
		json.Unmarshal([]byte(a), &x)
		json.Unmarshal([]byte(b), &y)
		return x.ID - y.ID
	})
	return out
}
