package jsonlsink

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync"
)

// field is one key and raw value of a line, in line order.
type field struct {
	key string
	raw json.RawMessage
}

// parseLine decodes one line as a JSON object, keeping the key order and the
// exact text of each value.
func parseLine(t *testing.T, line []byte) []field {
	t.Helper()
	if !json.Valid(line) {
		t.Fatalf("line is not valid JSON: %.200q", line)
	}
	if !utf8.Valid(line) {
		t.Fatalf("line is not valid UTF-8: %.200q", line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line does not start an object: %v %v", tok, err)
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		fields = append(fields, field{tok.(string), raw})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		t.Fatalf("line does not end the object: %v %v", tok, err)
	}
	return fields
}

// readLines returns the lines of a file, checking that it ends in '\n'.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end in a newline", path)
	}
	return bytes.Split(data[:len(data)-1], []byte("\n"))
}

// parseTime reads back a date or timestamp written by the sink.
func parseTime(t *testing.T, typ redshiftsync.LogicalType, s string) time.Time {
	t.Helper()
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i = 1
	}
	j := i + strings.IndexByte(s[i:], '-')
	year, err := strconv.Atoi(s[i:j])
	if err != nil || j-i < 4 {
		t.Fatalf("bad year in %q", s)
	}
	if s[0] == '-' {
		year = -year
	}
	if (year < 1 || year > 9999) != (i == 1) {
		t.Fatalf("%q: sign must be present exactly for years outside 1..9999", s)
	}
	layout := map[redshiftsync.LogicalType]string{
		redshiftsync.TypeNaiveDate:     "-01-02",
		redshiftsync.TypeNaiveDateTime: "-01-02T15:04:05.000000",
		redshiftsync.TypeUTCDateTime:   "-01-02T15:04:05.000000Z",
	}[typ]
	p, err := time.Parse(layout, s[j:])
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return time.Date(year, p.Month(), p.Day(), p.Hour(), p.Minute(), p.Second(), p.Nanosecond(), time.UTC)
}

// checkDecoded decodes raw, written for v of type typ, and checks it is v.
func checkDecoded(t *testing.T, typ redshiftsync.LogicalType, v any, raw json.RawMessage) {
	t.Helper()
	var got any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	switch v := v.(type) {
	case nil:
		if got != nil {
			t.Errorf("NULL read back as %#v", got)
		}
	case bool:
		if got != v {
			t.Errorf("%v read back as %#v", v, got)
		}
	case int64:
		n, err := strconv.ParseInt(string(got.(json.Number)), 10, 64)
		if err != nil || n != v {
			t.Errorf("%d read back as %v (%v)", v, got, err)
		}
	case redshiftsync.Decimal:
		if got != string(v) {
			t.Errorf("%s read back as %#v", v, got)
		}
	case float64:
		var f float64
		switch g := got.(type) {
		case string:
			f = map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}[g]
			if g != "NaN" && f == 0 {
				t.Fatalf("%v read back as string %q", v, g)
			}
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(string(g), 64); err != nil {
				t.Fatal(err)
			}
		}
		if math.Float64bits(f) != math.Float64bits(v) && !(math.IsNaN(f) && math.IsNaN(v)) {
			t.Errorf("%v read back as %v", v, f)
		}
	case time.Time:
		want := v.Truncate(time.Microsecond)
		if typ == redshiftsync.TypeUTCDateTime {
			want = want.UTC()
		} else {
			// Naive: the wall clock as given.
			want = time.Date(want.Year(), want.Month(), want.Day(), want.Hour(), want.Minute(), want.Second(), want.Nanosecond(), time.UTC)
		}
		if typ == redshiftsync.TypeNaiveDate {
			want = time.Date(want.Year(), want.Month(), want.Day(), 0, 0, 0, 0, time.UTC)
		}
		if back := parseTime(t, typ, got.(string)); !back.Equal(want) {
			t.Errorf("%v read back as %v", want, back)
		}
	case string:
		if got != perByteReplacement(v) {
			t.Errorf("%.100q read back as %.100q", v, got)
		}
	case []byte:
		b, err := base64.StdEncoding.DecodeString(got.(string))
		if err != nil || !bytes.Equal(b, v) {
			t.Errorf("%x read back as %x (%v)", v, b, err)
		}
	case json.RawMessage:
		fixed := []byte(perByteReplacement(string(v)))
		if !json.Valid(fixed) {
			if got != string(fixed) {
				t.Errorf("invalid JSON %q read back as %#v", v, got)
			}
			return
		}
		var want, back bytes.Buffer
		json.Compact(&want, fixed)
		json.Compact(&back, raw)
		if want.String() != back.String() {
			t.Errorf("JSON %s read back as %s", want.String(), back.String())
		}
	default:
		t.Fatalf("no check for %T", v)
	}
}

