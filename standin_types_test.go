package redshiftsync_test

// The types PostgreSQL has no counterpart for, or prints otherwise than
// Redshift, read through the Redshift stand-in: TIMETZ and INTERVAL text,
// SUPER and HLLSKETCH (see internal/standin's godoc for how the stand-in
// presents them).

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestRedshiftStandinTimeTZInterval: a TIMETZ value arrives as Redshift
// prints it, the time of day in UTC with offset +00 (r_Datetime_types:
// "TIMETZ values are UTC"), whatever offset it was written with. INTERVAL
// columns (Redshift's INTERVALY2M and INTERVALD2S) arrive in the interval
// style, "1 year 8 mons", "2 days 01:01:01.123", which Redshift prints for
// an interval cast to text (r_interval_data_types: "cast it to text to see
// the expected interval style"; uncast, an interval literal prints "1
// years 8 mons", "0 days 0 hours 2 mins 2.0 secs").
func TestRedshiftStandinTimeTZInterval(t *testing.T) {
	db, dsn := pgtest.OpenRedshiftSource(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.tt (id int PRIMARY KEY, tz timetz, ym interval year to month, ds interval day to second(3), m interval minute);
INSERT INTO %[1]s.tt VALUES
	(1, '13:24:55 PST', interval '20' month, interval '2 days 1:1:1.123456' day to second(3), interval '1 day 1 hour 1 minute 1.123 seconds' minute),
	(2, '00:00:00.555+05:30', interval '1-2' year to month, interval '-2' day, interval '59 minutes'),
	(3, '20:41:19 UTC', interval '23' month, interval '13 day 1 hour 1 minute 1.123 seconds' second, NULL),
	(4, '24:00:00+02', NULL, NULL, NULL);`, s))
	cfg := configFor(t, dsn, s)
	_, d := discover(t, cfg, newMemSink())
	types := map[string]string{}
	for _, c := range d.Plans[0].Table.Columns {
		types[c.Name] = c.SourceType + " " + string(c.Type)
	}
	if want := (map[string]string{"id": "integer INT", "tz": "time with time zone TIME_TZ", "ym": "intervaly2m INTERVAL",
		"ds": "intervald2s INTERVAL", "m": "intervald2s INTERVAL"}); fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("columns %v, want %v", types, want)
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	want := map[string][4]any{
		"1": {"21:24:55+00", "1 year 8 mons", "2 days 01:01:01.123", "1 day 01:01:00"},
		"2": {"18:30:00.555+00", "1 year 2 mons", "-2 days", "00:59:00"},
		"3": {"20:41:19+00", "1 year 11 mons", "13 days 01:01:01.123", nil},
		"4": {"22:00:00+00", nil, nil, nil},
	}
	got := sink.rows[s+".tt"]
	if len(got) != len(want) {
		t.Fatalf("%d rows arrived, want %d", len(got), len(want))
	}
	for _, row := range got {
		id := fmt.Sprint(row[0])
		for i, w := range want[id] {
			if row[i+1] != w {
				t.Errorf("row %s column %d: %#v arrived, Redshift prints %#v", id, i+1, row[i+1], w)
			}
		}
	}
}

// TestRedshiftStandinSuper: a SUPER column is discovered as JSON and its
// values arrive as the compact JSON text Redshift prints (JSON_SERIALIZE's
// form), each a json.RawMessage; SQL NULL arrives as nil, a SUPER null as
// the JSON null.
func TestRedshiftStandinSuper(t *testing.T) {
	db, dsn := pgtest.OpenRedshiftSource(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.docs (id int PRIMARY KEY, d super);
INSERT INTO %[1]s.docs VALUES
	(1, json_parse('{"a": 1, "b": [1, 2.5, "x y"], "c": {"d": null}}')),
	(2, json_parse('[10001, 10002, "abc"]')),
	(3, json_parse('"a string"')),
	(4, json_parse('null')),
	(5, NULL);`, s))
	want := map[string]any{
		"1": json.RawMessage(`{"a":1,"b":[1,2.5,"x y"],"c":{"d":null}}`),
		"2": json.RawMessage(`[10001,10002,"abc"]`),
		"3": json.RawMessage(`"a string"`),
		"4": json.RawMessage(`null`),
		"5": nil,
	}
	checkTypedColumn(t, configFor(t, dsn, s), s+".docs", "super JSON", want)
	t.Run("domain", func(t *testing.T) {
		pgtest.NotOnCluster(t, "checks the stand-in's super domain, which admits only JSON, as a SUPER holds")
		if _, err := db.Exec(fmt.Sprintf(`INSERT INTO %s.docs VALUES (9, '{not json')`, s)); err == nil {
			t.Errorf("the super domain accepted text that is not JSON")
		}
	})
}

// TestRedshiftStandinHLLSketch: an HLLSKETCH column is discovered as STRING
// and its values arrive as Redshift prints them, a sparse sketch's JSON or
// a dense one's Base64 (r_HLLSKTECH_type).
func TestRedshiftStandinHLLSketch(t *testing.T) {
	pgtest.NotOnCluster(t, "it writes sketches from their printed forms, which the stand-in's hllsketch domain holds; "+
		"a cluster makes them with HLL_CREATE_SKETCH or loads them with COPY, and prints forms not known in advance")
	db, dsn := pgtest.OpenRedshiftSource(t)
	s := pgtest.NewSchema(t, db)
	sparse := `{"version":1,"logm":15,"sparse":{"indices":[4878,9559,14523],"values":[1,2,1]}}`
	dense := "CHAQ3sGoCxgCIAuCB4iAIBgTIBgqgIAgAwY="
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.sketches (id int PRIMARY KEY, h hllsketch);
INSERT INTO %[1]s.sketches VALUES (1, '%[2]s'), (2, '%[3]s'), (3, NULL);`, s, sparse, dense))
	checkTypedColumn(t, configFor(t, dsn, s), s+".sketches", "hllsketch STRING", map[string]any{"1": sparse, "2": dense, "3": nil})
	for _, bad := range []string{`x y`, `{"logm":15}`} {
		if _, err := db.Exec(fmt.Sprintf(`INSERT INTO %s.sketches VALUES (9, '%s')`, s, bad)); err == nil {
			t.Errorf("the hllsketch domain accepted %q", bad)
		}
	}
}

// checkTypedColumn syncs the table (id, column) of cfg's schema and checks
// that the column is discovered as typ ("source_type LOGICAL") and that
// its values arrive as want holds them by id, Go type included.
func checkTypedColumn(t *testing.T, cfg redshiftsync.Config, table, typ string, want map[string]any) {
	t.Helper()
	_, d := discover(t, cfg, newMemSink())
	if c := d.Plans[0].Table.Columns[1]; c.SourceType+" "+string(c.Type) != typ {
		t.Errorf("column %s: %s %s, want %s", c.Name, c.SourceType, c.Type, typ)
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	got := sink.rows[table]
	if len(got) != len(want) {
		t.Fatalf("%d rows arrived, want %d", len(got), len(want))
	}
	for _, row := range got {
		id := fmt.Sprint(row[0])
		if w := want[id]; fmt.Sprintf("%T %s", row[1], row[1]) != fmt.Sprintf("%T %s", w, w) {
			t.Errorf("row %s: %T %s arrived, want %T %s", id, row[1], row[1], w, w)
		}
	}
}
