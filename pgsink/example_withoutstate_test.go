package pgsink_test

import (
	"context"
	"log"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// Load into PostgreSQL with the state kept in a file instead of the
// destination: at-least-once (a row may be applied twice after a crash).
func ExampleSink_WithoutState() {
	cfg, err := redshiftsync.LoadConfig("configuration.json")
	if err != nil {
		log.Fatal(err)
	}
	sink, err := pgsink.Open("postgres://loader@warehouse:5432/analytics?sslmode=require")
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	ex, err := redshiftsync.New(cfg, sink.WithoutState(), redshiftsync.NewFileStore("state.json"))
	if err != nil {
		log.Fatal(err)
	}
	defer ex.Close()
	if _, err := ex.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
