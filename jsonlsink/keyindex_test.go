package jsonlsink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/seed2085993a/redshiftsync"
)

func compositeTable() *redshiftsync.Table {
	return &redshiftsync.Table{Schema: "s", Name: "c", PrimaryKey: []string{"name", "n"}, Columns: []redshiftsync.Column{
		{Name: "v", Type: redshiftsync.TypeString},
		{Name: "n", Type: redshiftsync.TypeLong},
		{Name: "name", Type: redshiftsync.TypeString},
	}}
}

// sinkKeys returns the keys s lists for table within r, sorted, as text.
func sinkKeys(t *testing.T, s *Sink, table *redshiftsync.Table, r redshiftsync.KeyRange) []string {
	t.Helper()
	var out []string
	if err := s.ListKeys(context.Background(), table, r, func(k redshiftsync.Key) error {
		out = append(out, fmt.Sprint([]any(k)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// fileKeys returns the live keys of the table file at path by the rule
// readers use, the last line of a key is its state, as "[name n]", sorted.
func fileKeys(t *testing.T, path string) []string {
	t.Helper()
	live := map[string]bool{}
	for _, line := range readLines(t, path) {
		if IsControl(line) {
			continue
		}
		var obj struct {
			Name    string `json:"name"`
			N       int64  `json:"n"`
			Deleted bool   `json:"_redshiftsync_deleted"`
		}
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatal(err)
		}
		live[fmt.Sprint([]any{obj.Name, obj.N})] = !obj.Deleted
	}
	var out []string
	for k, ok := range live {
		if ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestDeleteAndListKeys: tombstone lines, and ListKeys of a composite text
// key over ranges whose bounds hold bytewise ("B" < "Z" < "a" < "ä"), with
// deleted keys left out, unflushed rows and tombstones counted, and a key
// written again after its delete live again.
func TestDeleteAndListKeys(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := mustNew(t, dir)
	defer s.Close()
	tbl := compositeTable()
	var rows [][]any
	var all []redshiftsync.Key
	for _, name := range []string{"a", "B", "b", "Z", "ä", "ab", ""} {
		for n := int64(1); n <= 3; n++ {
			rows = append(rows, []any{"x", n, name})
			all = append(all, redshiftsync.Key{name, n})
		}
	}
	writeRows(t, s, tbl, rows...)
	if err := s.Delete(ctx, tbl, []redshiftsync.Key{{"b", int64(2)}, {"ä", int64(1)}}); err != nil {
		t.Fatal(err)
	}
	// Not flushed: listed as deleted already.
	live := slices.DeleteFunc(slices.Clone(all), func(k redshiftsync.Key) bool {
		return (k[0] == "b" && k[1] == int64(2)) || (k[0] == "ä" && k[1] == int64(1))
	})
	for _, r := range []redshiftsync.KeyRange{
		{},
		{Lower: redshiftsync.Key{"B", int64(1)}, Upper: redshiftsync.Key{"a", int64(2)}},
		{Lower: redshiftsync.Key{"Z", int64(2)}},
		{Upper: redshiftsync.Key{"Z", int64(1)}},
		{Lower: redshiftsync.Key{"a", int64(3)}, Upper: redshiftsync.Key{"ä", int64(2)}},
		{Lower: redshiftsync.Key{"b"}, Upper: redshiftsync.Key{"c"}},
	} {
		var want []string
		for _, k := range live {
			if r.Contains(k) {
				want = append(want, fmt.Sprint([]any(k)))
			}
		}
		slices.Sort(want)
		if got := sinkKeys(t, s, tbl, r); !slices.Equal(got, want) {
			t.Errorf("ListKeys(%v..%v) = %v\nwant %v", r.Lower, r.Upper, got, want)
		}
	}
	if err := s.Flush(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, FileName("s", "c")))
	if got, want := string(lines[len(lines)-2]), `{"name":"b","n":2,"_redshiftsync_deleted":true}`; got != want {
		t.Errorf("tombstone line %s, want %s", got, want)
	}
	if IsControl(lines[len(lines)-1]) {
		t.Error("a tombstone is a control line")
	}
	// Written again: live again.
	if err := s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: [][]any{{"y", int64(2), "b"}}}); err != nil {
		t.Fatal(err)
	}
	if got := sinkKeys(t, s, tbl, redshiftsync.KeyRange{Lower: redshiftsync.Key{"b", int64(2)}, Upper: redshiftsync.Key{"b", int64(3)}}); !slices.Equal(got, []string{"[b 2]"}) {
		t.Errorf("key written after its delete: ListKeys = %v", got)
	}
	// Errors name the table and key, and keep no line.
	err := s.Delete(ctx, tbl, []redshiftsync.Key{{"z", int64(1)}, {"z"}})
	if err == nil || !strings.Contains(err.Error(), "s.c") {
		t.Errorf("Delete of a short key: %v", err)
	}
	if err := s.Flush(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	if got, want := fileKeys(t, filepath.Join(dir, FileName("s", "c"))), sinkKeys(t, s, tbl, redshiftsync.KeyRange{}); !slices.Equal(got, want) {
		t.Errorf("file's live keys %v\nListKeys %v", got, want)
	}
}

// TestKeyIndexAcrossRuns: the index persisted by a Flush is read by the
// next sink, which catches up with the lines a run that never listed keys
// appended; many deletes compact the index file.
func TestKeyIndexAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tbl := compositeTable()
	path := filepath.Join(dir, FileName("s", "c"))
	var rows [][]any
	for n := int64(0); n < 2000; n++ {
		rows = append(rows, []any{"x", n, "k"})
	}
	s := mustNew(t, dir)
	writeRows(t, s, tbl, rows...)
	if got := len(sinkKeys(t, s, tbl, redshiftsync.KeyRange{})); got != 2000 {
		t.Fatalf("%d keys listed, want 2000", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + IndexExt); err != nil {
		t.Fatalf("no index file after Close: %v", err)
	}
	// A run without ListKeys: the index is not touched.
	s = mustNew(t, dir)
	writeRows(t, s, tbl, []any{"x", int64(5000), "k"})
	s.Close()
	// Delete 1900 keys: more records than twice the live keys.
	s = mustNew(t, dir)
	defer s.Close()
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	var del []redshiftsync.Key
	for n := int64(100); n < 2000; n++ {
		del = append(del, redshiftsync.Key{"k", n})
	}
	if err := s.Delete(ctx, tbl, del); err != nil {
		t.Fatal(err)
	}
	if got := len(sinkKeys(t, s, tbl, redshiftsync.KeyRange{})); got != 101 {
		t.Errorf("%d keys listed, want 101", got)
	}
	if err := s.Flush(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	if n := len(readLines(t, path+IndexExt)); n != 102 { // 101 keys and the commit
		t.Errorf("the index file has %d lines after compaction, want 102", n)
	}
	if got, want := sinkKeys(t, s, tbl, redshiftsync.KeyRange{}), fileKeys(t, path); !slices.Equal(got, want) {
		t.Errorf("ListKeys %d keys, the file %d", len(got), len(want))
	}
}

// TestKeyIndexRepairs: a torn index tail (a crash while appending) is cut
// off, and an index covering more than the table file holds (the file cut
// or replaced) is rebuilt from the file.
func TestKeyIndexRepairs(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tbl := compositeTable()
	path := filepath.Join(dir, FileName("s", "c"))
	s := mustNew(t, dir)
	writeRows(t, s, tbl, []any{"x", int64(1), "a"}, []any{"x", int64(2), "a"})
	sinkKeys(t, s, tbl, redshiftsync.KeyRange{})
	s.Close()
	f, err := os.OpenFile(path+IndexExt, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"k":["a",3]}` + "\n" + `{"k":["a",4`) // uncommitted, torn
	f.Close()
	s = mustNew(t, dir)
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	if got := sinkKeys(t, s, tbl, redshiftsync.KeyRange{}); !slices.Equal(got, []string{"[a 1]", "[a 2]"}) {
		t.Errorf("after a torn index: %v", got)
	}
	s.Close()
	// The table file replaced by a shorter one.
	if err := os.WriteFile(path, []byte(`{"v":"x","n":9,"name":"b"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustNew(t, dir)
	defer s.Close()
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	if got := sinkKeys(t, s, tbl, redshiftsync.KeyRange{}); !slices.Equal(got, []string{"[b 9]"}) {
		t.Errorf("after the table file was replaced: %v", got)
	}
}

// TestKeyIndexKill: a child process killed with SIGKILL at several points
// (after rows and tombstones were written to the file but before their
// flush, and in between flushes) leaves an index that, read by the next
// sink, lists exactly the live keys of the file's lines.
func TestKeyIndexKill(t *testing.T) {
	if dir := os.Getenv("JSONLSINK_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	for _, stop := range []string{"unflushed", "flushed", "deleted"} {
		t.Run(stop, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKeyIndexKill$")
			cmd.Env = append(os.Environ(), "JSONLSINK_KILL_CHILD="+dir, "JSONLSINK_KILL_AT="+stop)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != "ready" {
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			tbl := compositeTable()
			s := mustNew(t, dir)
			defer s.Close()
			if err := s.Open(context.Background(), tbl); err != nil {
				t.Fatal(err)
			}
			got := sinkKeys(t, s, tbl, redshiftsync.KeyRange{})
			want := fileKeys(t, filepath.Join(dir, FileName("s", "c")))
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Errorf("after a kill at %s: ListKeys %d keys %v\nthe file's lines %d keys %v", stop, len(got), got, len(want), want)
			}
		})
	}
}

// killChild is the child of TestKeyIndexKill: it writes, lists, deletes and
// flushes as JSONLSINK_KILL_AT says, prints "ready" and waits to be killed.
func killChild(dir string) {
	ctx := context.Background()
	tbl := compositeTable()
	s, err := New(dir)
	if err != nil {
		panic(err)
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(s.Open(ctx, tbl))
	batch := func(from, to int64) redshiftsync.Batch {
		var rows [][]any
		for n := from; n < to; n++ {
			rows = append(rows, []any{"x", n, "k"})
		}
		return redshiftsync.Batch{Table: tbl, Rows: rows}
	}
	list := func() {
		must(s.ListKeys(ctx, tbl, redshiftsync.KeyRange{}, func(redshiftsync.Key) error { return nil }))
	}
	must(s.Write(ctx, batch(0, 500)))
	list()
	must(s.Flush(ctx, tbl)) // the index file covers 0..499
	must(s.Write(ctx, batch(500, 1000)))
	switch os.Getenv("JSONLSINK_KILL_AT") {
	case "unflushed":
		must(s.Delete(ctx, tbl, []redshiftsync.Key{{"k", int64(3)}}))
		list() // written to the file, indexed in memory, never flushed
	case "flushed":
		must(s.Flush(ctx, tbl)) // the lines durable, not indexed
	case "deleted":
		list()
		must(s.Delete(ctx, tbl, []redshiftsync.Key{{"k", int64(7)}, {"k", int64(600)}}))
		must(s.Flush(ctx, tbl))
		list()
		must(s.Write(ctx, batch(1000, 1100)))
		list()
	}
	fmt.Println("ready")
	select {}
}

// TestSchemaFile: SchemaChanged replaces <schema>.<table>.schema.json
// atomically (no temporary file left) with the current columns and the
// change.
func TestSchemaFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := mustNew(t, dir)
	defer s.Close()
	tbl := compositeTable()
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	change := redshiftsync.SchemaChange{
		Added:   []redshiftsync.Column{tbl.Columns[0]},
		Retyped: []redshiftsync.Column{{Name: "n", SourceType: "bigint"}}, Before: []redshiftsync.Column{{Name: "n", SourceType: "integer"}},
		Renamed: map[string]string{"old": "name"},
	}
	for i := 0; i < 2; i++ {
		if err := s.SchemaChanged(ctx, tbl, change); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "s.c.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc SchemaFile
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "s" || doc.Table != "c" || len(doc.Columns) != 3 || doc.Columns[2].Name != "name" || !slices.Equal(doc.PrimaryKey, []string{"name", "n"}) ||
		!slices.Equal(doc.Change.Added, []string{"v"}) || len(doc.Change.Retyped) != 1 || doc.Change.Retyped[0] != (SchemaRetype{"n", "integer", "bigint"}) ||
		doc.Change.Renamed["old"] != "name" {
		t.Errorf("schema file:\n%s", data)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}
