package redshiftsync_test

// Hostile identifiers: a schema, tables and columns whose names hold spaces,
// double and single quotes, dots, semicolons, "--", "$1", mixed case,
// unicode and reserved words, several of them spelling out
// "DROP TABLE victim". Everything is synced (discovered, and through table
// specs naming the hostile columns), in small pages so that keyset
// predicates, tie queries and high-water marks all quote them; every row
// must arrive, and both victim tables must still exist: had a name been
// pasted into SQL unquoted, the test would have dropped one.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

const hostileSchema = `Sch"ema; DROP TABLE public.victim; --.x`

// hostileTable is one table: its name, its columns' names and SQL types,
// the primary key (column indexes), and how to fill column i of row n.
type hostileTable struct {
	name  string
	cols  []string
	types []string
	pk    []int
}

var hostileTables = []hostileTable{
	{`a"b; DROP TABLE victim; --`,
		[]string{`x"; DROP TABLE victim; --`, "select", "from", "updated_at", "Mixed Case", "dots.in.name", "ünï 表 😀"},
		[]string{"bigint", "text", "int", "timestamp NOT NULL", "text", "text", "text"}, []int{0}},
	{"select",
		[]string{"from", "order", "WHERE", " lead and trail "},
		[]string{"int NOT NULL", "text", "text", "text"}, nil},
	{"Mixed.Case Table 表",
		[]string{"Order", "--comment", "Group", "modified_at"},
		[]string{"int", "text", "text", "timestamptz"}, []int{0, 2}},
	{`'; DROP TABLE victim; --`,
		[]string{`'`, `''`, `"`, `""`},
		[]string{"int", "text", "text", "text"}, []int{0}},
	{"t$1",
		[]string{`"`, "$1", "$2::text", `\`},
		[]string{"int", "text", "text", "text"}, []int{0}},
}

// hostileValue is the text of column c of row n: values with quotes too.
func hostileValue(c, n int) string {
	return fmt.Sprintf(`v%d'"; DROP TABLE victim; -- %d`, c, n)
}

// TestHostileIdentifiers syncs the hostile tables, discovered and through
// specs, and checks every value and both victims.
func TestHostileIdentifiers(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	q := pq.QuoteIdentifier
	qs := q(hostileSchema)
	pgtest.Exec(t, db, `CREATE TABLE public.victim (id int); INSERT INTO public.victim VALUES (1);
CREATE SCHEMA `+qs+`; CREATE TABLE `+qs+`.victim (id int); INSERT INTO `+qs+`.victim VALUES (1);`)
	const rows = 23
	for _, ht := range hostileTables {
		var defs []string
		for i, c := range ht.cols {
			defs = append(defs, q(c)+" "+ht.types[i])
		}
		if len(ht.pk) > 0 {
			var pk []string
			for _, i := range ht.pk {
				pk = append(pk, q(ht.cols[i]))
			}
			defs = append(defs, "PRIMARY KEY ("+strings.Join(pk, ", ")+")")
		}
		pgtest.Exec(t, db, "CREATE TABLE "+qs+"."+q(ht.name)+" ("+strings.Join(defs, ", ")+")")
		for n := 1; n <= rows; n++ {
			var vals []string
			for i := range ht.cols {
				switch strings.Fields(ht.types[i])[0] {
				case "int", "bigint":
					vals = append(vals, fmt.Sprint(n))
				case "timestamp", "timestamptz":
					// Ties: four rows share each timestamp.
					vals = append(vals, fmt.Sprintf("'2024-01-01'::timestamp + %d * interval '1 hour'", n/4))
				default:
					vals = append(vals, pq.QuoteLiteral(hostileValue(i, n)))
				}
			}
			pgtest.Exec(t, db, "INSERT INTO "+qs+"."+q(ht.name)+" VALUES ("+strings.Join(vals, ", ")+")")
		}
	}

	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = hostileSchema
	cfg.BatchSize = 4
	cfg.MaxParallelWorkers = 3
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	victims := func(stage string) {
		t.Helper()
		for _, v := range []string{"public.victim", qs + ".victim"} {
			var n int
			if err := db.QueryRow("SELECT count(*) FROM " + v).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%s: %s is gone or changed (%d rows, %v): an identifier was injected", stage, v, n, err)
			}
		}
	}
	check := func(stage string, sink *memSink, only map[string][]string) {
		t.Helper()
		for _, ht := range hostileTables {
			qn := hostileSchema + "." + ht.name
			cols := ht.cols
			if only != nil {
				cols = only[ht.name]
			}
			tbl := sink.tables[qn]
			if tbl == nil {
				t.Errorf("%s: table %q not delivered", stage, ht.name)
				continue
			}
			if len(tbl.Columns) != len(cols) {
				t.Errorf("%s: %q delivered with columns %v, want %q", stage, ht.name, tbl.Columns, cols)
			}
			if len(sink.rows[qn]) != rows {
				t.Errorf("%s: %q: %d rows, want %d", stage, ht.name, len(sink.rows[qn]), rows)
			}
			for _, c := range cols {
				// The independent view: the value keyed like the sink's rows.
				keyExpr := []string{}
				if len(tbl.PrimaryKey) == 0 {
					for _, col := range tbl.Columns {
						keyExpr = append(keyExpr, "COALESCE("+q(col.Name)+"::text, 'NULL')")
					}
				}
				for _, k := range tbl.PrimaryKey {
					keyExpr = append(keyExpr, q(k)+"::text")
				}
				query := "SELECT concat_ws('|', " + strings.Join(keyExpr, ", ") + "), " + q(c) + "::text FROM " + qs + "." + q(ht.name)
				want := sourceMap(t, db, query)
				got := sink.column(qn, c)
				if !strings.Contains(ht.types[slices.Index(ht.cols, c)], "timestamp") {
					if d := diffMaps(want, got); d != "" {
						t.Errorf("%s: %q.%q: %s", stage, ht.name, c, d)
					}
				} else if len(got) != rows {
					t.Errorf("%s: %q.%q: %d values", stage, ht.name, c, len(got))
				}
			}
		}
	}

	// Discovered.
	sink := newMemSink()
	rep := mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	victims("discovered")
	if len(rep.Tables) != len(hostileTables)+1 { // and the schema's victim
		t.Errorf("%d tables synced, want %d", len(rep.Tables), len(hostileTables)+1)
	}
	for _, tr := range rep.Tables {
		if tr.Table == hostileSchema+"."+hostileTables[0].name && (tr.Mode != redshiftsync.ModeIncremental || tr.Key != "updated_at") {
			t.Errorf("%s: %s/%s, want incremental on updated_at", tr.Table, tr.Mode, tr.Key)
		}
	}
	check("discovered", sink, nil)

	// Through specs naming the hostile columns, twice (the second run starts
	// at the bookmarks of the first).
	cfg.TablesFromSpecs = true
	specs := []redshiftsync.TableSpec{
		{Table: hostileTables[0].name, Strategy: "INCREMENTAL", ReplicationKey: `x"; DROP TABLE victim; --`,
			Exclude: []string{"dots.in.name", "updated_at"}},
		{Table: "select", Strategy: "INCREMENTAL", ReplicationKey: "from", PrimaryKey: []string{"from"},
			Include: []string{"from", "order", " lead and trail "}},
		{Table: "Mixed.Case Table 表", Strategy: "INCREMENTAL", ReplicationKey: "modified_at", PrimaryKey: []string{"Group", "Order"}},
		{Table: `'; DROP TABLE victim; --`, Strategy: "FULL", Include: []string{`'`, `""`}},
		{Table: "t$1", ReplicationKey: "$1", Include: []string{`"`, "$1", `\`}},
	}
	only := map[string][]string{
		hostileTables[0].name:      {`x"; DROP TABLE victim; --`, "select", "from", "Mixed Case", "ünï 表 😀"},
		"select":                   {"from", "order", " lead and trail "},
		"Mixed.Case Table 表":       hostileTables[2].cols,
		`'; DROP TABLE victim; --`: {`'`, `""`},
		"t$1":                      {`"`, "$1", `\`},
	}
	store := &redshiftsync.MemoryStore{}
	sink = newMemSink()
	for run := 1; run <= 2; run++ {
		rep := mustRun(t, cfg, sink, store, redshiftsync.WithTableSpecs(specs))
		victims(fmt.Sprintf("specs, run %d", run))
		if len(rep.Tables) != len(specs) {
			t.Errorf("specs run %d: %d tables, want %d", run, len(rep.Tables), len(specs))
		}
		check(fmt.Sprintf("specs, run %d", run), sink, only)
	}
}
