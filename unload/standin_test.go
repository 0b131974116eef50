// This file tests the reader against what the Redshift stand-in
// (internal/cmd/redshift-standin -s3) writes when it executes UNLOAD:
// Parquet parts and a verbose manifest typed as Redshift documents, read
// back value by value equal to the SQL path's rows of the same table.

package unload

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// standinS3 returns the stand-in's S3 endpoint and bucket (set by
// scripts/lib/standin.sh), skipping the test without them (failing it when
// REDSHIFTSYNC_REQUIRE_DB is set).
func standinS3(t *testing.T) (endpoint, bucket string) {
	t.Helper()
	endpoint, bucket = os.Getenv("REDSHIFTSYNC_TEST_S3_ENDPOINT"), os.Getenv("REDSHIFTSYNC_TEST_S3_BUCKET")
	if endpoint == "" || bucket == "" {
		if os.Getenv(pgtest.EnvRequireDB) != "" {
			t.Fatalf("%s is set, but REDSHIFTSYNC_TEST_S3_ENDPOINT or REDSHIFTSYNC_TEST_S3_BUCKET is empty: no stand-in S3 endpoint (run ./scripts/test, which starts one)", pgtest.EnvRequireDB)
		}
		t.Skip("needs the Redshift stand-in's S3 endpoint: run ./scripts/test")
	}
	return endpoint, bucket
}

