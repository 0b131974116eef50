package redshiftsync_test

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestConfigLiteralSyncs: the Config a Go programmer writes first, with only
// the connection and the schema, validates and syncs: every other field's
// zero value means its default (auto_schema_detection included, which used
// to read false and fail New).
func TestConfigLiteralSyncs(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, v int NOT NULL);
INSERT INTO %[1]s.orders SELECT i, i FROM generate_series(1, 300) i;`, s))
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	cfg := redshiftsync.Config{
		Host:     u.Hostname(),
		Port:     port,
		Database: u.Path[1:],
		User:     u.User.Username(),
		Schema:   s,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a Go literal does not validate: %v", err)
	}
	sink := newMemSink()
	rep := mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	if rep.Rows != 300 {
		t.Errorf("synced %d rows, want 300", rep.Rows)
	}
	if got := len(sink.column(s+".orders", "v")); got != 300 {
		t.Errorf("the sink holds %d rows of orders, want 300", got)
	}
}

// TestConfigZeroMeansDefault: in Go a zero field is the documented default,
// MaxRetries included (it used to mean "no retry"); "none" is the named
// value, which validation keeps.
func TestConfigZeroMeansDefault(t *testing.T) {
	cfg := redshiftsync.Config{Host: "db.example.com", Database: "dev", User: "reader"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxRetries != redshiftsync.MaxRetriesDefault {
		t.Errorf("MaxRetries zero validates as %d, want MaxRetriesDefault (%d)", cfg.MaxRetries, redshiftsync.MaxRetriesDefault)
	}
	if cfg.BatchBytes != redshiftsync.BatchBytesDefault {
		t.Errorf("BatchBytes zero validates as %d, want BatchBytesDefault", cfg.BatchBytes)
	}
	if cfg.TablesFromSpecs {
		t.Error("the zero Config lists its tables from specs; want discovery")
	}
	none := redshiftsync.Config{Host: "db.example.com", Database: "dev", User: "reader",
		MaxRetries: redshiftsync.MaxRetriesNone, BatchBytes: redshiftsync.BatchBytesNone}
	if err := none.Validate(); err != nil {
		t.Fatal(err)
	}
	if none.MaxRetries != redshiftsync.MaxRetriesNone || none.BatchBytes != redshiftsync.BatchBytesNone {
		t.Errorf("named none values validate as MaxRetries %d, BatchBytes %d", none.MaxRetries, none.BatchBytes)
	}
	// DefaultConfig spells out what the zero Config means.
	def := redshiftsync.DefaultConfig()
	def.Host, def.Database, def.User = "db.example.com", "dev", "reader"
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", def) != fmt.Sprintf("%+v", cfg) {
		t.Errorf("DefaultConfig validates as\n%+v\nthe zero Config as\n%+v", def, cfg)
	}
}
