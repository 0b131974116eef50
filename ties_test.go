package redshiftsync_test

// Tie groups decided by the server's equality: keys that the server calls
// equal although their texts differ (citext, a nondeterministic ICU
// collation, numerics of different scales) at page boundaries of the
// non-unique page loop, in both dialects.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestTiesByServerEquality: a keyless table whose replication key (named by
// a table spec) holds values the server calls equal but whose texts differ:
// every row reaches the sink, whatever the batch size puts at a page
// boundary. Comparing key texts byte for byte, a page ended inside such a
// group and the next page's "k > last" skipped the rest of it (citext and
// the ICU collation lost rows; numerics did not, their key texts being
// canonical, and stay on the plain pages: this pins that they may).
func TestTiesByServerEquality(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	pgtest.Exec(t, db, `
CREATE EXTENSION citext;
CREATE SCHEMA s;
CREATE COLLATION s.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE s.k_citext (id int NOT NULL, k citext);
INSERT INTO s.k_citext (id, k) SELECT i, v FROM unnest(ARRAY[
	'a@a', 'b@b', 'x@y', 'X@Y', 'x@Y', 'X@y', 'c@X', 'C@x', 'd@d',
	'Q@Q', 'q@q', 'q@Q', 'Q@q', 'QQ@qq', 'z@z', 'Z@Z']) WITH ORDINALITY AS u(v, i);
CREATE TABLE s.k_icu (id int NOT NULL, k text COLLATE s.ci);
INSERT INTO s.k_icu (id, k) SELECT i, v FROM unnest(ARRAY[
	'Apfel', 'APFEL', 'Straße', 'STRASSE', 'strasse', 'Strasse', 'straße', 'Tal',
	'TAL', 'tal', 'Weg', 'WEG', 'weg', 'Zaun', 'ZAUN', 'zaun']) WITH ORDINALITY AS u(v, i);
CREATE TABLE s.k_numeric (id int NOT NULL, k numeric);
INSERT INTO s.k_numeric (id, k) SELECT i, v::numeric FROM unnest(ARRAY[
	'0.5', '1', '1.0', '1.00', '1.000', '2', '2.0', '2.00', '2.5',
	'3', '3.0', '3.00', '3.000', '3.0000', '4.0', '4']) WITH ORDINALITY AS u(v, i);
CREATE INDEX ON s.k_citext (k); CREATE INDEX ON s.k_icu (k); CREATE INDEX ON s.k_numeric (k);`)

	for _, dialect := range []redshiftsync.Dialect{redshiftsync.DialectPostgres, redshiftsync.DialectRedshift} {
		for _, table := range []string{"k_citext", "k_icu", "k_numeric"} {
			for batch := 2; batch <= 5; batch++ {
				t.Run(fmt.Sprintf("%s/%s/batch%d", dialect, table, batch), func(t *testing.T) {
					cfg := configFor(t, dsn, "s")
					cfg.Dialect = dialect
					cfg.MaxParallelWorkers = 2
					cfg.BatchSize = batch
					cfg.TablesFromSpecs = true
					sink := newMemSink()
					specs := []redshiftsync.TableSpec{{Table: table, Strategy: redshiftsync.StrategyIncremental, ReplicationKey: "k"}}
					mustRun(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithTableSpecs(specs))
					want := sourceMap(t, db, `SELECT id::text, id::text FROM s.`+table)
					got := map[string]string{}
					for _, id := range sink.column("s."+table, "id") {
						got[id] = id
					}
					if d := diffMaps(want, got); d != "" {
						t.Errorf("%s", d)
					}
					if most := sink.maxDeliveries("s." + table); most != 1 {
						t.Errorf("a row was delivered %d times in one sync", most)
					}
				})
			}
		}
	}
}

// TestTieGroupWholePageServerEqual: a page made of one server-equal group
// whose texts differ, larger than a page, is read whole by the server's
// "=", and the rows after it follow.
func TestTieGroupWholePageServerEqual(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	pgtest.Exec(t, db, `
CREATE EXTENSION citext;
CREATE SCHEMA s;
CREATE TABLE s.g (id int NOT NULL, k citext);
INSERT INTO s.g SELECT i, CASE WHEN i <= 3 THEN 'a' || i WHEN i <= 40 THEN CASE i % 3 WHEN 0 THEN 'm@M' WHEN 1 THEN 'M@m' ELSE 'm@m' END ELSE 'z' || i END
FROM generate_series(1, 60) i;
CREATE INDEX ON s.g (k);`)
	cfg := configFor(t, dsn, "s")
	cfg.MaxParallelWorkers = 2
	cfg.BatchSize = 7
	cfg.TablesFromSpecs = true
	sink := newMemSink()
	specs := []redshiftsync.TableSpec{{Table: "g", Strategy: redshiftsync.StrategyIncremental, ReplicationKey: "k"}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ex, err := redshiftsync.NewFromDB(db, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithTableSpecs(specs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, id := range sink.column("s.g", "id") {
		n, _ := strconv.Atoi(id)
		ids = append(ids, n)
	}
	slices.Sort(ids)
	if len(ids) != 60 || ids[0] != 1 || ids[59] != 60 {
		t.Errorf("delivered %d rows of 60: %v", len(ids), ids)
	}
	if most := sink.maxDeliveries("s.g"); most != 1 {
		t.Errorf("a row was delivered %d times in one sync", most)
	}
}
