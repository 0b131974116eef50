package redshiftsync

// Table specs: applySpecs on hand-built catalogs (every error names the table
// and the column), LoadTableSpecs on files, and a sync with
// auto_schema_detection false and a table_spec_file, against PostgreSQL.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

func specCatalog() []*Table {
	col := func(name, st string, nullable bool) Column {
		lt, p, s, n, _ := logicalType(st)
		return Column{Name: name, SourceType: st, Type: lt, Nullable: nullable, Precision: p, Scale: s, Length: n}
	}
	return []*Table{
		{Schema: "app", Name: "orders", PrimaryKey: []string{"id"}, PrimaryKeyEnforced: true, EstimatedRows: 10, Columns: []Column{
			col("id", "bigint", false), col("name", "text", true), col("doc", "jsonb", true),
			col("updated_at", "timestamp without time zone", false), col("Mixed Col", "text", true),
			col("span", "interval", true), col("blob", "bytea", true),
		}},
		{Schema: "app", Name: "lines", PrimaryKey: []string{"order_id", "n"}, PrimaryKeyEnforced: true, Columns: []Column{
			col("order_id", "bigint", false), col("n", "integer", false), col("sku", "text", true), col("qty", "integer", false),
		}},
		{Schema: "app", Name: `a"b; DROP TABLE victim; --`, EstimatedRows: -1, Columns: []Column{
			col(`x"; DROP TABLE victim; --`, "integer", false), col("select", "timestamp with time zone", true),
		}},
	}
}

// specErrors runs applySpecs and returns its error's lines.
func specErrors(t *testing.T, specs ...TableSpec) []string {
	t.Helper()
	_, _, err := applySpecs(specCatalog(), specs, "app")
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrTableSpec) {
		t.Errorf("error %v does not wrap ErrTableSpec", err)
	}
	return strings.Split(err.Error(), "\n")
}

func TestApplySpecsErrors(t *testing.T) {
	cases := []struct {
		name string
		spec TableSpec
		want []string // each must appear in one error line, with the table
	}{
		{"unknown table", TableSpec{Table: "nope"}, []string{"app.nope does not exist"}},
		{"table names are case-sensitive", TableSpec{Table: "Orders"}, []string{"app.Orders does not exist"}},
		{"unknown included column", TableSpec{Table: "orders", Include: []string{"id", "ghost"}}, []string{`app.orders: column "ghost" does not exist`}},
		{"unknown excluded column", TableSpec{Table: "orders", Exclude: []string{"Name"}}, []string{`app.orders: column "Name" does not exist`}},
		{"unknown primary key column", TableSpec{Table: "orders", PrimaryKey: []string{"ghost"}}, []string{`app.orders: column "ghost" does not exist`}},
		{"unknown replication key", TableSpec{Table: "orders", ReplicationKey: "changed_at"}, []string{`app.orders: replication key column "changed_at" does not exist`}},
		{"excluded primary key", TableSpec{Table: "orders", Exclude: []string{"id"}}, []string{`app.orders: primary key column "id" is excluded`}},
		{"primary key left out of include", TableSpec{Table: "lines", Include: []string{"order_id", "sku"}}, []string{`app.lines: primary key column "n" is excluded`}},
		{"excluded replication key", TableSpec{Table: "orders", ReplicationKey: "updated_at", Exclude: []string{"updated_at"}}, []string{`app.orders: replication key "updated_at" is excluded`}},
		{"replication key left out of include", TableSpec{Table: "orders", ReplicationKey: "updated_at", Include: []string{"id", "name"}}, []string{`app.orders: replication key "updated_at" is excluded`}},
		{"json replication key", TableSpec{Table: "orders", ReplicationKey: "doc"}, []string{`app.orders: replication key column "doc" has type jsonb, which cannot order rows`}},
		{"interval replication key", TableSpec{Table: "orders", ReplicationKey: "span"}, []string{`app.orders: replication key column "span" has type interval, which cannot order rows`}},
		{"json primary key", TableSpec{Table: "orders", PrimaryKey: []string{"doc"}}, []string{`app.orders: primary key column "doc" has type jsonb, which cannot order rows`}},
		{"nullable primary key", TableSpec{Table: "lines", PrimaryKey: []string{"order_id", "sku"}}, []string{`app.lines: primary key column "sku" is nullable`}},
		{"bytea primary key", TableSpec{Table: "orders", PrimaryKey: []string{"id", "blob"}}, []string{`app.orders: primary key column "blob" has type bytea, which cannot order rows`}},
		{"bad strategy", TableSpec{Table: "orders", Strategy: "SOMETIMES"}, []string{`app.orders: strategy "SOMETIMES" must be FULL or INCREMENTAL`}},
		{"other schema", TableSpec{Schema: "other", Table: "orders"}, []string{`other.orders: schema "other" differs from the configured schema "app"`}},
		{"no table", TableSpec{Strategy: StrategyFull}, []string{`a spec has no "table"`}},
		{"hostile unknown column", TableSpec{Table: `a"b; DROP TABLE victim; --`, Include: []string{`x"; DROP TABLE victim; --`, `y"; --`}},
			[]string{`app.a"b; DROP TABLE victim; --: column "y\"; --" does not exist`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines := specErrors(t, c.spec)
			if len(lines) != len(c.want) {
				t.Errorf("got %d errors %q, want %d", len(lines), lines, len(c.want))
			}
			for _, w := range c.want {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, w) }) {
					t.Errorf("no error says %q; got %q", w, lines)
				}
			}
		})
	}

	// A duplicate table, named once, after its first spec was accepted.
	lines := specErrors(t, TableSpec{Table: "orders"}, TableSpec{Table: "lines"}, TableSpec{Schema: "app", Table: "orders", Strategy: StrategyFull})
	if len(lines) != 1 || !strings.Contains(lines[0], "app.orders is listed twice") {
		t.Errorf("duplicate table: %q", lines)
	}

	// Every problem at once, not the first one only.
	lines = specErrors(t,
		TableSpec{Table: "nope"},
		TableSpec{Table: "orders", Exclude: []string{"id"}, ReplicationKey: "doc"},
		TableSpec{Table: "lines", Strategy: "sometimes"},
	)
	for _, w := range []string{"app.nope does not exist", `app.orders: primary key column "id" is excluded`,
		`app.orders: replication key column "doc" has type jsonb`, `app.lines: strategy "sometimes"`} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, w) }) {
			t.Errorf("all at once: no error says %q; got %q", w, lines)
		}
	}
}