// TestRoundTrip writes every value case through a Sink and reads the file
// back with encoding/json: keys in column order, exact values.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir)
	table := &redshiftsync.Table{Schema: "public", Name: "all_types"}
	row, nulls := []any{}, []any{}
	for _, tc := range valueCases {
		table.Columns = append(table.Columns, redshiftsync.Column{Name: tc.name, Type: tc.typ})
		row = append(row, tc.v)
		nulls = append(nulls, nil)
	}
	ctx := context.Background()
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{row, nulls}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx, table); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "public.all_types.jsonl"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	for li, line := range lines {
		fields := parseLine(t, line)
		if len(fields) != len(valueCases) {
			t.Fatalf("line %d: %d fields, want %d", li, len(fields), len(valueCases))
		}
		for i, tc := range valueCases {
			f := fields[i]
			if f.key != tc.name {
				t.Fatalf("field %d is %q, want %q", i, f.key, tc.name)
			}
			t.Run(fmt.Sprintf("%d/%s", li, tc.name), func(t *testing.T) {
				if li == 1 {
					if string(f.raw) != "null" {
						t.Errorf("NULL written as %s", f.raw)
					}
					return
				}
				if string(f.raw) != tc.want {
					t.Errorf("written as %.100s, want %.100s", f.raw, tc.want)
				}
				checkDecoded(t, tc.typ, tc.v, f.raw)
			})
		}
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ schema, table, want string }{
		{"public", "orders", "public.orders.jsonl"},
		{"my/schema", "a.b", "my%2Fschema.a.b.jsonl"},
		{"a.b", "c", "a%2Eb.c.jsonl"},
		{"a", "b.c", "a.b.c.jsonl"},
		{".hidden", "t", "%2Ehidden.t.jsonl"},
		{"..", "..", "%2E%2E....jsonl"},
		{"s", "../../etc/passwd", "s...%2F..%2Fetc%2Fpasswd.jsonl"},
		{`a\b`, "c", "a%5Cb.c.jsonl"},
		{"100%", "50%2F", "100%25.50%252F.jsonl"},
		{"s", "x\ny\tz\x00", "s.x%0Ay%09z%00.jsonl"},
		{"s", "del\x7f", "s.del%7F.jsonl"},
		{"s", "c1\u0085", "s.c1%C2%85.jsonl"},
		{"s", "bad\xffutf8", "s.bad%FFutf8.jsonl"},
		{"Sales Data", `"Quoted"; DROP TABLE x; --`, `Sales Data."Quoted"; DROP TABLE x; --.jsonl`},
		{"схема", "表格 🎉", "схема.表格 🎉.jsonl"},
		{"s", " ", "s. .jsonl"},
	} {
		if got := FileName(tc.schema, tc.table); got != tc.want {
			t.Errorf("FileName(%q, %q) = %q, want %q", tc.schema, tc.table, got, tc.want)
		}
	}
}

