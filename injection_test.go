package redshiftsync_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// This file feeds hostile names to the extractor through its configuration:
// the schema name (redshift_schema) and the values of table specs (table,
// primary_keys, replication_key, include). Each name would drop the table
// public.victim if it reached SQL unquoted, or quoted the wrong way. Names
// that come from the catalog are covered by identifiers_test.go.

// hostileNames end the quoted identifier or string they might be pasted in,
// and go on with a statement.
var hostileNames = []string{
	`x"; DROP TABLE victim; --`,
	`y'; DROP TABLE victim; --`,
	`z\'; DROP TABLE victim; --`,
	`w\"; DROP TABLE victim; --`,
	`$1); DROP TABLE victim; --`,
	`"public"."victim"`,
	`dot.ted "Ünï" ` + "\t" + `%s %v`,
}

// checkVictim fails the test when public.victim lost its rows or is gone.
func checkVictim(t *testing.T, q func(string) (int, error)) {
	t.Helper()
	n, err := q(`SELECT count(*) FROM public.victim`)
	if err != nil || n != 3 {
		t.Fatalf("public.victim: %d rows, %v: a hostile name reached SQL", n, err)
	}
}

func TestInjectionSchemaName(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	pgtest.Exec(t, db, `CREATE TABLE public.victim (id int); INSERT INTO public.victim VALUES (1), (2), (3);`)
	count := func(q string) (n int, err error) { err = db.QueryRow(q).Scan(&n); return n, err }
	base, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for i, schema := range hostileNames {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			qs := pq.QuoteIdentifier(schema)
			pgtest.Exec(t, db, fmt.Sprintf(`CREATE SCHEMA %[1]s;
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t SELECT i, 'v' || i, timestamp '2024-01-01' + i * interval '1 hour' FROM generate_series(1, 250) i;`, qs))
			cfg := base
			cfg.Schema = schema
			cfg.BatchSize = 100
			store := redshiftsync.NewFileStore(filepath.Join(t.TempDir(), "state.json"))
			sink := newMemSink()
			d, err := func() (*redshiftsync.Discovery, error) {
				ex := synctest.New(t, cfg, sink, store)
				defer ex.Close() // before the run below
				return ex.Discover(t.Context())
			}()
			if err != nil || len(d.Plans) != 1 || d.Plans[0].Table.Schema != schema {
				t.Fatalf("discover schema %q: %v %+v", schema, err, d)
			}
			mustRun(t, cfg, sink, store)
			pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.t SET v = 'new', updated_at = updated_at + interval '1 year' WHERE id %% 10 = 0;`, qs))
			rep := mustRun(t, cfg, sink, store) // resumes from a state keyed by the hostile name
			if rep.Tables[0].Rows > 25+1 {
				t.Errorf("incremental run read %d rows", rep.Tables[0].Rows)
			}
			name := schema + ".t"
			if dd := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM `+qs+`.t`), sink.column(name, "v")); dd != "" {
				t.Errorf("schema %q: %s", schema, dd)
			}
			checkVictim(t, count)
		})
	}
	checkVictim(t, count)
}

