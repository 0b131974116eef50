package redshiftsync_test

// The null_keys phase of an incremental sync on Redshift (the rows whose
// replication key is NULL), through the stand-in, with a driver that
// records every statement the library sends.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lib/pq"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestRedshiftNullKeysChunked: on Redshift the null_keys phase is read like
// a chunked full read, not in keyset pages by the primary key (each page a
// leader-node sort of the whole NULL set): key-range chunks on the primary
// key's leading column when it can be cut, else one unordered pass. Every
// NULL-key row arrives, no statement of the phase has an ORDER BY, and a
// crash in the phase resumes at a chunk without losing rows.
func TestRedshiftNullKeysChunked(t *testing.T) {
	defer redshiftsync.SetChunkRows(500)()
	db, s := standinSchema(t)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.ev (id bigint PRIMARY KEY, v int, updated_at timestamp);
INSERT INTO %[1]s.ev SELECT i, i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 1000) i;
INSERT INTO %[1]s.ev SELECT i, i, NULL FROM generate_series(1001, 4000) i;
CREATE TABLE %[1]s.tk (id varchar(16) PRIMARY KEY, v int, updated_at timestamp);
INSERT INTO %[1]s.tk SELECT 'k' || i, i, CASE WHEN i <= 200 THEN timestamp '2024-01-01' + i * interval '1 minute' END FROM generate_series(1, 1200) i;`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	cfg.MaxParallelWorkers, cfg.BatchSize, cfg.CheckpointEveryRows, cfg.TablesFromSpecs = 1, 100, 1, true
	rec := &statements{}
	rdb := recordingDB(t, pgtest.RedshiftDSN(t), rec)
	run := func(tables []string, sink redshiftsync.Sink, store redshiftsync.StateStore) error {
		var specs []redshiftsync.TableSpec
		for _, name := range tables {
			specs = append(specs, redshiftsync.TableSpec{Table: name})
		}
		ex, err := redshiftsync.NewFromDB(rdb, cfg, sink, store, redshiftsync.WithTableSpecs(specs))
		if err != nil {
			t.Fatal(err)
		}
		defer ex.Close()
		_, err = ex.Run(t.Context())
		return err
	}
	nullPhase := func(table string) []string {
		var out []string
		for _, q := range rec.take() {
			if strings.Contains(q, s+`"."`+table+`"`) && strings.Contains(q, `"updated_at" IS NULL`) {
				out = append(out, q)
			}
		}
		return out
	}

	for _, table := range []string{"ev", "tk"} {
		sink := newMemSink()
		rec.take()
		if err := run([]string{table}, sink, &redshiftsync.MemoryStore{}); err != nil {
			t.Fatal(err)
		}
		if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.`+table), sink.column(s+"."+table, "v")); d != "" {
			t.Errorf("%s: %s", table, d)
		}
		qs := nullPhase(table)
		if len(qs) == 0 {
			t.Errorf("%s: no statement read the NULL keys", table)
		}
		var sorted []string
		for _, q := range qs {
			if strings.Contains(q, "ORDER BY") {
				sorted = append(sorted, q)
			}
		}
		if len(sorted) > 0 {
			t.Errorf("%s: %d of the %d statements of the null_keys phase sort (each a leader-node sort on Redshift), the first: %s", table, len(sorted), len(qs), sorted[0])
		}
	}

	// A crash in ev's null_keys phase, after its first chunks: the state
	// holds the phase's chunks, some done, and the resumed sync reads only
	// the others.
	sink, store := newMemSink(), &savesStore{}
	sink.failAfter = 1000 + 1600
	if err := run([]string{"ev"}, sink, store); err == nil {
		t.Fatal("the simulated crash did not fail the run")
	}
	doc, err := store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte(`"phase": "null_keys"`)) || !bytes.Contains(doc, []byte(`"done": true`)) {
		t.Fatalf("the crash left no finished chunk of the null_keys phase in the state: %s", doc)
	}
	v, err := redshiftsync.InspectState(doc)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.Tables[s+".ev"].InProgress.Partitions); n < 4 {
		t.Errorf("the null_keys phase of 3,000 rows in chunks of 500 was cut into %d chunks, want at least 4", n)
	}
	sink.failAfter, sink.written = 0, 0
	if err := run([]string{"ev"}, sink, store); err != nil {
		t.Fatal(err)
	}
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.ev`), sink.column(s+".ev", "v")); d != "" {
		t.Errorf("after a crash and a resume: %s", d)
	}
	if sink.written > 3000-1000 {
		t.Errorf("the resume delivered %d rows: the phase's finished chunks were read again", sink.written)
	}
}

// statements records the statements a connection sends.
type statements struct {
	mu sync.Mutex
	qs []string
}

func (s *statements) add(q string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.qs = append(s.qs, q)
}

// take returns the statements recorded since the last take.
func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.qs
	s.qs = nil
	return out
}

// recordingDB opens dsn with lib/pq through a connector whose connections
// record every statement in rec.
func recordingDB(t *testing.T, dsn string, rec *statements) *sql.DB {
	t.Helper()
	c, err := pq.NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(recordingConnector{c, rec})
	t.Cleanup(func() { db.Close() })
	return db
}

type recordingConnector struct {
	driver.Connector
	rec *statements
}

func (c recordingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &recordingConn{conn, c.rec}, nil
}

// recordingConn is a lib/pq connection that records its statements; it
// passes on the interfaces the library and database/sql use.
type recordingConn struct {
	driver.Conn
	rec *statements
}

func (c *recordingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.rec.add(q)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *recordingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.rec.add(q)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *recordingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.rec.add(q)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *recordingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *recordingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *recordingConn) IsValid() bool {
	v, ok := c.Conn.(driver.Validator)
	return !ok || v.IsValid()
}

func (c *recordingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}