// sqlPathRows syncs schema's tables through the stand-in with the library's
// SQL path and returns each table as discovered and its rows by the text of
// their first column.
func sqlPathRows(t *testing.T, schema string) (map[string]*redshiftsync.Table, map[string]map[string][]any) {
	t.Helper()
	cfg, err := redshiftsync.ConfigFromURL(pgtest.RedshiftDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = schema
	var mu sync.Mutex
	tables := map[string]*redshiftsync.Table{}
	rows := map[string]map[string][]any{}
	sink := redshiftsync.SinkFuncs{
		OpenFunc: func(_ context.Context, tb *redshiftsync.Table) error {
			mu.Lock()
			defer mu.Unlock()
			tables[tb.Name], rows[tb.Name] = tb, map[string][]any{}
			return nil
		},
		WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range b.Rows {
				rows[b.Table.Name][fmt.Sprint(r[0])] = append([]any(nil), r...)
			}
			return nil
		},
	}
	ex, err := redshiftsync.New(cfg, sink, &redshiftsync.MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := ex.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return tables, rows
}

// unloadSelect is the UNLOAD's SELECT of table: every column by name, the
// types UNLOAD cannot write to Parquet cast to VARCHAR (as the extractor
// does). VARBYTE is left out of the table: Redshift has no cast of it to
// VARCHAR (FROM_VARBYTE gives its hex text), and the stand-in has neither.
// So is INTERVAL: the stand-in runs the UNLOAD's SELECT with IntervalStyle
// iso_8601 ("P1Y2M3DT4H5M6S") where its SQL relay prints the session's
// style ("1 year 2 mons 3 days 04:05:06"), so the cast text differs
// (reported; the reader delivers the text as it arrives, see
// TestDecodeEveryType).
func unloadSelect(table *redshiftsync.Table) string {
	var cols []string
	for _, c := range table.Columns {
		q := `"` + c.Name + `"`
		switch {
		case c.Type == redshiftsync.TypeInterval, c.Type == redshiftsync.TypeBinary,
			strings.HasPrefix(c.SourceType, "geometry"), strings.HasPrefix(c.SourceType, "geography"), strings.HasPrefix(c.SourceType, "hllsketch"):
			cols = append(cols, "CAST("+q+" AS VARCHAR) AS "+q)
		default:
			cols = append(cols, q)
		}
	}
	return `SELECT ` + strings.Join(cols, ", ") + ` FROM "` + table.Schema + `"."` + table.Name + `"`
}

// TestStandinUnloadEqualsSQLPath: a table of every type UNLOAD writes to
// Parquet (and the cast ones), with extremes and NULLs, is read through
// the stand-in twice: by the library's SQL path, and by UNLOAD to the
// stand-in's S3 then Parts and ReadPart (the parts read concurrently).
// Every value of every row is equal, of the same Go type; Remove then
// leaves nothing under the location.
func TestStandinUnloadEqualsSQLPath(t *testing.T) {
	endpoint, bucket := standinS3(t)
	db := pgtest.Open(t)
	rs := pgtest.OpenDSN(t, pgtest.RedshiftDSN(t))
	pgtest.Exec(t, rs, `SELECT 1`) // the stand-in creates its Redshift types (varbyte, super) at a first connection
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.every (id int PRIMARY KEY, sm smallint, i int, b bigint,
  d9 numeric(9,2), d18 numeric(18,4), d38 numeric(38,10), d38z numeric(38,0), d20 numeric(20,5),
  r real, dp double precision, ok boolean, c char(5), vc varchar(40), tx text,
  dt date, ts timestamp, tz timestamptz, tm time, ttz timetz, g geometry);
INSERT INTO %[1]s.every VALUES
 (1, 1, 2, 3, 123.45, 0, 0.0000000001, -42, 1.5, 1.1, 1.1, true, 'ab', 'héllo, 世界', '', '2024-02-29',
  '2024-01-31 13:45:01.123456', '2024-06-01 00:00:00+00', '13:45:01.5', '10:35:00+00', '0101000020E6100000000000000000F03F0000000000000040'),
 (2, 32767, 2147483647, 9223372036854775807, 9999999.99, 99999999999999.9999,
  9999999999999999999999999999.9999999999, 99999999999999999999999999999999999999, 999999999999999.99999,
  3.4028235e38, 1.7976931348623157e308, false, 'abcde', '', 'x', '9999-12-31',
  '9999-12-31 23:59:59.999999', '3000-01-01 00:00:00.000001+00', '24:00:00', '23:59:59.999999+00', '010100000000000000000000000000000000000000'),
 (3, -32768, -2147483648, -9223372036854775808, -0.05, -0.0001,
  -9999999999999999999999999999.9999999999, -10000000000000000000000000000000000000, -0.00001,
  -1.17549435e-38, -4.9e-324, true, '', 'line
break ''quote'' \', 'y', '0001-01-01',
  '1969-12-31 23:59:59.999999', '1900-01-01 00:00:00.000001+00', '00:00:00', '00:00:00+00', NULL),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO %[1]s.every (id, i, d38, ts, vc, dt)
  SELECT g, g * 7, g * 1.0000000001, timestamp '2020-01-01' + g * interval '1 hour 1.5 second', 'row ' || g, date '1999-12-31' - g
  FROM generate_series(5, 800) g;`, s))
	tables, want := sqlPathRows(t, s)
	table := tables["every"]
	if table == nil || len(want["every"]) != 800 {
		t.Fatalf("the SQL path read %d rows of %v", len(want["every"]), table)
	}

	loc := fmt.Sprintf("s3://%s/%s/every/", bucket, s)
	stmt := fmt.Sprintf(`UNLOAD ('%s') TO '%s' IAM_ROLE 'arn:aws:iam::123456789012:role/unload-test' FORMAT PARQUET MANIFEST VERBOSE`,
		strings.ReplaceAll(unloadSelect(table), `'`, `''`), loc)
	pgtest.Exec(t, rs, stmt)

	ctx := context.Background()
	r, err := New(ctx, Options{Region: "us-east-1", Endpoint: endpoint, AccessKeyID: testKeyID, SecretAccessKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := r.Parts(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("%d parts: want several (one per slice)", len(parts))
	}
	var mu sync.Mutex
	got := map[string][]any{}
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = r.ReadPart(ctx, table, p, 64, 0, func(rows [][]any) error {
				mu.Lock()
				defer mu.Unlock()
				for _, row := range rows {
					k := fmt.Sprint(row[0])
					if got[k] != nil {
						return fmt.Errorf("row %s read twice", k)
					}
					got[k] = row
				}
				return nil
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want["every"]) {
		t.Errorf("%d rows unloaded, the SQL path read %d", len(got), len(want["every"]))
	}
	bad := 0
	for k, w := range want["every"] {
		g := got[k]
		if g == nil {
			t.Errorf("row %s: not unloaded", k)
			continue
		}
		for j, c := range table.Columns {
			if !reflect.DeepEqual(g[j], w[j]) {
				if bad++; bad <= 30 {
					t.Errorf("row %s column %s (%s, %s): unloaded %T %s, SQL path %T %s", k, c.Name, c.SourceType, c.Type, g[j], show(g[j]), w[j], show(w[j]))
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d values differ", bad)
	}

	if err := r.Remove(ctx, loc); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Parts(ctx, loc); err == nil || !strings.Contains(err.Error(), "no manifest") {
		t.Fatalf("Parts after Remove: %v, want no manifest", err)
	}
}
