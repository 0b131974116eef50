package redshiftsync

// Tests of how PostgreSQL plans the keyset pages of a multi-column ordering
// (an incremental sync's (key, primary key)): the position is one row
// comparison, estimated by the rows really left, so that the last pages of
// a key range stay index scans.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestPageResumesWithRowComparison: on PostgreSQL a page resumes after its
// tuple with one row comparison; on Redshift, which has none, with the
// expansion of tupleAfter.
func TestPageResumesWithRowComparison(t *testing.T) {
	tbl := &Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"}, PrimaryKeyEnforced: true,
		Columns: []Column{col("id", "bigint", false), col("updated_at", "timestamp without time zone", false)}}
	p := &Plan{Table: tbl, Mode: ModeIncremental, ReplicationKey: "updated_at"}
	after := []string{"2024-01-01 00:00:01", "7"}

	pg, args := p.shape(phaseRows, &progress{Phase: phaseRows}, 0, DialectPostgres).pageSQL(after, 10)
	if want := `("updated_at", "id") > ($1::timestamp without time zone, $2::bigint)`; !strings.Contains(pg, want) || len(args) != 2 {
		t.Errorf("PostgreSQL page:\n%s\nwant the row comparison %s, args %v", pg, want, args)
	}
	if strings.Contains(pg, " OR ") {
		t.Errorf("PostgreSQL page still expands the tuple:\n%s", pg)
	}
	rs, _ := p.shape(phaseRows, &progress{Phase: phaseRows}, 0, DialectRedshift).pageSQL(after, 10)
	if want, _ := tupleAfter(p.shape(phaseRows, &progress{Phase: phaseRows}, 0, DialectRedshift).orderBy, after, 1); !strings.Contains(rs, want) {
		t.Errorf("Redshift page:\n%s\nwant the expansion %s", rs, want)
	}
	one, _ := rowAfter(tbl.Columns[:1], []string{"7"}, 3)
	if one != `"id" > $3::bigint` {
		t.Errorf("one column: %s", one)
	}
}

// TestLastPagesKeepTheirEstimate: near the end of an incremental key range
// the planner estimates the rows a page can still return by the rows left.
// The expanded predicate ("k >= v AND (k > v OR (k = v AND id > x))") was
// estimated as the rows left squared over the table: 2,000 left of 40,000
// looked like 100, and on a large table such a page became a bitmap scan and
// a sort of every row left, page after page.
func TestLastPagesKeepTheirEstimate(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.inc (id bigint PRIMARY KEY, updated_at timestamp NOT NULL, body text);
INSERT INTO %[1]s.inc SELECT g, timestamp '2024-01-01' + g * interval '1 second', md5(g::text) FROM generate_series(1, 40000) g;
CREATE INDEX ON %[1]s.inc (updated_at, id); ANALYZE %[1]s.inc;`)
	tbl := &Table{Schema: s, Name: "inc", PrimaryKey: []string{"id"}, PrimaryKeyEnforced: true,
		Columns: []Column{col("id", "bigint", false), col("updated_at", "timestamp without time zone", false), col("body", "text", true)}}
	p := &Plan{Table: tbl, Mode: ModeIncremental, ReplicationKey: "updated_at"}
	shape := p.shape(phaseRows, &progress{Phase: phaseRows}, 0, DialectPostgres)
	// After row 38,000: 2,000 rows are left.
	q, args := shape.pageSQL([]string{"2024-01-01 10:33:20", "38000"}, 10_000)
	var doc []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	out := pgtest.QueryValue[string](t, db, "EXPLAIN (FORMAT JSON) "+q, args...)
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("EXPLAIN: %v\n%s", err, out)
	}
	if got := doc[0].Plan.Rows; got < 1000 || got > 4000 {
		t.Errorf("the page after row 38,000 of 40,000 is estimated at %.0f rows, want about 2,000\n%s\n%s", got, q, out)
	}
}
