// This file tests the background writer of a table: that the hand-off keeps
// every line in order while Rows are reused, and that a failed write of the
// writer goroutine is reported, never lost, and never leaks the goroutine.

package jsonlsink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/seed2085993a/redshiftsync"
)

// TestWriteHandOffKeepsOrder writes many batches through one reused Rows
// slice (as the extractor does), enough to hand several buffers to the
// writer between flushes, and checks every line in order.
func TestWriteHandOffKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir)
	ctx := context.Background()
	table := simpleTable()
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 200)
	rows := make([][]any, 500)
	for i := range rows {
		rows[i] = make([]any, 2)
	}
	var want []string
	id := 0
	for batch := range 40 { // 20,000 lines of ~220 bytes: 16 hand-offs
		for _, r := range rows {
			id++
			r[0], r[1] = int64(id), fmt.Sprintf("%d%s", id, pad)
			want = append(want, fmt.Sprintf(`{"id":%d,"v":"%d%s"}`, id, id, pad))
		}
		if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows}); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows { // the caller reuses its rows at once
			r[0], r[1] = int64(-1), "reused"
		}
		if batch%15 == 14 {
			if err := s.Flush(ctx, table); err != nil {
				t.Fatal(err)
			}
			wantLines(t, filepath.Join(dir, "public.t.jsonl"), want...)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, filepath.Join(dir, "public.t.jsonl"), want...)
}

// openFull opens table in a sink whose file for it is a symbolic link to
// /dev/full, where every write fails with ENOSPC, and returns the sink and
// the table's writer.
func openFull(t *testing.T) (*Sink, *redshiftsync.Table, *fileWriter) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs /dev/full")
	}
	dir := t.TempDir()
	table := simpleTable()
	if err := os.Symlink("/dev/full", filepath.Join(dir, FileName(table.Schema, table.Name))); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, dir)
	if err := s.Open(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	tf, err := s.table(table, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s, table, tf.w
}

// wantFull checks that err is the writer's failed write, naming the table.
func wantFull(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "public.t") {
		t.Fatalf("%s: %v, want ENOSPC naming table public.t", op, err)
	}
}

// wantStopped checks that the writer goroutine has returned.
func wantStopped(t *testing.T, w *fileWriter) {
	t.Helper()
	select {
	case <-w.done:
	default:
		t.Fatal("the writer goroutine is still running after Close")
	}
}

// TestWriteErrorAtFlush: lines still buffered when Flush runs fail to
// write; Flush reports it, and so does every later Write, Flush and Close,
// which still ends the writer goroutine.
func TestWriteErrorAtFlush(t *testing.T) {
	s, table, w := openFull(t)
	ctx := context.Background()
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "x"}}}); err != nil {
		t.Fatalf("Write of a buffered line: %v", err)
	}
	wantFull(t, "Flush", s.Flush(ctx, table))
	wantFull(t, "second Flush", s.Flush(ctx, table))
	wantFull(t, "Write after the failed Flush", s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(2), "y"}}}))
	wantFull(t, "EndResync after the failed Flush", s.EndResync(ctx, table))
	wantFull(t, "Close", s.Close())
	wantStopped(t, w)
}

// TestWriteErrorInBackground: a write the goroutine does while Write goes
// on fails; the error surfaces at a later Write or at the Flush, never
// lost, and Close ends the goroutine.
func TestWriteErrorInBackground(t *testing.T) {
	s, table, w := openFull(t)
	ctx := context.Background()
	big := strings.Repeat("z", 64<<10)
	rows := [][]any{{int64(1), big}, {int64(2), big}, {int64(3), big}, {int64(4), big}}
	failedAt := -1
	for i := range 8 { // 2 MiB: the first hand-off fails, later ones are skipped
		if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows}); err != nil {
			wantFull(t, fmt.Sprintf("Write %d", i), err)
			failedAt = i
			break
		}
	}
	if failedAt == 0 {
		t.Fatal("the first Write failed: its lines had not been handed off yet")
	}
	wantFull(t, "Flush", s.Flush(ctx, table))
	wantFull(t, "Close", s.Close())
	wantStopped(t, w)
}

// TestCloseStopsEveryWriter: Close ends the goroutine of each table, of
// a healthy one and of one whose writes fail, and reports only the failed
// one.
func TestCloseStopsEveryWriter(t *testing.T) {
	s, table, failing := openFull(t)
	ctx := context.Background()
	ok := &redshiftsync.Table{Schema: "public", Name: "ok", Columns: table.Columns}
	if err := s.Open(ctx, ok); err != nil {
		t.Fatal(err)
	}
	tf, err := s.table(ok, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*redshiftsync.Table{table, ok} {
		if err := s.Write(ctx, redshiftsync.Batch{Table: tb, Rows: [][]any{{int64(1), "x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	err = s.Close()
	wantFull(t, "Close", err)
	if strings.Contains(err.Error(), "public.ok") {
		t.Errorf("Close: %v names the healthy table", err)
	}
	wantStopped(t, failing)
	wantStopped(t, tf.w)
	wantLines(t, filepath.Join(s.Dir(), "public.ok.jsonl"), `{"id":1,"v":"x"}`)
}