func TestApplySpecsResult(t *testing.T) {
	catalog := specCatalog()
	out, bySpec, err := applySpecs(catalog, []TableSpec{
		{Table: "orders", Strategy: "incremental", ReplicationKey: "updated_at", Exclude: []string{"doc", "blob"}},
		{Table: "lines", Strategy: " full ", PrimaryKey: []string{"order_id"}},
		{Table: `a"b; DROP TABLE victim; --`, PrimaryKey: []string{`x"; DROP TABLE victim; --`}, ReplicationKey: "select", Include: []string{`x"; DROP TABLE victim; --`, "select"}},
	}, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0].Name != "orders" || out[1].Name != "lines" {
		t.Fatalf("tables %v, want the specs' order", out)
	}
	var names []string
	for _, c := range out[0].Columns {
		names = append(names, c.Name)
	}
	if fmt.Sprint(names) != "[id name updated_at Mixed Col span]" {
		t.Errorf("orders columns %v: exclude not applied in catalog order", names)
	}
	if len(catalog[0].Columns) != 7 {
		t.Error("applySpecs changed the catalog's table")
	}
	if s := bySpec["app.orders"]; s.Strategy != StrategyIncremental {
		t.Errorf("strategy %q: lower case not read as INCREMENTAL", s.Strategy)
	}
	if s := bySpec["app.lines"]; s.Strategy != StrategyFull {
		t.Errorf("strategy %q: \" full \" not read as FULL", s.Strategy)
	}
	// A spec's key narrower than the enforced catalog key is assumed
	// unique, not known to be: pages must not rely on it.
	if out[1].PrimaryKeyEnforced || !catalog[1].PrimaryKeyEnforced {
		t.Errorf("lines: spec key [order_id] of catalog key [order_id n]: enforced %v", out[1].PrimaryKeyEnforced)
	}
	if p := makePlan(out[1], nil, false); len(p.Warnings) == 0 {
		t.Error("no warning that the spec's primary key is not enforced")
	}
	// A wider key holds the catalog's: still unique.
	out2, _, err := applySpecs(catalog, []TableSpec{{Table: "lines", PrimaryKey: []string{"n", "qty", "order_id"}}}, "app")
	if err != nil || !out2[0].PrimaryKeyEnforced {
		t.Errorf("a key holding the catalog's: enforced %v, %v", out2[0].PrimaryKeyEnforced, err)
	}
	if h := out[2]; len(h.Columns) != 2 || h.PrimaryKey[0] != `x"; DROP TABLE victim; --` || h.PrimaryKeyEnforced {
		t.Errorf("hostile table: %+v", h)
	}
	if p := makePlan(out[0], ptr(bySpec["app.orders"]), false); p.Mode != ModeIncremental || p.ReplicationKey != "updated_at" {
		t.Errorf("orders plan %s/%s", p.Mode, p.ReplicationKey)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoadTableSpecs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `[
  {"table": "orders", "strategy": "INCREMENTAL", "replication_key": "updated_at", "primary_keys": ["id"], "exclude": ["doc"]},
  {"schema": "app", "table": "a\"b; DROP TABLE victim; --", "include": ["x\"; DROP TABLE victim; --"]}
]`)
	specs, err := LoadTableSpecs(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].ReplicationKey != "updated_at" || specs[1].Table != `a"b; DROP TABLE victim; --` || specs[1].Include[0] != `x"; DROP TABLE victim; --` {
		t.Errorf("specs %+v", specs)
	}
	for name, c := range map[string]struct{ body, want string }{
		"misspelt key": {`[{"table": "orders", "replication_kee": "updated_at"}]`, `unknown field "replication_kee"`},
		"not an array": {`{"table": "orders"}`, "expected a JSON array"},
		"bad json":     {`[{"table": }]`, "invalid character"},
		"wrong type":   {`[{"table": "orders", "include": "id"}]`, "include"},
	} {
		p := write(strings.ReplaceAll(name, " ", "_")+".json", c.body)
		_, err := LoadTableSpecs(p)
		if err == nil || !errors.Is(err, ErrTableSpec) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want ErrTableSpec naming %s and saying %q", name, err, p, c.want)
		}
	}
	if _, err := LoadTableSpecs(filepath.Join(dir, "missing.json")); err == nil || !errors.Is(err, ErrTableSpec) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

