// This file tests the encoder goroutine of a table: that lines written
// through it are byte for byte the encoder's, that Write's check refuses
// exactly what the encoder would, that a failure of the goroutine surfaces
// at the next Write, Flush and Close, and that Close leaves no goroutine.

package jsonlsink

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// TestPipelinedLinesAreTheEncoders writes every value of valueCases (one
// column per case) through Write in batches of a few rows, overwriting the
// caller's rows as soon as each Write returns, and checks after each Flush,
// before Close, that the file holds exactly the golden lines: the encoding
// on the goroutine is the encoder's, in order, and Flush returns only when
// every row written before it is in the file.
func TestPipelinedLinesAreTheEncoders(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir)
	defer s.Close()
	ctx := context.Background()
	table := &redshiftsync.Table{Schema: "public", Name: "all"}
	for i, tc := range valueCases {
		table.Columns = append(table.Columns, redshiftsync.Column{Name: fmt.Sprintf("c%d", i), Type: tc.typ})
	}
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	// Row r holds case (i+r) % n in column i when that case has column i's
	// type, else the value of case i: rows differ, every value is written.
	n := len(valueCases)
	rowOf := func(r int) ([]any, string) {
		row := make([]any, n)
		var line strings.Builder
		line.WriteByte('{')
		for i := range n {
			c := valueCases[i]
			if o := valueCases[(i+r)%n]; o.typ == c.typ {
				c = o
			}
			row[i] = c.v
			if i > 0 {
				line.WriteByte(',')
			}
			fmt.Fprintf(&line, `"c%d":%s`, i, c.want)
		}
		line.WriteByte('}')
		return row, line.String()
	}
	batch := make([][]any, 3)
	var want []string
	r := 0
	for round := range 40 {
		for j := range batch {
			row, line := rowOf(r)
			batch[j] = row
			want = append(want, line)
			r++
		}
		if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: batch}); err != nil {
			t.Fatal(err)
		}
		for _, row := range batch { // the extractor reuses its rows at once
			for i := range row {
				row[i] = "reused"
			}
		}
		if round%13 == 12 {
			if err := s.Flush(ctx, table); err != nil {
				t.Fatal(err)
			}
			wantLines(t, filepath.Join(dir, "public.all.jsonl"), want...)
		}
	}
	if err := s.Flush(ctx, table); err != nil {
		t.Fatal(err)
	}
	wantLines(t, filepath.Join(dir, "public.all.jsonl"), want...)
}

// TestCheckAgreesWithEncoder: Write's check, which runs on the caller's
// goroutine so that a bad value fails the Write that delivered it, accepts
// every value the encoder encodes and refuses, with the encoder's own error,
// every value it refuses.
func TestCheckAgreesWithEncoder(t *testing.T) {
	for _, tc := range valueCases {
		var e encoder
		e.setColumns(&redshiftsync.Table{Schema: "s", Name: "t", Columns: []redshiftsync.Column{{Name: "c", Type: tc.typ}}})
		if _, err := e.check([]any{tc.v}); err != nil {
			t.Errorf("%s: check: %v", tc.name, err)
		}
	}
	table := &redshiftsync.Table{Schema: "sch", Name: "tbl", Columns: []redshiftsync.Column{
		{Name: "ok", Type: redshiftsync.TypeLong}, {Name: "bad col", Type: redshiftsync.TypeInterval},
	}}
	var e encoder
	e.setColumns(table)
	for _, row := range [][]any{
		{int64(1), 5}, {int64(1), int32(5)}, {int64(1), float32(1.5)}, {int64(1), map[string]any{}},
		{int64(1), new(string)}, {int64(1), time.Now()}, {int64(1)}, {int64(1), "x", "y"}, {},
	} {
		_, want := e.encodeRow(row)
		_, got := e.check(row)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("row %v: check %v, encoder %v", row, got, want)
		}
	}
}

// TestCheckSize: check counts the text a row keeps alive.
func TestCheckSize(t *testing.T) {
	_, rows := benchTable(1)
	table, _ := benchTable(0)
	var e encoder
	e.setColumns(table)
	size, err := e.check(rows[0])
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, v := range rows[0] {
		switch v := v.(type) {
		case string:
			want += len(v)
		case redshiftsync.Decimal:
			want += len(v)
		case []byte:
			want += len(v)
		case json.RawMessage:
			want += len(v)
		}
	}
	if size != want {
		t.Fatalf("check counted %d bytes, want %d", size, want)
	}
}

// TestBadRowAfterGoodOnes: a row the check refuses fails the Write; the
// rows before it in the batch are written, it and the rows after are not.
func TestBadRowAfterGoodOnes(t *testing.T) {
	dir := t.TempDir()
	s, table, _ := openSimple(t, dir)
	defer s.Close()
	ctx := context.Background()
	err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "a"}, {int64(2), "b"}, {int64(3), 3}, {int64(4), "d"}}})
	if err == nil || !strings.Contains(err.Error(), `"v"`) || !strings.Contains(err.Error(), "unsupported Go type int") {
		t.Fatalf("Write of an int: %v", err)
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(5), "e"}}}); err != nil {
		t.Fatalf("Write after a refused row: %v", err)
	}
	if err := s.Flush(ctx, table); err != nil {
		t.Fatal(err)
	}
	wantLines(t, filepath.Join(dir, "public.t.jsonl"), `{"id":1,"v":"a"}`, `{"id":2,"v":"b"}`, `{"id":5,"v":"e"}`)
}

