// This file tests ReadPart's streaming: batches by rows and bytes, row
// groups and pages, column matching, the errors of a part that does not fit
// the table, concurrent reads, and one GET per column chunk.

package unload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/seed2085993a/redshiftsync"
)

// idNameTable is a table (id bigint, name varchar) and its part's columns
// for rows rows: id = i, name = "name-i" repeated (i%7) times, NULL every
// 10th row.
func idNameTable(names ...string) (*redshiftsync.Table, []pqColumn) {
	if len(names) == 0 {
		names = []string{"id", "name"}
	}
	table := &redshiftsync.Table{Schema: "public", Name: "items", Columns: []redshiftsync.Column{
		{Name: "id", SourceType: "bigint", Type: redshiftsync.TypeLong},
		{Name: "name", SourceType: "character varying(256)", Type: redshiftsync.TypeString, Nullable: true, Length: 256},
	}}
	cols := []pqColumn{
		{name: names[0], node: parquet.Int(64), value: func(i int) *parquet.Value { return v(parquet.Int64Value(int64(i))) }},
		{name: names[1], node: parquet.String(), value: func(i int) *parquet.Value {
			if i%10 == 9 {
				return nil
			}
			return v(parquet.ByteArrayValue([]byte(nameOf(i))))
		}},
	}
	return table, cols
}

func nameOf(i int) string { return strings.Repeat(fmt.Sprintf("name-%d", i), i%7+1) }

// checkIDName checks that rows are rows 0..n-1 of idNameTable, in order.
func checkIDName(t *testing.T, rows [][]any, n int) {
	t.Helper()
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		var name any = nameOf(i)
		if i%10 == 9 {
			name = nil
		}
		if r[0] != int64(i) || r[1] != name {
			t.Fatalf("row %d = %v, want [%d %v]", i, r, i, name)
		}
	}
}

// putPart writes data as part key and returns its UnloadPart.
func (f *fakeS3) putPart(key string, data []byte, rows int) redshiftsync.UnloadPart {
	f.put(key, data)
	return redshiftsync.UnloadPart{URL: "s3://" + testBucket + "/" + key, Bytes: int64(len(data)), Rows: int64(rows)}
}