// TestFileNameLong checks that names too long for a file system are
// shortened, stay distinct and can be created.
func TestFileNameLong(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 127)
	names := map[string][2]string{}
	pairs := [][2]string{
		{long, long},
		{long, long[:126] + "y"},
		{long[:126] + "y", long},
		{strings.Repeat("é", 63), strings.Repeat("表", 42)},
		{strings.Repeat("/", 127), strings.Repeat("%", 127)},
		{strings.Repeat("/", 127), strings.Repeat("%", 126)},
		{"s", strings.Repeat("t", 247)},                     // exactly 255 bytes
		{"s", strings.Repeat("t", 248)},                     // one too many
		{"s", strings.Repeat("t", 207) + "%-" + "deadbeef"}, // looks like a hash
	}
	for _, p := range pairs {
		name := FileName(p[0], p[1])
		if len(name) > maxFileName || !utf8.ValidString(name) || !strings.HasSuffix(name, ".jsonl") {
			t.Errorf("FileName(%.20q..., %.20q...) = %q (%d bytes)", p[0], p[1], name, len(name))
		}
		if old, dup := names[name]; dup {
			t.Errorf("%q and %q both map to %q", old, p, name)
		}
		names[name] = p
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Error(err)
		}
	}
	if got := FileName("s", strings.Repeat("t", 247)); got != "s."+strings.Repeat("t", 247)+".jsonl" {
		t.Errorf("a 255-byte name was shortened: %q", got)
	}
}

// TestFileNameInjective maps many hostile names and checks that no two
// tables share a file and that every name is a plain file name.
func TestFileNameInjective(t *testing.T) {
	alphabet := []string{"a", ".", "..", "/", `\`, "%", "%2E", "%2F", "2E", "\n", "\x00", "\x7f", "\xff", "é", " ", `"`, ";", "\u2028", "%-"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		var b strings.Builder
		for n := 1 + rng.IntN(5); n > 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	seen := map[string][2]string{}
	for range 200000 {
		p := [2]string{word(), word()}
		name := FileName(p[0], p[1])
		if old, dup := seen[name]; dup && old != p {
			t.Fatalf("%q and %q both map to %q", old, p, name)
		}
		seen[name] = p
		if strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\x00\n\x7f") || !utf8.ValidString(name) {
			t.Fatalf("FileName(%q, %q) = %q is not a safe file name", p[0], p[1], name)
		}
	}
}

