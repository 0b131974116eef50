package pgsink_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// Sync a Redshift schema into a PostgreSQL database, exactly once: the state
// is kept in the destination, committed with the rows it covers.
func Example() {
	ctx := context.Background()
	cfg, err := redshiftsync.LoadConfig("configuration.json")
	if err != nil {
		log.Fatal(err)
	}
	sink, err := pgsink.Open("postgres://loader@warehouse:5432/analytics?sslmode=require",
		pgsink.WithStateName(cfg.Database+"/"+cfg.Schema))
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	ex, err := redshiftsync.New(cfg, sink, sink.StateStore())
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

// The state store alone: keep the state of any sink in a PostgreSQL table.
func ExampleNewStateStore() {
	db, err := sql.Open("postgres", "postgres://app@db:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := pgsink.NewStateStore(db, pgsink.WithStateName("redshift/public"), pgsink.WithStateTable("etl", "sync_state"))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := redshiftsync.LoadConfig("configuration.json")
	if err != nil {
		log.Fatal(err)
	}
	sink := redshiftsync.SinkFuncs{WriteFunc: func(ctx context.Context, b redshiftsync.Batch) error {
		return nil // deliver b.Rows somewhere
	}}
	ex, err := redshiftsync.New(cfg, sink, store)
	if err != nil {
		log.Fatal(err)
	}
	defer ex.Close()
	if _, err := ex.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