// TestReadPartBatchesAcrossRowGroupsAndPages reads a part of many small row
// groups and pages in batches of maxRows rows, then of maxBytes bytes: every
// row arrives once, in order, batches never exceed maxRows, and a batch
// exceeds maxBytes only by its first row. Run with the part's size unknown
// (0 in the manifest entry: read with HEAD) too.
func TestReadPartBatchesAcrossRowGroupsAndPages(t *testing.T) {
	f := newFakeS3(t, nil)
	table, cols := idNameTable()
	const n = 5000
	data := writeParquet(t, cols, n, 700, 1024)
	part := f.putPart("run/items/0000_part_00.parquet", data, n)

	rows, batches := readAll(t, f.r, table, part, 333, 0)
	checkIDName(t, rows, n)
	for i, b := range batches {
		if b > 333 || b < 333 && i != len(batches)-1 {
			t.Fatalf("batch %d of %d rows; want 333 but the last", i, b)
		}
	}

	const maxBytes = 2000
	var sizes []int64
	err := f.r.ReadPart(context.Background(), table, part, 10000, maxBytes, func(b [][]any) error {
		var bytes, first int64
		for i, r := range b {
			n := valueBytes(r[0]) + valueBytes(r[1])
			if i == 0 {
				first = n
			}
			bytes += n
		}
		if bytes > maxBytes && len(b) > 1 && bytes-first > maxBytes {
			return fmt.Errorf("batch of %d rows, %d bytes: over %d", len(b), bytes, maxBytes)
		}
		sizes = append(sizes, bytes)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) < 10 {
		t.Fatalf("%d batches under a %d-byte bound: bytes not bounded", len(sizes), maxBytes)
	}

	part.Bytes = 0
	rows, _ = readAll(t, f.r, table, part, 1000, 0)
	checkIDName(t, rows, n)
}

// TestReadPartOneRequestPerColumnChunk checks how a part is fetched: one GET
// for the footer and one per column chunk, each streamed whole, so the
// bytes received are the file's (each once, but for the footer's
// optimistic read of the file's last readBuffer bytes), whatever the page
// size.
func TestReadPartOneRequestPerColumnChunk(t *testing.T) {
	f := newFakeS3(t, nil)
	table, cols := idNameTable()
	const n, groups = 20000, 4
	data := writeParquet(t, cols, n, n/groups, 4096)
	part := f.putPart("run/items/0000_part_00.parquet", data, n)
	before := f.r.Stats()
	rows, _ := readAll(t, f.r, table, part, 1000, 0)
	checkIDName(t, rows, n)
	s := f.r.Stats()
	reqs, bytes := s.Requests-before.Requests, s.Bytes-before.Bytes
	if want := int64(1 + groups*len(cols)); reqs != want {
		t.Errorf("%d GET requests, want %d (the footer, then one per column chunk)", reqs, want)
	}
	if bytes > int64(len(data)+f.r.readBuffer) {
		t.Errorf("%d bytes received for a %d-byte part: some read twice", bytes, len(data))
	}
	t.Logf("part of %d bytes, %d row groups: %d requests, %d bytes received", len(data), groups, reqs, bytes)
}

// TestReadPartMatchesColumnsByName reads a part whose columns are in
// another order, with upper-case names, and with a column the table does
// not have.
func TestReadPartMatchesColumnsByName(t *testing.T) {
	f := newFakeS3(t, nil)
	table, cols := idNameTable("ID", "Name")
	cols = append(cols, pqColumn{name: "extra", node: parquet.Leaf(parquet.DoubleType), value: func(int) *parquet.Value { return v(parquet.DoubleValue(1)) }})
	const n = 100
	part := f.putPart("run/items/0000_part_00.parquet", writeParquet(t, cols, n, 0, 0), n)
	rows, _ := readAll(t, f.r, table, part, 1000, 0)
	checkIDName(t, rows, n)
}

// TestReadPartErrors checks the errors of a part that does not fit the
// table or is not Parquet: each names the part and the column, and comes
// before any row is emitted.
func TestReadPartErrors(t *testing.T) {
	f := newFakeS3(t, nil)
	table, cols := idNameTable()
	good := f.putPart("run/items/0000_part_00.parquet", writeParquet(t, cols, 10, 0, 0), 10)
	missing := f.putPart("run/items/0001_part_00.parquet", writeParquet(t, cols[:1], 10, 0, 0), 10)
	wrongType := f.putPart("run/items/0002_part_00.parquet", writeParquet(t, []pqColumn{cols[0],
		{name: "name", node: parquet.Leaf(parquet.DoubleType), value: func(int) *parquet.Value { return v(parquet.DoubleValue(1)) }}}, 10, 0, 0), 10)
	notParquet := f.putPart("run/items/0003_part_00.parquet", []byte("id|name\n1|a\n"), 1)
	cases := []struct {
		name  string
		part  redshiftsync.UnloadPart
		wants []string
	}{
		{"missing column", missing, []string{missing.URL, `no column "name"`, "public.items"}},
		{"wrong type", wrongType, []string{wrongType.URL, `column "name"`, "DOUBLE", "cast it"}},
		{"not parquet", notParquet, []string{notParquet.URL, "not a readable Parquet file"}},
		{"row count", redshiftsync.UnloadPart{URL: good.URL, Bytes: good.Bytes, Rows: 11}, []string{good.URL, "10 rows", "says 11"}},
		{"no such part", redshiftsync.UnloadPart{URL: "s3://" + testBucket + "/run/items/gone", Bytes: 100, Rows: 1}, []string{"s3://" + testBucket + "/run/items/gone", "NoSuchKey"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := f.r.ReadPart(context.Background(), table, c.part, 100, 0, func([][]any) error {
				t.Fatal("rows emitted")
				return nil
			})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}

	// An error from emit stops the read and is returned as it is.
	stop := errors.New("sink full")
	calls := 0
	err := f.r.ReadPart(context.Background(), table, good, 3, 0, func([][]any) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ReadPart = %v after %d calls, want the emit error after 1", err, calls)
	}
	// A cancelled context stops it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.r.ReadPart(ctx, table, good, 3, 0, func([][]any) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadPart with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestReadPartConcurrently reads eight parts at once through one Reader
// whose Concurrency is 3 (run with -race).
func TestReadPartConcurrently(t *testing.T) {
	var inFlight, most int
	var mu sync.Mutex
	f := newFakeS3(t, nil, func(o *Options) { o.Concurrency = 3 })
	table, cols := idNameTable()
	const n = 3000
	data := writeParquet(t, cols, n, 1000, 0)
	var parts []redshiftsync.UnloadPart
	for i := range 8 {
		parts = append(parts, f.putPart(fmt.Sprintf("run/items/%04d_part_00.parquet", i), data, n))
	}
	var wg sync.WaitGroup
	results := make([][][]any, len(parts))
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = f.r.ReadPart(context.Background(), table, p, 500, 0, func(b [][]any) error {
				mu.Lock()
				if results[i] == nil {
					inFlight++
					most = max(most, inFlight)
				}
				mu.Unlock()
				results[i] = append(results[i], b...)
				return nil
			})
			mu.Lock()
			inFlight--
			mu.Unlock()
		})
	}
	wg.Wait()
	for i := range parts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		checkIDName(t, results[i], n)
	}
	if most > 3 {
		t.Errorf("%d parts read at once, Concurrency 3", most)
	}
}