// TestHostileNames writes tables with hostile names through the sink and
// checks that each gets its own file (and schema file) inside the
// directory.
func TestHostileNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out", "nested")
	s, err := New(dir) // created on demand
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tables := []*redshiftsync.Table{
		{Schema: "..", Name: ".."},
		{Schema: ".", Name: "."},
		{Schema: "a.b", Name: "c"},
		{Schema: "a", Name: "b.c"},
		{Schema: "s", Name: "../../escape"},
		{Schema: "/etc", Name: "passwd"},
		{Schema: `C:\`, Name: "x"},
		{Schema: "s", Name: "new\nline"},
		{Schema: "100%", Name: "t"},
		{Schema: "100%25", Name: "t"},
		{Schema: "ünï", Name: "日本 语"},
		{Schema: "s", Name: `"; DROP TABLE users; --`},
	}
	for i, table := range tables {
		table.Columns = []redshiftsync.Column{{Name: "i", Type: redshiftsync.TypeLong}}
		if err := s.Open(ctx, table); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*len(tables)+1 { // a table file and a schema file each, and the lock file
		t.Fatalf("%d files, want %d", len(entries), 2*len(tables)+1)
	}
	for i, table := range tables {
		lines := readLines(t, filepath.Join(dir, FileName(table.Schema, table.Name)))
		if want := fmt.Sprintf(`{"i":%d}`, i); len(lines) != 1 || string(lines[0]) != want {
			t.Errorf("%s: %q, want %q", table.QualifiedName(), lines, want)
		}
	}
	// Nothing escaped the directory.
	var files []string
	filepath.WalkDir(parent, func(path string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != 2*len(tables)+1 {
		t.Errorf("files under %s: %q", parent, files)
	}
}

func TestOpenRejectsEmptyNames(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, table := range []*redshiftsync.Table{nil, {Schema: "", Name: "t"}, {Schema: "s", Name: ""}} {
		if err := s.Open(context.Background(), table); err == nil {
			t.Errorf("Open(%v): no error", table)
		}
	}
}

// mustNew returns New(dir, opts...), failing the test on error.
func mustNew(t *testing.T, dir string, opts ...Option) *Sink {
	t.Helper()
	s, err := New(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func simpleTable() *redshiftsync.Table {
	return &redshiftsync.Table{Schema: "public", Name: "t", Columns: []redshiftsync.Column{
		{Name: "id", Type: redshiftsync.TypeLong},
		{Name: "v", Type: redshiftsync.TypeString},
	}, PrimaryKey: []string{"id"}}
}

// writeRows opens table in s, writes rows and flushes.
func writeRows(t *testing.T, s *Sink, table *redshiftsync.Table, rows ...[]any) {
	t.Helper()
	ctx := context.Background()
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx, table); err != nil {
		t.Fatal(err)
	}
}

func wantLines(t *testing.T, path string, want ...string) {
	t.Helper()
	got := readLines(t, path)
	var gs []string
	for _, l := range got {
		gs = append(gs, string(l))
	}
	if strings.Join(gs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s holds\n%s\nwant\n%s", filepath.Base(path), strings.Join(gs, "\n"), strings.Join(want, "\n"))
	}
}

// TestOptionsValidate: an option given a value it cannot use fails New with
// an error naming it, and creates nothing.
func TestOptionsValidate(t *testing.T) {
	for name, c := range map[string]struct {
		opt  Option
		want string
	}{
		"read-only mode":  {WithFileMode(0o444), "WithFileMode"},
		"not permissions": {WithFileMode(fs.ModeDir | 0o644), "WithFileMode"},
		"negative wait":   {WithLockWait(-time.Second), "WithLockWait"},
		"nil option":      {nil, "nil Option"},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if _, err := New(dir, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %s", name, err, c.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: New created %s (%v)", name, dir, err)
		}
	}
}

func TestAppendAcrossSinks(t *testing.T) {
	dir := t.TempDir()
	table := simpleTable()
	path := filepath.Join(dir, "public.t.jsonl")

	s1, err := New(dir, WithFileMode(0o600))
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, s1, table, []any{int64(1), "a"}, []any{int64(2), "b"})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", fi.Mode(), err)
	}

	// A second run: a new version of row 1, and a column added at the source.
	table2 := simpleTable()
	table2.Columns = append(table2.Columns, redshiftsync.Column{Name: "added", Type: redshiftsync.TypeBoolean})
	s2 := mustNew(t, dir)
	writeRows(t, s2, table2, []any{int64(1), "a2", true})
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, path,
		`{"id":1,"v":"a"}`,
		`{"id":2,"v":"b"}`,
		`{"id":1,"v":"a2","added":true}`)
}

func TestTornTailTruncated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string
		want     []string
	}{
		{"empty file", "", nil},
		{"whole lines", "{\"id\":1}\n", []string{`{"id":1}`}},
		{"torn line", "{\"id\":1}\n{\"id\":2,\"v\":\"hal", []string{`{"id":1}`}},
		{"only a torn line", `{"id":1,"v`, nil},
		{"torn after many lines", "{\"id\":1}\n{\"id\":2}\n{\"id\":3", []string{`{"id":1}`, `{"id":2}`}},
		{"long torn line", "{\"id\":1}\n{\"v\":\"" + strings.Repeat("x", 200<<10), []string{`{"id":1}`}},
		{"long torn line, no newline", strings.Repeat("y", 150<<10), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "public.t.jsonl")
			if err := os.WriteFile(path, []byte(tc.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			s := mustNew(t, dir)
			table := simpleTable()
			if err := s.Open(context.Background(), table); err != nil {
				t.Fatal(err)
			}
			// The repair happens at Open, before any write.
			wantLines(t, path, tc.want...)
			writeRows(t, s, table, []any{int64(9), "new"})
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			wantLines(t, path, append(tc.want, `{"id":9,"v":"new"}`)...)
		})
	}
}

