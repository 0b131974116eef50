package redshiftsync_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// The README's quick start: sync the schema of configuration.json into JSONL
// files, keeping the state beside them.
func Example() {
	ctx := context.Background()
	cfg, err := redshiftsync.LoadConfig("configuration.json")
	if err != nil {
		log.Fatal(err) // names every bad key at once
	}
	sink, err := jsonlsink.New("./out")
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	ex, err := redshiftsync.New(cfg, sink, redshiftsync.NewFileStore("./out/state.json"),
		redshiftsync.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	defer ex.Close()
	report, err := ex.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report.Rows, "rows")
}

// A custom sink from plain functions: count the rows of each table.
func ExampleSinkFuncs() {
	counts := map[string]int{}
	sink := redshiftsync.SinkFuncs{
		WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
			counts[b.Table.QualifiedName()] += len(b.Rows) // one goroutine per table: guard it if tables run in parallel
			return nil
		},
	}
	t := &redshiftsync.Table{Schema: "public", Name: "orders"}
	_ = sink.Write(context.Background(), redshiftsync.Batch{Table: t, Rows: [][]any{{int64(1)}, {int64(2)}}})
	fmt.Println(counts)
	// Output: map[public.orders:2]
}
