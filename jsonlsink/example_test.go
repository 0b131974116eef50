package jsonlsink_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

func Example() {
	dir, err := os.MkdirTemp("", "jsonlsink-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	sink, err := jsonlsink.New(dir)
	if err != nil {
		panic(err)
	}
	table := &redshiftsync.Table{
		Schema: "public",
		Name:   "orders",
		Columns: []redshiftsync.Column{
			{Name: "id", Type: redshiftsync.TypeLong},
			{Name: "customer", Type: redshiftsync.TypeString},
			{Name: "total", Type: redshiftsync.TypeDecimal},
			{Name: "placed_at", Type: redshiftsync.TypeUTCDateTime},
			{Name: "note", Type: redshiftsync.TypeString},
		},
		PrimaryKey: []string{"id"},
	}
	ctx := context.Background()
	if err := sink.Open(ctx, table); err != nil {
		panic(err)
	}
	err = sink.Write(ctx, redshiftsync.Batch{Table: table, Rows: [][]any{
		{int64(1), "Ada", redshiftsync.Decimal("12345678901234567890.50"), time.Date(2024, 1, 31, 13, 45, 1, 123456000, time.UTC), nil},
		{int64(2), "Grace \"Amazing\"", redshiftsync.Decimal("0.01"), time.Date(2024, 2, 1, 8, 0, 0, 0, time.UTC), "line1\nline2"},
	}})
	if err != nil {
		panic(err)
	}
	if err := sink.Flush(ctx, table); err != nil {
		panic(err)
	}
	if err := sink.Close(); err != nil {
		panic(err)
	}

	name := jsonlsink.FileName(table.Schema, table.Name)
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	fmt.Println(name)
	fmt.Print(string(data))
	// Output:
	// public.orders.jsonl
	// {"id":1,"customer":"Ada","total":"12345678901234567890.50","placed_at":"2024-01-31T13:45:01.123456Z","note":null}
	// {"id":2,"customer":"Grace \"Amazing\"","total":"0.01","placed_at":"2024-02-01T08:00:00.000000Z","note":"line1\nline2"}
}
