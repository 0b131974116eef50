package redshiftsync_test

// This file tests that a state is bound to the server it was saved against:
// a state from another server (same database and schema names, other rows)
// is refused unless adopted on purpose; a state without a server identity is
// upgraded once.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// systemID returns the server's system_identifier.
func systemID(t *testing.T, dsn string) string {
	t.Helper()
	var id string
	if err := pgtest.OpenDSN(t, dsn).QueryRow(`SELECT system_identifier::text FROM pg_control_system()`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// editState rewrites the document in store with edit.
func editState(t *testing.T, store *redshiftsync.MemoryStore, edit func(map[string]any)) {
	t.Helper()
	doc, err := store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if doc, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(t.Context(), doc); err != nil {
		t.Fatal(err)
	}
}

// savedServer returns the server identity recorded in store's document.
func savedServer(t *testing.T, store *redshiftsync.MemoryStore) string {
	t.Helper()
	return synctest.LoadState(t, store).Server
}

// TestStateFromAnotherServer: two servers hold a schema and table of the same
// names with different rows. The state of a sync of the first is refused
// for the second, naming both servers; WithAdoptState takes it on purpose.
// A second cluster is initdb'd for it: a few seconds.
func TestStateFromAnotherServer(t *testing.T) {
	srv := startPrivateServer(t, "pw-"+randomHex(t, 8))
	one, two := pgtest.Open(t), pgtest.OpenDSN(t, srv.DSN)
	schema := pgtest.NewSchema(t, one)
	pgtest.Exec(t, one, fmt.Sprintf(`CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t SELECT i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(401, 500) i;`, schema))
	pgtest.Exec(t, two, fmt.Sprintf(`CREATE SCHEMA %[1]s; CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t SELECT i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 500) i;`, schema))
	cfgOne, cfgTwo := testConfig(t, schema), configFor(t, srv.DSN, schema)
	if cfgOne.Database != cfgTwo.Database {
		t.Fatalf("both servers must be read through the same database name: %q, %q", cfgOne.Database, cfgTwo.Database)
	}

	store := &redshiftsync.MemoryStore{}
	mustRun(t, cfgOne, newMemSink(), store)
	idOne, idTwo := systemID(t, pgtest.DSN(t)), systemID(t, srv.DSN)
	if got := savedServer(t, store); got != "postgresql:"+idOne {
		t.Errorf("saved server = %q, want postgresql:%s", got, idOne)
	}
	before, _ := store.Load(t.Context())

	sink := newMemSink()
	rep, err := runOnce(t, cfgTwo, sink, store)
	if !errors.Is(err, redshiftsync.ErrStateMismatch) {
		rows := int64(0)
		if rep != nil {
			rows = rep.Rows
		}
		t.Fatalf("the state of server 1 applied to server 2: err = %v, %d of 500 rows read", err, rows)
	}
	for _, want := range []string{idOne, idTwo, "WithAdoptState"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if after, _ := store.Load(t.Context()); string(after) != string(before) {
		t.Error("the refused run changed the state")
	}
	if len(sink.rows) != 0 {
		t.Errorf("the refused run opened tables: %v", sink.tables)
	}

	// Adopted on purpose: the bookmark of server 1 is applied, and the
	// state is bound to server 2 from then on.
	logs := &logBuffer{}
	mustRun(t, cfgTwo, newMemSink(), store, redshiftsync.WithAdoptState(), redshiftsync.WithLogger(newLogger(logs)))
	if got := savedServer(t, store); got != "postgresql:"+idTwo {
		t.Errorf("after adoption the saved server = %q, want postgresql:%s", got, idTwo)
	}
	if !strings.Contains(logs.String(), "adopt") {
		t.Errorf("no log line says the state was adopted:\n%s", logs)
	}
	if _, err := runOnce(t, cfgOne, newMemSink(), store); !errors.Is(err, redshiftsync.ErrStateMismatch) {
		t.Errorf("after adoption by server 2, server 1 is not refused: %v", err)
	}
}

// TestStateServerIdentity: on one server, a state whose recorded server was
// changed (a state file copied from elsewhere) is refused and left as it is;
// a state without a server identity (written before it was recorded) is
// accepted once, with a warning, and upgraded.
func TestStateServerIdentity(t *testing.T) {
	_, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t SELECT i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 50) i;`)
	cfg := testConfig(t, schema)
	store := &redshiftsync.MemoryStore{}
	mustRun(t, cfg, newMemSink(), store)
	want := "postgresql:" + systemID(t, pgtest.DSN(t))
	if got := savedServer(t, store); got != want {
		t.Fatalf("saved server = %q, want %q", got, want)
	}

	editState(t, store, func(m map[string]any) { m["server"] = "postgresql:1234567890" })
	forged, _ := store.Load(t.Context())
	_, err := runOnce(t, cfg, newMemSink(), store)
	if !errors.Is(err, redshiftsync.ErrStateMismatch) || !strings.Contains(err.Error(), "postgresql:1234567890") || !strings.Contains(err.Error(), want) {
		t.Errorf("a state of another server: err = %v, want ErrStateMismatch naming both servers", err)
	}
	if after, _ := store.Load(t.Context()); string(after) != string(forged) {
		t.Error("the refused run changed the state")
	}

	editState(t, store, func(m map[string]any) { delete(m, "server") })
	logs := &logBuffer{}
	mustRun(t, cfg, newMemSink(), store, redshiftsync.WithLogger(newLogger(logs)))
	if got := savedServer(t, store); got != want {
		t.Errorf("upgraded state's server = %q, want %q", got, want)
	}
	warned := false
	for _, r := range logs.records(t) {
		if r["level"] == "WARN" && strings.Contains(fmt.Sprint(r["msg"]), "server") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no WARN about the state without a server identity:\n%s", logs)
	}
}