// TestWideBatchEncodedInWrite: a batch holding more than syncBatchBytes of
// text is encoded before Write returns (the goroutine holds no snapshot, so
// none of its values is kept alive); a narrow batch is handed over.
func TestWideBatchEncodedInWrite(t *testing.T) {
	s, table, tf := openSimple(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	wide := strings.Repeat("w", syncBatchBytes/2+1)
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), wide}, {int64(2), wide}}}); err != nil {
		t.Fatal(err)
	}
	if n := len(tf.loop.free); n != snapshots {
		t.Fatalf("after a Write of %d bytes of text, %d of %d snapshots are free: the goroutine still holds its values", 2*len(wide), n, snapshots)
	}
	if err := s.Flush(ctx, table); err != nil {
		t.Fatal(err)
	}
	if n := len(tf.w.cur); n != 0 {
		t.Fatalf("%d bytes buffered after Flush", n)
	}
}

// TestEncoderFailureSurfaces: a row the encoder goroutine fails on (one
// that Write's check would have refused, handed to the goroutine directly;
// then a snapshot that makes it panic) fails the next Write, Flush and
// Close, naming the table, as a failed write of the writer does: nothing
// more is written, the lines flushed before stay, and Close ends both
// goroutines.
func TestEncoderFailureSurfaces(t *testing.T) {
	for _, c := range []struct {
		name string
		sn   *snapshot
		want string
	}{
		{"error", &snapshot{vals: []any{int64(2), "b", int64(3), 3}, rows: 2}, "unsupported Go type int"},
		{"panic", &snapshot{vals: []any{int64(2), "b"}, rows: 2}, "encoding a row panicked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, table, tf := openSimple(t, dir)
			ctx := context.Background()
			if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "a"}}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx, table); err != nil {
				t.Fatal(err)
			}
			// As write does, past its check.
			<-tf.loop.free
			tf.loop.work <- c.sn
			tf.loop.idle()
			wantErr := func(op string, err error) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "public.t") {
					t.Fatalf("%s: %v, want an error naming public.t and %q", op, err, c.want)
				}
			}
			wantErr("Write", s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(9), "z"}}}))
			wantErr("Flush", s.Flush(ctx, table))
			wantErr("BeginResync", s.BeginResync(ctx, table))
			wantErr("Close", s.Close())
			wantStopped(t, tf.w)
			select {
			case <-tf.loop.done:
			default:
				t.Fatal("the encoder goroutine is still running after Close")
			}
			// The flushed line stays; nothing after the failure was written
			// (the failed snapshot's first row was encoded, never written).
			wantLines(t, filepath.Join(dir, "public.t.jsonl"), `{"id":1,"v":"a"}`)
		})
	}
}

// TestCloseLeavesNoGoroutine: New, Open of several tables (twice, a second
// run), Writes, a failed write (/dev/full) and Close leave as many
// goroutines as there were before New.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	s, failing, _ := openFull(t)
	ctx := context.Background()
	for run := range 2 {
		for i := range 4 {
			table := &redshiftsync.Table{Schema: "public", Name: fmt.Sprintf("t%d", i), Columns: simpleTable().Columns}
			if err := s.Open(ctx, table); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(run), "x"}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: failing, Rows: [][]any{{int64(1), "x"}}}); err != nil {
		t.Fatal(err)
	}
	wantFull(t, "Close", s.Close())
	// A goroutine that closed its done channel may not have returned yet:
	// give it the chance, without a deadline that could fail a slow run.
	for i := 0; runtime.NumGoroutine() > before && i < 1000; i++ {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before New:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestSafe8 checks safe8 against safeASCII: every byte value at every
// position among safe bytes (of each kind), and pseudo-random words.
func TestSafe8(t *testing.T) {
	ref := func(s string) bool {
		for i := range len(s) {
			if !safeASCII[s[i]] {
				return false
			}
		}
		return true
	}
	for _, fill := range []byte{' ', '!', '#', '[', ']', '~', 'a', '0'} {
		for pos := range 8 {
			for c := range 256 {
				w := []byte(strings.Repeat(string(fill), 8))
				w[pos] = byte(c)
				if got, want := safe8(string(w)), ref(string(w)); got != want {
					t.Fatalf("safe8(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
	x := uint64(0x9e3779b97f4a7c15)
	for range 1_000_000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		var w [8]byte
		for i := range w {
			// Mostly bytes near the edges of the safe range.
			w[i] = []byte{0x1f, 0x20, 0x21, '"', '\\', 0x7e, 0x7f, 0x80, 0xff, 0x00, 'a', 'z'}[(x>>(8*i))%12]
		}
		if got, want := safe8(string(w[:])), ref(string(w[:])); got != want {
			t.Fatalf("safe8(%q) = %v, want %v", w, got, want)
		}
	}
}

// openSimple opens simpleTable in a new sink on dir and returns the sink,
// the table and its open file.
func openSimple(t *testing.T, dir string) (*Sink, *redshiftsync.Table, *tableFile) {
	t.Helper()
	s := mustNew(t, dir)
	table := simpleTable()
	if err := s.Open(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	tf, err := s.table(table, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s, table, tf
}
