package redshiftsync_test

// A caller's *sql.DB given to NewFromDB gets its connections back as they
// were: every session setting the extractor changes is restored.

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// sessionSettings are the settings the extractor sets on a session.
var sessionSettings = []string{"TimeZone", "DateStyle", "extra_float_digits", "statement_timeout"}

// poolSettings holds all n connections of db at once (so each is seen) and
// returns each one's settings by backend pid. before, when set, is called on
// each held connection first.
func poolSettings(t *testing.T, db *sql.DB, n int, before func(i int, c *sql.Conn)) map[int][]string {
	t.Helper()
	ctx := context.Background()
	out := map[int][]string{}
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if before != nil {
			before(i, c)
		}
		var pid int
		vals := make([]string, len(sessionSettings))
		q := "SELECT pg_backend_pid()"
		dest := []any{&pid}
		for j, s := range sessionSettings {
			q += fmt.Sprintf(", current_setting('%s')", s)
			dest = append(dest, &vals[j])
		}
		if err := c.QueryRowContext(ctx, q).Scan(dest...); err != nil {
			t.Fatal(err)
		}
		out[pid] = vals
	}
	return out
}

// TestNewFromDBRestoresSessions: after Run, every connection of the caller's
// pool has the settings it had before: those of the DSN's options and those
// the caller SET on the connection itself, different on each. The extractor
// set TimeZone, DateStyle and extra_float_digits and left them set (only
// statement_timeout was reset, to the server's default rather than the
// caller's value).
func TestNewFromDBRestoresSessions(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	for i := range 6 {
		pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.t%[2]d (id bigint PRIMARY KEY, at timestamptz, f float8, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t%[2]d SELECT i, now(), i / 3.0, timestamp '2024-01-01' + i * interval '1 s' FROM generate_series(1, 300) i;`, s, i))
	}
	const conns = 4
	u := pgtest.URL(t)
	q := u.Query()
	q.Set("options", "-c TimeZone=Asia/Kolkata -c DateStyle=SQL,DMY -c extra_float_digits=0")
	u.RawQuery = q.Encode()
	callerDB, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer callerDB.Close()
	callerDB.SetMaxOpenConns(conns)
	callerDB.SetMaxIdleConns(conns)

	// Each connection gets settings of its own, as a caller's SET would.
	before := poolSettings(t, callerDB, conns, func(i int, c *sql.Conn) {
		if i%2 == 0 {
			return // this one keeps the DSN's options
		}
		_, err := c.ExecContext(context.Background(), fmt.Sprintf(`SET TIME ZONE 'Etc/GMT+%d'; SET DateStyle TO 'German'; SET extra_float_digits TO %d; SET statement_timeout TO '%ds'`, i, i-1, 40+i))
		if err != nil {
			t.Fatal(err)
		}
	})
	if len(before) != conns {
		t.Fatalf("%d connections seen, want %d", len(before), conns)
	}

	cfg := testConfig(t, s)
	cfg.MaxParallelWorkers = conns - 1
	cfg.StatementTimeout = 30 * time.Second
	cfg.BatchSize = 50
	sink := newMemSink()
	ex, err := redshiftsync.NewFromDB(callerDB, cfg, sink, &redshiftsync.MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := ex.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// The values read under the caller's settings are the UTC instants.
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') FROM `+s+`.t0`), sink.column(s+".t0", "updated_at")); d != "" {
		t.Errorf("values: %s", d)
	}

	after := poolSettings(t, callerDB, conns, nil)
	for pid, want := range before {
		got, ok := after[pid]
		if !ok {
			t.Errorf("connection %d was closed by the run", pid)
			continue
		}
		for i, name := range sessionSettings {
			if got[i] != want[i] {
				t.Errorf("connection %d: %s = %q after Run, was %q", pid, name, got[i], want[i])
			}
		}
	}
}