// TestReopenDiscardsUnflushed checks a second Open of a table in the same
// process (a new run): lines buffered but not flushed are dropped.
func TestReopenDiscardsUnflushed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "public.t.jsonl")
	s := mustNew(t, dir)
	ctx := context.Background()
	table := simpleTable()
	writeRows(t, s, table, []any{int64(1), "flushed"})
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(2), "unflushed"}}}); err != nil {
		t.Fatal(err)
	}
	writeRows(t, s, table, []any{int64(3), "next run"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, path, `{"id":1,"v":"flushed"}`, `{"id":3,"v":"next run"}`)
}

func TestCloseFlushes(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir)
	ctx := context.Background()
	table := simpleTable()
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, filepath.Join(dir, "public.t.jsonl"), `{"id":1,"v":"x"}`)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Open(ctx, table); err == nil {
		t.Error("Open after Close: no error")
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: table}); err == nil {
		t.Error("Write after Close: no error")
	}
	if err := s.Flush(ctx, table); err == nil {
		t.Error("Flush after Close: no error")
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir)
	defer s.Close()
	ctx := context.Background()
	table := simpleTable()

	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "x"}}}); err == nil || !strings.Contains(err.Error(), "not opened") {
		t.Errorf("Write without Open: %v", err)
	}
	if err := s.Flush(ctx, table); err == nil {
		t.Error("Flush without Open: no error")
	}
	if err := s.Write(ctx, redshiftsync.Batch{}); err == nil {
		t.Error("Write of a nil table: no error")
	}
	if err := s.Open(ctx, table); err != nil {
		t.Fatal(err)
	}
	other := &redshiftsync.Table{Schema: "public", Name: "other"}
	if err := s.Write(ctx, redshiftsync.Batch{Table: other, Rows: [][]any{{}}}); err == nil {
		t.Error("Write to another table: no error")
	}
	err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "ok"}, {1, "bad"}}})
	if err == nil || !strings.Contains(err.Error(), `"id"`) || !strings.Contains(err.Error(), "int") {
		t.Errorf("Write of an int: %v", err)
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1)}}}); err == nil {
		t.Error("Write of a short row: no error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Write(cctx, redshiftsync.Batch{Table: table, Rows: [][]any{{int64(1), "x"}}}); err == nil {
		t.Error("Write with a canceled context: no error")
	}
	// A failed row leaves no partial line behind.
	if err := s.Flush(ctx, table); err != nil {
		t.Fatal(err)
	}
	wantLines(t, filepath.Join(dir, "public.t.jsonl"), `{"id":1,"v":"ok"}`)

	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := New(f); err == nil {
		t.Error("New on a file: no error")
	}
	if _, err := New(""); err == nil {
		t.Error("New(\"\"): no error")
	}
}