// TestInjectionTableSpecs: table specs read from a table_spec_file, with a
// configuration.json naming a hostile schema, select a table and columns
// whose names are hostile: the sync copies them exactly, twice (the second
// time resuming after a bookmark on the hostile key). Spec values that name
// nothing fail as ErrTableSpec before any row is read.
func TestInjectionTableSpecs(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	pgtest.Exec(t, db, `CREATE TABLE public.victim (id int); INSERT INTO public.victim VALUES (1), (2), (3);`)
	count := func(q string) (n int, err error) { err = db.QueryRow(q).Scan(&n); return n, err }

	schema := `s"; DROP TABLE victim; --`
	table := `t'); DROP TABLE victim; --`
	id, key, val := `id"); DROP TABLE victim; --`, `upd'at"; DROP TABLE victim; --`, `v\"`
	qs, qt := pq.QuoteIdentifier(schema), pq.QuoteIdentifier(table)
	qid, qkey, qval := pq.QuoteIdentifier(id), pq.QuoteIdentifier(key), pq.QuoteIdentifier(val)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE SCHEMA %[1]s;
CREATE TABLE %[1]s.%[2]s (%[3]s bigint NOT NULL, %[4]s timestamptz NOT NULL, %[5]s text, other text);
INSERT INTO %[1]s.%[2]s SELECT i, timestamptz '2024-01-01 00:00:00+00' + (i / 3) * interval '1 minute', 'v' || i, 'o' FROM generate_series(1, 1000) i;
CREATE TABLE %[1]s.plain (a int);`, qs, qt, qid, qkey, qval))

	// The configuration goes through files, as the example command reads it.
	base, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeJSON := func(name string, v any) string {
		t.Helper()
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	loadConfig := func(specs any) redshiftsync.Config {
		t.Helper()
		writeJSON("specs.json", specs)
		path := writeJSON("configuration.json", map[string]any{
			"redshift_host": base.Host, "redshift_port": strconv.Itoa(base.Port), "redshift_database": base.Database,
			"redshift_user": base.User, "sslmode": "disable", "redshift_schema": schema,
			"auto_schema_detection": "false", "table_spec_file": "specs.json", "batch_size": "100",
			"include_tables": `*"; DROP TABLE victim; --`,
		})
		cfg, err := redshiftsync.LoadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}

	cfg := loadConfig([]map[string]any{{
		"table": table, "strategy": "INCREMENTAL", "replication_key": key,
		"primary_keys": []string{id}, "include": []string{id, key, val},
	}})
	sink, store := newMemSink(), redshiftsync.NewFileStore(filepath.Join(dir, "state.json"))
	rep := mustRun(t, cfg, sink, store)
	if len(rep.Tables) != 1 || rep.Tables[0].Key != key || rep.Tables[0].Mode != redshiftsync.ModeIncremental || rep.Tables[0].Rows != 1000 {
		t.Fatalf("first run: %+v", rep.Tables)
	}
	name := schema + "." + table
	src := func() map[string]string {
		return sourceMap(t, db, fmt.Sprintf(`SELECT %s::text, %s FROM %s.%s`, qid, qval, qs, qt))
	}
	if d := diffMaps(src(), sink.column(name, val)); d != "" {
		t.Errorf("first run: %s", d)
	}
	if got := sink.tables[name]; got == nil || len(got.Columns) != 3 {
		t.Errorf("the include list was not applied: %+v", got)
	}
	pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %s.%s SET %s = 'changed', %s = %[4]s + interval '1 day' WHERE %s %% 100 = 0`, qs, qt, qval, qkey, qid))
	rep = mustRun(t, cfg, sink, store)
	if rep.Tables[0].Rows < 10 || rep.Tables[0].Rows > 10+3 {
		t.Errorf("incremental run read %d rows, want the 10 changed (+ the tie group at the bookmark)", rep.Tables[0].Rows)
	}
	if d := diffMaps(src(), sink.column(name, val)); d != "" {
		t.Errorf("incremental run: %s", d)
	}
	checkVictim(t, count)

	// Spec values that name nothing in the catalog: refused, quoted in the
	// message, and no SQL is built with them.
	for _, bad := range []map[string]any{
		{"table": `nope"; DROP TABLE victim; --`},
		{"table": table, "replication_key": `k"; DROP TABLE victim; --`},
		{"table": table, "primary_keys": []string{`p'; DROP TABLE victim; --`}},
		{"table": table, "include": []string{id, `c"); DROP TABLE victim; --`}},
		{"table": table, "schema": `public"; DROP TABLE victim; --`},
	} {
		cfg := loadConfig([]map[string]any{bad})
		sink := newMemSink()
		_, err := runOnce(t, cfg, sink, &redshiftsync.MemoryStore{})
		if !errors.Is(err, redshiftsync.ErrTableSpec) || !strings.Contains(err.Error(), "DROP TABLE victim") {
			t.Errorf("spec %v: err = %v, want ErrTableSpec naming the value", bad, err)
		}
		if sink.written != 0 {
			t.Errorf("spec %v: %d rows delivered", bad, sink.written)
		}
		checkVictim(t, count)
	}
}