// TestNewOptions checks New's checks of Options.
func TestNewOptions(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{Region: "us-east-1", SecretAccessKey: testSecret},
		{Region: "us-east-1", AccessKeyID: testKeyID},
		{Region: "us-east-1", Concurrency: -1},
		{Region: "us-east-1", Endpoint: "localhost:9000"},
		{},
	} {
		r, err := New(ctx, o)
		if err == nil {
			t.Errorf("New(%+v) = %v, want an error", o, r)
			continue
		}
		if strings.Contains(err.Error(), testSecret) {
			t.Errorf("New's error shows the secret: %v", err)
		}
	}
	// No keys: the default credential chain, resolved at the first
	// request, not by New (which must not wait on the instance-metadata
	// service).
	if _, err := New(ctx, Options{Region: "us-east-1", HTTPClient: http.DefaultClient}); err != nil && !strings.Contains(err.Error(), "CA bundle") && !strings.Contains(err.Error(), "RootCAs") {
		t.Fatalf("New without keys: %v", err)
	}
}

// TestReadAllReadsEveryPart reads an UNLOAD of three parts (one empty of
// rows is left out by UNLOAD; here each has rows) through its manifest with
// two workers: every row of every part arrives once.
func TestReadAllReadsEveryPart(t *testing.T) {
	f := newFakeS3(t, nil)
	table, cols := idNameTable()
	var parts []redshiftsync.UnloadPart
	for i, n := range []int{100, 250, 1} {
		parts = append(parts, f.putPart(fmt.Sprintf("run/all/%04d_part_00.parquet", i), writeParquet(t, cols, n, 0, 0), n))
	}
	f.put("run/all/manifest", manifestJSON(parts))
	var mu sync.Mutex
	seen := map[int64]int{}
	n, err := f.r.ReadAll(context.Background(), table, "s3://"+testBucket+"/run/all/", 2, 64, 0, func(b [][]any) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range b {
			seen[r[0].(int64)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 351 || len(seen) != 250 || seen[0] != 3 || seen[99] != 2 || seen[249] != 1 {
		t.Fatalf("ReadAll read %d rows: %d ids, id 0 %d times, 99 %d, 249 %d", n, len(seen), seen[0], seen[99], seen[249])
	}
}

// cutFirst answers the first n ranged GETs of key with half their bytes,
// then breaks the connection, as a network fault does mid-body.
func cutFirst(key string, n int) func(http.Handler) http.Handler {
	var mu sync.Mutex
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cut := false
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, key) && r.Header.Get("Range") != "" {
				mu.Lock()
				cut, n = n > 0, n-1
				mu.Unlock()
			}
			if !cut {
				next.ServeHTTP(w, r)
				return
			}
			rec := &halfWriter{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			panic(http.ErrAbortHandler) // the client sees the body end early
		})
	}
}

// halfWriter passes on the headers and only the first half of the body
// (by its Content-Length).
type halfWriter struct {
	http.ResponseWriter
	left int
	set  bool
}

func (h *halfWriter) WriteHeader(code int) {
	var n int
	fmt.Sscan(h.Header().Get("Content-Length"), &n)
	h.left, h.set = n/2, true
	h.ResponseWriter.WriteHeader(code)
}

func (h *halfWriter) Write(b []byte) (int, error) {
	if !h.set {
		h.WriteHeader(http.StatusOK)
	}
	k := min(len(b), h.left)
	h.left -= k
	if k > 0 {
		h.ResponseWriter.Write(b[:k])
		h.ResponseWriter.(http.Flusher).Flush()
	}
	return len(b), nil
}

// TestReadPartResumesACutStream cuts the connection of the footer's GET and
// of the first column chunk's halfway: each read reopens its GET at the
// byte it reached, and every row arrives.
func TestReadPartResumesACutStream(t *testing.T) {
	table, cols := idNameTable()
	const n = 20000
	data := writeParquet(t, cols, n, 0, 0)
	f := newFakeS3(t, cutFirst("0000_part_00.parquet", 2))
	part := f.putPart("run/cut/0000_part_00.parquet", data, n)
	before := f.r.Stats()
	rows, _ := readAll(t, f.r, table, part, 1000, 0)
	checkIDName(t, rows, n)
	if reqs := f.r.Stats().Requests - before.Requests; reqs != 5 {
		t.Errorf("%d requests, want 5: the footer and the first column chunk twice each, the second chunk once", reqs)
	}
}

// TestReadPartPanicOfEmitGoesOn checks that a panic in emit (the caller's
// sink) is not reported as a damaged part: it reaches the caller.
func TestReadPartPanicOfEmitGoesOn(t *testing.T) {
	f := newFakeS3(t, nil)
	table, cols := idNameTable()
	part := f.putPart("run/items/0000_part_00.parquet", writeParquet(t, cols, 10, 0, 0), 10)
	defer func() {
		if p := recover(); p != "sink bug" {
			t.Fatalf("recovered %v, want the emit's panic", p)
		}
	}()
	err := f.r.ReadPart(context.Background(), table, part, 5, 0, func([][]any) error { panic("sink bug") })
	t.Fatalf("ReadPart returned %v: the panic was swallowed", err)
}
