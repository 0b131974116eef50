package redshiftsync_test

// The types PostgreSQL has no counterpart for, or prints otherwise than
// Redshift, read through the Redshift stand-in: TIMETZ and INTERVAL text,
// SUPER and HLLSKETCH (see internal/standin's godoc for how the stand-in
// presents them).

import (
	"fmt"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestRedshiftStandinTimeTZInterval: a TIMETZ value arrives as Redshift
// prints it, the time of day in UTC with offset +00 (r_Datetime_types:
// "TIMETZ values are UTC"), whatever offset it was written with; INTERVAL
// values (year-month and day-second qualifiers) arrive as the server's
// text, "1 year 8 mons", "1 day 01:01:00" (r_interval_data_types).
func TestRedshiftStandinTimeTZInterval(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.tt (id int PRIMARY KEY, tz timetz, ym interval year to month, ds interval day to second(3), m interval minute);
INSERT INTO %[1]s.tt VALUES
	(1, '13:24:55 PST', interval '20' month, interval '2 days 1:1:1.123456' day to second(3), interval '1 day 1 hour 1 minute 1.123 seconds' minute),
	(2, '00:00:00.555+05:30', interval '1-2' year to month, interval '-2' day, interval '59 minutes'),
	(3, '20:41:19 UTC', interval '23' month, interval '13 day 1 hour 1 minute 1.123 seconds' second, NULL),
	(4, '24:00:00+02', NULL, NULL, NULL);`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	_, d := discover(t, cfg, newMemSink())
	types := map[string]string{}
	for _, c := range d.Plans[0].Table.Columns {
		types[c.Name] = c.SourceType + " " + string(c.Type)
	}
	if want := (map[string]string{"id": "integer INT", "tz": "time with time zone TIME_TZ", "ym": "interval year to month INTERVAL",
		"ds": "interval day to second(3) INTERVAL", "m": "interval minute INTERVAL"}); fmt.Sprint(types) != fmt.Sprint(want) {
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