// TestConcurrentTables writes many tables from as many goroutines; run it
// with -race.
func TestConcurrentTables(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir)
	const tables, batches, rowsPerBatch = 12, 30, 50
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, tables)
	for ti := range tables {
		wg.Go(func() {
			table := &redshiftsync.Table{Schema: "s", Name: fmt.Sprintf("t%d", ti), Columns: []redshiftsync.Column{
				{Name: "id", Type: redshiftsync.TypeLong},
				{Name: "at", Type: redshiftsync.TypeUTCDateTime},
				{Name: "s", Type: redshiftsync.TypeString},
			}}
			if err := s.Open(ctx, table); err != nil {
				errs <- err
				return
			}
			rows := make([][]any, rowsPerBatch)
			for b := range batches {
				for r := range rows { // rows are reused, as the extractor does
					rows[r] = []any{int64(b*rowsPerBatch + r), time.Unix(int64(r), 0), strings.Repeat("z", r)}
				}
				if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows}); err != nil {
					errs <- err
					return
				}
				if b%7 == 0 {
					if err := s.Flush(ctx, table); err != nil {
						errs <- err
						return
					}
				}
			}
			if err := s.Flush(ctx, table); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for ti := range tables {
		lines := readLines(t, filepath.Join(dir, fmt.Sprintf("s.t%d.jsonl", ti)))
		if len(lines) != batches*rowsPerBatch {
			t.Fatalf("table %d: %d lines", ti, len(lines))
		}
		for i, l := range lines {
			var v struct{ ID int64 }
			if err := json.Unmarshal(l, &v); err != nil || v.ID != int64(i) {
				t.Fatalf("table %d line %d: %s (%v)", ti, i, l, err)
			}
		}
	}
}

// benchTable returns a table of 10 mixed-type columns and n rows of it.
func benchTable(n int) (*redshiftsync.Table, [][]any) {
	table := &redshiftsync.Table{Schema: "public", Name: "bench", Columns: []redshiftsync.Column{
		{Name: "id", Type: redshiftsync.TypeLong},
		{Name: "name", Type: redshiftsync.TypeString},
		{Name: "amount", Type: redshiftsync.TypeDecimal},
		{Name: "ratio", Type: redshiftsync.TypeDouble},
		{Name: "active", Type: redshiftsync.TypeBoolean},
		{Name: "created_at", Type: redshiftsync.TypeUTCDateTime},
		{Name: "day", Type: redshiftsync.TypeNaiveDate},
		{Name: "attrs", Type: redshiftsync.TypeJSON},
		{Name: "blob", Type: redshiftsync.TypeBinary},
		{Name: "note", Type: redshiftsync.TypeString},
	}}
	rows := make([][]any, n)
	base := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	for i := range rows {
		var note any
		if i%3 != 0 {
			note = "line \"quoted\"\nwith ünïcode"
		}
		rows[i] = []any{
			int64(i) * 7919,
			fmt.Sprintf("customer-%06d", i),
			redshiftsync.Decimal(fmt.Sprintf("%d.%04d", i*31, i%10000)),
			float64(i) / 7,
			i%2 == 0,
			base.Add(time.Duration(i) * time.Second),
			base.AddDate(0, 0, i%365).Truncate(24 * time.Hour),
			json.RawMessage(fmt.Sprintf(`{"k":%d,"tags":["a","b"]}`, i)),
			[]byte{byte(i), byte(i >> 8), 0xff, 0x00, 0x10, 0x20},
			note,
		}
	}
	return table, rows
}

// BenchmarkWrite measures Write per row (one op is one row), written to a
// file in batches of 1000 rows.
func BenchmarkWrite(b *testing.B) {
	s, err := New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	table, rows := benchTable(1000)
	if err := s.Open(ctx, table); err != nil {
		b.Fatal(err)
	}
	// Warm up the scratch buffers.
	if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(len(rows), b.N-done)
		if err := s.Write(ctx, redshiftsync.Batch{Table: table, Rows: rows[:n]}); err != nil {
			b.Fatal(err)
		}
		done += n
	}
}

// BenchmarkEncodeRow measures the encoding of one row alone, without I/O.
func BenchmarkEncodeRow(b *testing.B) {
	table, rows := benchTable(1000)
	var e encoder
	e.setColumns(table)
	b.ReportAllocs()
	i, bytes := 0, 0
	for b.Loop() {
		line, err := e.encodeRow(rows[i])
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(line)
		i = (i + 1) % len(rows)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/row")
}
