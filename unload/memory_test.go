// This file tests that reading a part holds memory bounded by the batch,
// not by the part: a million-row part read with its peak live heap
// measured.

package unload

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seed2085993a/redshiftsync"
)

// millionRowPart returns a table and its part of n rows in one row group
// (UNLOAD's row groups are 32 MB by default; one big group is the harder
// case for memory): id bigint, name varchar, at timestamp, amount
// numeric(18,4).
func millionRowPart(t testing.TB, n int) (*redshiftsync.Table, []byte) {
	table := &redshiftsync.Table{Schema: "public", Name: "big", Columns: []redshiftsync.Column{
		{Name: "id", SourceType: "bigint", Type: redshiftsync.TypeLong},
		{Name: "name", SourceType: "character varying(64)", Type: redshiftsync.TypeString, Length: 64, Nullable: true},
		{Name: "at", SourceType: "timestamp without time zone", Type: redshiftsync.TypeNaiveDateTime, Nullable: true},
		{Name: "amount", SourceType: "numeric(18,4)", Type: redshiftsync.TypeDecimal, Precision: 18, Scale: 4, Nullable: true},
	}}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	cols := []pqColumn{
		{name: "id", node: parquet.Int(64), value: func(i int) *parquet.Value { return v(parquet.Int64Value(int64(i))) }},
		{name: "name", node: parquet.String(), value: func(i int) *parquet.Value {
			return v(parquet.ByteArrayValue(fmt.Appendf(nil, "customer-%09d-%x", i, i*2654435761)))
		}},
		{name: "at", node: parquet.TimestampAdjusted(parquet.Microsecond, false), value: func(i int) *parquet.Value {
			return v(parquet.Int64Value(base + int64(i)*1_000_003))
		}},
		{name: "amount", node: parquet.Decimal(4, 18, parquet.Int64Type), value: func(i int) *parquet.Value {
			return v(parquet.Int64Value(int64(i) * 12345))
		}},
	}
	return table, writeParquet(t, cols, n, 0, 0)
}

// TestReadPartMemoryBounded reads a part of a million rows (one row group;
// 200,000 under -race, see race_test.go) in batches of 1,000 and samples
// the live heap every 50 batches: its peak excess over the heap after the
// read stays a small fraction of the part's size, and every row arrives in
// order. The numbers are logged (go test -v -run TestReadPartMemoryBounded
// ./unload).
func TestReadPartMemoryBounded(t *testing.T) {
	const n = memoryTestRows
	f := newFakeS3(t, nil)
	start := time.Now()
	table, data := millionRowPart(t, n)
	t.Logf("written in %v", time.Since(start))
	part := f.putPart("run/big/0000_part_00.parquet", data, n)
	size := len(data)
	data = nil
	var ms runtime.MemStats
	var peak uint64
	rows, batches := 0, 0
	start = time.Now()
	err := f.r.ReadPart(context.Background(), table, part, 1000, 0, func(b [][]any) error {
		if b[0][0] != int64(rows) {
			return fmt.Errorf("batch %d starts with %v, want %d", batches, b[0][0], rows)
		}
		rows += len(b)
		if batches++; batches%50 == 0 {
			liveHeap(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read in %v", time.Since(start))
	if rows != n {
		t.Fatalf("%d rows, want %d", rows, n)
	}
	// The heap after the read holds what the test and the in-process S3
	// (the part) hold: the peak's excess over it is what the read held.
	liveHeap(&ms)
	after := ms.HeapAlloc
	growth := int64(peak) - int64(after)
	t.Logf("part: %d rows, %.1f MiB, one row group; peak live heap during the read: %.1f MiB over the %.1f MiB after it (which holds the part, in the in-process S3)",
		n, float64(size)/(1<<20), float64(growth)/(1<<20), float64(after)/(1<<20))
	if growth > int64(size)/4 {
		t.Errorf("peak live heap grew by %d bytes reading a %d-byte part: memory follows the part's size", growth, size)
	}
}

// liveHeap reads the memory statistics after two collections: the second
// frees what sync.Pools kept through the first (the Parquet writer's
// buffers, the HTTP server's), so HeapAlloc is what is reachable.
func liveHeap(ms *runtime.MemStats) {
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(ms)
}
