package redshiftsync_test

import (
	"context"
	"errors"
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

// kvStateStore is a custom StateStore: here it keeps the document in a
// map, as a key-value service would.
type kvStateStore struct{ kv map[string][]byte }

func (s *kvStateStore) Load(context.Context) ([]byte, error) {
	doc, ok := s.kv["redshiftsync/state"]
	if !ok {
		return nil, redshiftsync.ErrNoCheckpoint
	}
	return doc, nil
}

func (s *kvStateStore) Save(_ context.Context, doc []byte) error {
	s.kv["redshiftsync/state"] = append([]byte(nil), doc...)
	return nil
}

// A custom state store: Load returns ErrNoCheckpoint until the first Save.
func ExampleStateStore() {
	var store redshiftsync.StateStore = &kvStateStore{kv: map[string][]byte{}}
	_, err := store.Load(context.Background())
	fmt.Println(errors.Is(err, redshiftsync.ErrNoCheckpoint))
	_ = store.Save(context.Background(), []byte(`{"version":1}`))
	doc, _ := store.Load(context.Background())
	fmt.Println(string(doc))
	// Output:
	// true
	// {"version":1}
}

// Discover the plan without reading rows: each table's mode, key and why.
func ExampleExtractor_Discover() {
	cfg, err := redshiftsync.ConfigFromURL("postgres://reader@localhost:5432/dev")
	if err != nil {
		log.Fatal(err)
	}
	ex, err := redshiftsync.New(cfg, redshiftsync.SinkFuncs{WriteFunc: func(context.Context, redshiftsync.Batch) error { return nil }}, &redshiftsync.MemoryStore{})
	if err != nil {
		log.Fatal(err)
	}
	defer ex.Close()
	d, err := ex.Discover(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range d.Plans {
		fmt.Println(p.Table.QualifiedName(), p.Mode, p.ReplicationKey, p.Reason)
	}
}

// A Config written in Go works as written: a zero field means its documented
// default, and "none" is a named value.
func ExampleConfig() {
	cfg := redshiftsync.Config{
		Host:       "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com",
		Database:   "dev",
		User:       "awsuser",
		Password:   "change-me",
		Schema:     "sales",
		MaxRetries: redshiftsync.MaxRetriesNone, // fail on the first error
	}
	if err := cfg.Validate(); err != nil { // New validates too
		log.Fatal(err)
	}
	fmt.Println(cfg.Port, cfg.SSLMode, cfg.BatchSize, cfg.MaxParallelWorkers, cfg.MaxRetries == redshiftsync.MaxRetriesNone)
	// Output: 5439 verify-full 10000 4 true
}
