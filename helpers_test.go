package redshiftsync_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/internal/testlog"
)

// memSink is a Sink that keeps rows in memory, upserting by primary key (or
// by the whole row when there is none), and counts every delivery.
type memSink struct {
	mu         sync.Mutex
	tables     map[string]*redshiftsync.Table
	rows       map[string]map[string][]any // table -> row key -> row
	deliveries map[string]map[string]int   // table -> row key -> times delivered
	written    int
	failAfter  int // when > 0, Write fails once written reaches it
	events     []string
}

var errCrash = errors.New("simulated crash")

func newMemSink() *memSink {
	return &memSink{tables: map[string]*redshiftsync.Table{}, rows: map[string]map[string][]any{}, deliveries: map[string]map[string]int{}}
}

func (m *memSink) Open(_ context.Context, t *redshiftsync.Table) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tables[t.QualifiedName()] = t
	if m.rows[t.QualifiedName()] == nil {
		m.rows[t.QualifiedName()] = map[string][]any{}
		m.deliveries[t.QualifiedName()] = map[string]int{}
	}
	return nil
}

func (m *memSink) Write(_ context.Context, b redshiftsync.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := b.Table.QualifiedName()
	if m.tables[name] == nil {
		return fmt.Errorf("write to %s before open", name)
	}
	for _, r := range b.Rows {
		if m.failAfter > 0 && m.written >= m.failAfter {
			return errCrash
		}
		k := rowKey(b.Table, r)
		m.rows[name][k] = append([]any(nil), r...)
		m.deliveries[name][k]++
		m.written++
	}
	return nil
}

func (m *memSink) Flush(context.Context, *redshiftsync.Table) error { return nil }

// BeginResync drops the table's rows, as a destination that replaces a
// table on a full resync does.
func (m *memSink) BeginResync(_ context.Context, t *redshiftsync.Table) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[t.QualifiedName()] = map[string][]any{}
	m.events = append(m.events, "begin "+t.Name)
	return nil
}

func (m *memSink) EndResync(_ context.Context, t *redshiftsync.Table) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, fmt.Sprintf("end %s %d", t.Name, len(m.rows[t.QualifiedName()])))
	return nil
}

// rowKey is the primary key's text, or the whole row's without one.
func rowKey(t *redshiftsync.Table, row []any) string {
	var parts []string
	if len(t.PrimaryKey) == 0 {
		for _, v := range row {
			parts = append(parts, fmtVal(v))
		}
	}
	for _, k := range t.PrimaryKey {
		parts = append(parts, fmtVal(row[t.ColumnIndex(k)]))
	}
	return strings.Join(parts, "|")
}

// fmtVal formats a sink value the way the test queries print the source's.
func fmtVal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999")
	case []byte:
		return fmt.Sprintf("%x", x)
	}
	return fmt.Sprint(v)
}

// column returns map[row key]value of column col of table in the sink.
func (m *memSink) column(table, col string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tables[table]
	out := map[string]string{}
	for k, r := range m.rows[table] {
		out[k] = fmtVal(r[t.ColumnIndex(col)])
	}
	return out
}

func (m *memSink) maxDeliveries(table string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	most := 0
	for _, n := range m.deliveries[table] {
		most = max(most, n)
	}
	return most
}

// sourceMap runs query, which must return two text columns (row key, value),
// into a map: the independent view of the source.
func sourceMap(t *testing.T, db *sql.DB, query string) map[string]string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = "NULL"
		if v.Valid {
			out[k] = v.String
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffMaps reports how want and got differ, in a few lines.
func diffMaps(want, got map[string]string) string {
	var missing, wrong, extra []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case g != v:
			wrong = append(wrong, fmt.Sprintf("%s: want %q got %q", k, v, g))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(wrong)+len(extra) == 0 {
		return ""
	}
	slices.Sort(missing)
	slices.Sort(wrong)
	slices.Sort(extra)
	cut := func(s []string) []string { return s[:min(len(s), 5)] }
	return fmt.Sprintf("%d missing %v, %d wrong %v, %d extra %v", len(missing), cut(missing), len(wrong), cut(wrong), len(extra), cut(extra))
}

// testConfig returns a valid configuration for the test source and schema,
// with two workers: the test server, or the Redshift stand-in in front of it
// when scripts/test runs the source-side tests through it (see
// pgtest.SourceDSN).
func testConfig(t *testing.T, schema string) redshiftsync.Config {
	t.Helper()
	cfg := configFor(t, pgtest.SourceDSN(t), schema)
	cfg.MaxParallelWorkers = 2
	return cfg
}

// configFor returns a valid configuration for dsn and schema.
func configFor(t *testing.T, dsn, schema string) redshiftsync.Config {
	t.Helper()
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = schema
	cfg.BatchSize = 1000
	cfg.MaxParallelWorkers = 4
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// logBuffer collects JSON log lines from several goroutines (see
// newLogger).
type logBuffer struct{ testlog.Buffer }

// records returns the log lines, decoded.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// newLogger logs JSON lines at debug level into b.
func newLogger(b io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// runOnce runs one sync with a fresh extractor.
func runOnce(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) (*redshiftsync.Report, error) {
	t.Helper()
	_, rep, err := synctest.Run(t, cfg, sink, store, opts...)
	return rep, err
}

func mustRun(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) *redshiftsync.Report {
	t.Helper()
	rep, err := runOnce(t, cfg, sink, store, opts...)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// dsnWithPassword returns the test DSN with a password set, for redaction tests.
func dsnWithPassword(t *testing.T, pw string) string {
	u := pgtest.URL(t)
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}
