// This file holds BenchmarkReadAll: the part reader's rows per second
// against the in-process S3 endpoint (the benchmark program measures it
// through the stand-in, beside the SQL path).

package unload

import (
	"context"
	"fmt"
	"testing"

	"github.com/seed2085993a/redshiftsync"
)

// BenchmarkReadAll reads an UNLOAD of 8 parts of 100,000 rows (id, name,
// timestamp, numeric(18,4)) with 8 workers, and reports rows/s.
func BenchmarkReadAll(b *testing.B) {
	const parts, rows = 8, 100_000
	f := newFakeS3(b, nil)
	table, data := millionRowPart(b, rows)
	var entries []redshiftsync.UnloadPart
	for i := range parts {
		entries = append(entries, f.putPart(fmt.Sprintf("bench/big/%04d_part_00.parquet", i), data, rows))
	}
	f.put("bench/big/manifest", manifestJSON(entries))
	loc := "s3://" + testBucket + "/bench/big/"
	b.ResetTimer()
	var total int64
	for b.Loop() {
		n, err := f.r.ReadAll(context.Background(), table, loc, 8, 10000, 0, func([][]any) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
}