// TestTableSpecFileSync: auto_schema_detection false with a table_spec_file
// given relative to the configuration file syncs exactly the listed tables,
// with their columns narrowed and their strategies and keys as specified.
func TestTableSpecFileSync(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, name text, secret text, changed timestamp NOT NULL, doc jsonb);
INSERT INTO %[1]s.orders SELECT i, 'n' || i, 'pw' || i, timestamp '2024-01-01' + i * interval '1 minute', '{}' FROM generate_series(1, 250) i;
CREATE TABLE %[1]s.lines (order_id bigint, n int, sku text, PRIMARY KEY (order_id, n));
INSERT INTO %[1]s.lines SELECT i / 3, i %% 3, 's' || i FROM generate_series(1, 300) i;
CREATE TABLE %[1]s.unlisted (id int PRIMARY KEY, updated_at timestamp);
INSERT INTO %[1]s.unlisted VALUES (1, now());`)

	dir := t.TempDir()
	specs := `[
  {"table": "orders", "strategy": "INCREMENTAL", "replication_key": "changed", "exclude": ["secret", "doc"]},
  {"table": "lines", "strategy": "FULL", "primary_keys": ["order_id", "n"], "include": ["order_id", "n", "sku"]}
]`
	if err := os.WriteFile(filepath.Join(dir, "specs.json"), []byte(specs), 0o600); err != nil {
		t.Fatal(err)
	}
	u := pgtest.URL(t)
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	pw, _ := u.User.Password()
	conf, _ := json.Marshal(map[string]string{
		"redshift_host": u.Hostname(), "redshift_port": port, "redshift_database": strings.TrimPrefix(u.Path, "/"),
		"redshift_user": u.User.Username(), "redshift_password": pw, "redshift_schema": s,
		"sslmode": u.Query().Get("sslmode"), "auto_schema_detection": "false", "table_spec_file": "specs.json",
		"batch_size": "100", "max_parallel_workers": "2",
	})
	if pw == "" {
		var m map[string]string
		_ = json.Unmarshal(conf, &m)
		delete(m, "redshift_password")
		conf, _ = json.Marshal(m)
	}
	confPath := filepath.Join(dir, "configuration.json")
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(confPath)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TablesFromSpecs {
		t.Fatal("auto_schema_detection \"false\" read as true")
	}

	var mu sync.Mutex
	rows := map[string]int{}
	cols := map[string][]string{}
	sink := SinkFuncs{
		OpenFunc: func(_ context.Context, tb *Table) error {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range tb.Columns {
				cols[tb.Name] = append(cols[tb.Name], c.Name)
			}
			return nil
		},
		WriteFunc: func(_ context.Context, b Batch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range b.Rows {
				if len(r) != len(b.Table.Columns) {
					return fmt.Errorf("row of %d values for %d columns", len(r), len(b.Table.Columns))
				}
			}
			rows[b.Table.Name] += len(b.Rows)
			return nil
		},
	}
	ex, err := New(cfg, sink, &MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := ex.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Plans) != 2 {
		t.Fatalf("%d plans, want the 2 listed tables", len(d.Plans))
	}
	for _, p := range d.Plans {
		switch p.Table.Name {
		case "orders":
			if p.Mode != ModeIncremental || p.ReplicationKey != "changed" || p.Reason != "the table spec names the replication key" {
				t.Errorf("orders: %s/%s (%s)", p.Mode, p.ReplicationKey, p.Reason)
			}
		case "lines":
			if p.Mode != ModeFull || !p.Table.PrimaryKeyEnforced {
				t.Errorf("lines: %s, enforced %v", p.Mode, p.Table.PrimaryKeyEnforced)
			}
		}
	}
	rep, err := ex.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 550 || rows["orders"] != 250 || rows["lines"] != 300 || rows["unlisted"] != 0 {
		t.Errorf("rows %v (report %d), want orders 250, lines 300, nothing of unlisted", rows, rep.Rows)
	}
	if fmt.Sprint(cols["orders"]) != "[id name changed]" || fmt.Sprint(cols["lines"]) != "[order_id n sku]" {
		t.Errorf("columns %v", cols)
	}

	// A spec naming a column the table lacks fails before any row is read.
	if err := os.WriteFile(filepath.Join(dir, "specs.json"), []byte(`[{"table": "orders", "include": ["id", "nmae"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg2, err := LoadConfig(confPath)
	if err != nil {
		t.Fatal(err)
	}
	ex2, err := New(cfg2, sink, &MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	defer ex2.Close()
	_, err = ex2.Run(ctx)
	if !errors.Is(err, ErrTableSpec) || !strings.Contains(err.Error(), s+`.orders: column "nmae" does not exist`) {
		t.Errorf("bad spec: %v", err)
	}
}

// TestSpecNullablePrimaryKey: a spec's primary key with a nullable column is
// refused before any row is read, naming the table and the column. Paging
// by (a, b) skipped every row whose b is NULL: (a = $1 AND b > $2) is NULL
// for them (50 of 60 rows were delivered). A nullable replication key stays
// allowed: its NULL rows are read in the null_keys phase.
func TestSpecNullablePrimaryKey(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.n (a int NOT NULL, b int, v text, updated_at timestamp);
INSERT INTO %[1]s.n SELECT i / 10, CASE WHEN i %% 6 = 0 THEN NULL ELSE i END, 'v' || i,
	CASE WHEN i %% 7 = 0 THEN NULL ELSE timestamp '2024-01-01' + i * interval '1 s' END FROM generate_series(0, 59) i;
CREATE INDEX ON %[1]s.n (a, b); CREATE INDEX ON %[1]s.n (updated_at);`)
	cfg, err := ConfigFromURL(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema, cfg.MaxParallelWorkers = s, 2
	cfg.TablesFromSpecs = true
	cfg.BatchSize = 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(spec TableSpec) (*collectSink, error) {
		sink := &collectSink{}
		ex, err := New(cfg, sink, &MemoryStore{}, WithTableSpecs([]TableSpec{spec}))
		if err != nil {
			t.Fatal(err)
		}
		defer ex.Close()
		_, err = ex.Run(ctx)
		return sink, err
	}
	for _, spec := range []TableSpec{
		{Table: "n", Strategy: StrategyFull, PrimaryKey: []string{"a", "b"}},
		{Table: "n", Strategy: StrategyIncremental, ReplicationKey: "updated_at", PrimaryKey: []string{"a", "b"}},
	} {
		sink, err := run(spec)
		if !errors.Is(err, ErrTableSpec) || !strings.Contains(err.Error(), s+`.n: primary key column "b" is nullable`) {
			t.Errorf("spec %+v: err = %v (%d rows delivered), want ErrTableSpec naming %s.n and column b", spec, err, sink.rows(), s)
		}
		if sink.rows() != 0 {
			t.Errorf("spec %+v: %d rows read before the spec was refused", spec, sink.rows())
		}
	}
	// The NOT NULL column alone, and a nullable replication key: every row.
	for _, spec := range []TableSpec{
		{Table: "n", Strategy: StrategyFull, PrimaryKey: []string{"a"}},
		{Table: "n", Strategy: StrategyIncremental, ReplicationKey: "updated_at", PrimaryKey: []string{"a"}},
	} {
		sink, err := run(spec)
		if err != nil || sink.rows() != 60 {
			t.Errorf("spec %+v: %d rows of 60, %v", spec, sink.rows(), err)
		}
	}
}

// collectSink counts the rows written to it.
type collectSink struct {
	mu sync.Mutex
	n  int
}

func (c *collectSink) Open(context.Context, *Table) error { return nil }
func (c *collectSink) Write(_ context.Context, b Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += len(b.Rows)
	return nil
}
func (c *collectSink) Flush(context.Context, *Table) error { return nil }
func (c *collectSink) rows() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
