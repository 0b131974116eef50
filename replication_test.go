package redshiftsync

import (
	"strings"
	"testing"
)

func col(name, typ string, nullable bool) Column {
	lt, p, s, n, _ := logicalType(typ)
	return Column{Name: name, SourceType: typ, Type: lt, Nullable: nullable, Precision: p, Scale: s, Length: n}
}

// TestInferKey runs the inference over a zoo of table shapes.
func TestInferKey(t *testing.T) {
	ident := col("id", "bigint", false)
	ident.Identity = true
	cases := []struct {
		name       string
		table      Table
		key        string
		appendOnly bool
		reason     string
	}{
		{"updated_at wins over created_at", Table{Columns: []Column{col("created_at", "timestamp without time zone", false), col("updated_at", "timestamp with time zone", true)}}, "updated_at", false, "update-tracking"},
		{"NOT NULL preferred", Table{Columns: []Column{col("updated_at", "timestamp without time zone", true), col("last_modified", "timestamp without time zone", false)}}, "last_modified", false, "NOT NULL"},
		{"sort key among equals", Table{SortKey: "modified_at", Columns: []Column{col("updated_at", "timestamp without time zone", false), col("modified_at", "timestamp without time zone", false)}}, "modified_at", false, "sort key"},
		{"any case", Table{Columns: []Column{col("UpdatedAt", "timestamp without time zone", false), col("Last_Updated", "timestamp without time zone", false)}}, "Last_Updated", false, "update-tracking"},
		{"a date-typed updated_at is not a timestamp", Table{Columns: []Column{col("updated_at", "date", false)}}, "", false, "full resync"},
		{"business dates never", Table{Columns: []Column{col("birth_date", "date", false), col("event_start", "timestamp without time zone", false)}}, "", false, "full resync"},
		{"identity primary key", Table{PrimaryKey: []string{"id"}, Columns: []Column{ident, col("event_start", "timestamp without time zone", false)}}, "id", true, "identity"},
		{"plain integer primary key is not monotonic", Table{PrimaryKey: []string{"id"}, Columns: []Column{col("id", "integer", false)}}, "", false, "full resync"},
		{"creation timestamp", Table{Columns: []Column{col("id", "integer", false), col("created_at", "timestamp with time zone", false)}}, "created_at", true, "creation"},
		{"nothing", Table{Columns: []Column{col("code", "character(2)", false)}}, "", false, "full resync"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, ao, reason := inferKey(&c.table)
			if key != c.key || ao != c.appendOnly || !strings.Contains(reason, c.reason) {
				t.Errorf("inferKey = %q, %v, %q; want %q, %v, reason containing %q", key, ao, reason, c.key, c.appendOnly, c.reason)
			}
		})
	}
}

func TestMakePlanSpecWins(t *testing.T) {
	tbl := &Table{Schema: "s", Name: "t", PrimaryKeyEnforced: true, Columns: []Column{col("updated_at", "timestamp without time zone", false), col("seq", "bigint", false)}}
	if p := makePlan(tbl, &TableSpec{ReplicationKey: "seq"}, false); p.Mode != ModeIncremental || p.ReplicationKey != "seq" {
		t.Errorf("spec key: %+v", p)
	}
	if p := makePlan(tbl, &TableSpec{Strategy: StrategyFull}, false); p.Mode != ModeFull {
		t.Errorf("spec FULL: %+v", p)
	}
	if p := makePlan(tbl, nil, true); p.Mode != ModeFull || !strings.Contains(p.Reason, "enable_complete_resync") {
		t.Errorf("complete resync: %+v", p)
	}
	rs := &Table{Schema: "s", Name: "t", PrimaryKey: []string{"seq"}, Columns: tbl.Columns}
	if p := makePlan(rs, nil, false); len(p.Warnings) == 0 {
		t.Errorf("an unenforced primary key gives no warning: %+v", p)
	}
}

func TestTupleAfter(t *testing.T) {
	cols := []Column{col("k", "timestamp without time zone", false), col("a", "integer", false), col("b", "text", false)}
	got, args := tupleAfter(cols, []string{"x", "1", "y"}, 3)
	want := `("k" >= $3::timestamp without time zone AND (("k" > $3::timestamp without time zone OR ("k" = $3::timestamp without time zone AND ("a" > $4::integer OR ("a" = $4::integer AND "b" > $5::text))))))`
	if got != want || len(args) != 3 {
		t.Errorf("tupleAfter =\n%s\nwant\n%s", got, want)
	}
	one, _ := tupleAfter(cols[:1], []string{"x"}, 1)
	if one != `("k" >= $1::timestamp without time zone AND ("k" > $1::timestamp without time zone))` { // one column: no nesting
		t.Errorf("one column: %s", one)
	}
}

func TestDialectOf(t *testing.T) {
	// The version() string as the Redshift documentation gives it (r_VERSION).
	rs := "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.12103"
	if d := dialectOf(rs); d != DialectRedshift {
		t.Errorf("Redshift version: %s", d)
	}
	if d := dialectOf("PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu"); d != DialectPostgres {
		t.Errorf("PostgreSQL version: %s", d)
	}
}

// TestRankedPageSQL: the ranked page selects the table's columns and the
// rank, orders by the ordering columns under aliases that no column of the
// table has (a column named like the alias must not capture the ORDER BY),
// and compares tuples without row values.
func TestRankedPageSQL(t *testing.T) {
	tbl := &Table{Schema: "s", Name: "t", PrimaryKey: []string{"rs_order_2"}, Columns: []Column{
		col("rs_order_1", "text", false), col("rs_order_2", "integer", false), col("k", "citext", false),
	}}
	p := &Plan{Table: tbl, Mode: ModeIncremental, ReplicationKey: "k"}
	s := p.shape(phaseRows, &progress{Phase: phaseRows}, 0, DialectRedshift)
	q, args := s.rankedPageSQL([]string{"x@y", "7"}, 50)
	want := `SELECT p."rs_order_1", p."rs_order_2", p."k", dense_rank() OVER (ORDER BY p."rs_order_1_", p."rs_order_2_") FROM (` +
		`SELECT "rs_order_1", "rs_order_2", "k", src."k" AS "rs_order_1_", src."rs_order_2" AS "rs_order_2_" FROM "s"."t" src WHERE "k" IS NOT NULL AND ` +
		`("k" >= $1::citext AND (("k" > $1::citext OR ("k" = $1::citext AND "rs_order_2" > $2::integer)))) ORDER BY src."k", src."rs_order_2" LIMIT 50` +
		`) p ORDER BY p."rs_order_1_", p."rs_order_2_"`
	if q != want || len(args) != 2 {
		t.Errorf("rankedPageSQL =\n%s\nwant\n%s", q, want)
	}
	if !s.serverTies {
		t.Error("a citext key: serverTies is false")
	}
	// Integers and timestamps have canonical key texts: no ranked pages.
	p.ReplicationKey = "rs_order_2"
	if s := p.shape(phaseRows, &progress{Phase: phaseRows}, 0, DialectRedshift); s.serverTies {
		t.Error("an integer ordering: serverTies is true")
	}
}
