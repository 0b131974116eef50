// Tests of UNLOAD through the stand-in: parts and manifest in the
// documented layout, the Parquet types of the documented mapping read back
// with parquet-go, the rejections, the destination rules, quoting, and
// credentials kept out of logs.

package standin_test

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/standin"
	"github.com/seed2085993a/redshiftsync/internal/standin/s3stub"
	"github.com/seed2085993a/redshiftsync/internal/testlog"
)

const unloadBucket = "redshiftsync-unload"

// startUnload runs a stand-in that executes UNLOAD into an in-process S3
// (served over HTTP too), logging at Debug into the returned buffer.
func startUnload(t *testing.T, cfg standin.UnloadConfig) (*sql.DB, *s3stub.Server, *testlog.Buffer, string) {
	t.Helper()
	store, err := s3stub.Listen("127.0.0.1:0", []string{unloadBucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	logs := &testlog.Buffer{}
	s, err := standin.Listen(pgtest.DSN(t), "127.0.0.1:0", slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	cfg.Store = store
	s.EnableUnload(cfg)
	return pgtest.OpenDSN(t, s.URL()), store, logs, s.URL()
}

// unloadManifest is the verbose manifest as AWS documents it.
type unloadManifest struct {
	Entries []struct {
		URL  string `json:"url"`
		Meta struct {
			ContentLength int64 `json:"content_length"`
			RecordCount   int64 `json:"record_count"`
		} `json:"meta"`
	} `json:"entries"`
	Schema struct {
		Elements []struct {
			Name string `json:"name"`
			Type struct {
				Base      string `json:"base"`
				Length    int    `json:"length"`
				Precision int    `json:"precision"`
				Scale     int    `json:"scale"`
			} `json:"type"`
		} `json:"elements"`
	} `json:"schema"`
	Meta struct {
		ContentLength int64 `json:"content_length"`
		RecordCount   int64 `json:"record_count"`
	} `json:"meta"`
	Author struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"author"`
}

// getObject reads an object over the stub's HTTP endpoint, as a client does.
func getObject(t *testing.T, store *s3stub.Server, key string) []byte {
	t.Helper()
	resp, err := http.Get(store.URL() + "/" + unloadBucket + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %s", key, resp.StatusCode, err, b)
	}
	return b
}

func readManifest(t *testing.T, store *s3stub.Server, prefix string) unloadManifest {
	t.Helper()
	var m unloadManifest
	if err := json.Unmarshal(getObject(t, store, prefix+"manifest"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readParts reads every part the manifest lists, checks its entry
// (content_length, record_count), and returns the files' schema and rows.
func readParts(t *testing.T, store *s3stub.Server, m unloadManifest) (*parquet.Schema, []parquet.Row) {
	t.Helper()
	var schema *parquet.Schema
	var rows []parquet.Row
	var size, count int64
	for _, e := range m.Entries {
		key := strings.TrimPrefix(e.URL, "s3://"+unloadBucket+"/")
		body := getObject(t, store, key)
		if int64(len(body)) != e.Meta.ContentLength {
			t.Errorf("%s: content_length %d, file has %d bytes", key, e.Meta.ContentLength, len(body))
		}
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if f.NumRows() != e.Meta.RecordCount {
			t.Errorf("%s: record_count %d, file has %d rows", key, e.Meta.RecordCount, f.NumRows())
		}
		for _, rg := range f.Metadata().RowGroups {
			for _, c := range rg.Columns {
				if c.MetaData.Codec != format.Snappy {
					t.Errorf("%s: column %v compressed with %v, not SNAPPY", key, c.MetaData.PathInSchema, c.MetaData.Codec)
				}
			}
		}
		if schema == nil {
			schema = f.Schema()
		} else if !parquet.EqualNodes(schema, f.Schema()) {
			t.Errorf("%s: schema differs from the first part's", key)
		}
		r := parquet.NewReader(f)
		buf := make([]parquet.Row, 64)
		for {
			n, err := r.ReadRows(buf)
			for _, row := range buf[:n] {
				rows = append(rows, row.Clone())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
		}
		size += e.Meta.ContentLength
		count += e.Meta.RecordCount
	}
	if m.Meta.ContentLength != size || m.Meta.RecordCount != count {
		t.Errorf("manifest meta %+v, entries add up to %d bytes, %d records", m.Meta, size, count)
	}
	return schema, rows
}

// TestUnloadBasic: the path the library's reader is built on. UNLOAD of
// integer, text, timestamp and decimal columns writes one part per slice,
// <prefix>NNNN_part_00.parquet, and the verbose manifest at
// <prefix>manifest; the client gets Redshift's INFO and the UNLOAD tag.
func TestUnloadBasic(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 4})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.t (id integer, name varchar(20), at timestamp, price numeric(10,2));
		INSERT INTO %[1]s.t SELECT i, 'n' || i, timestamp '2026-01-02 03:04:05.123456' + i * interval '1 day', i * 1.25 FROM generate_series(1, 10) i;
		INSERT INTO %[1]s.t VALUES (11, NULL, NULL, NULL)`, s))

	var notices []string
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error {
		pq.SetNoticeHandler(dc.(driver.Conn), func(e *pq.Error) { notices = append(notices, string(e.Severity)+": "+e.Message) })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := conn.ExecContext(t.Context(), fmt.Sprintf(`UNLOAD ('SELECT id, name, at, price FROM %s.t ORDER BY id') TO 's3://%s/basic/t_'
		IAM_ROLE 'arn:aws:iam::0123456789012:role/MyRedshiftRole' FORMAT PARQUET MANIFEST VERBOSE`, s, unloadBucket))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); n != 0 || err != nil {
		t.Errorf("RowsAffected %d %v", n, err)
	}
	if want := []string{"INFO: UNLOAD completed, 11 record(s) unloaded successfully."}; !slices.Equal(notices, want) {
		t.Errorf("notices %q, want %q", notices, want)
	}
	keys, err := store.ListKeys(unloadBucket, "basic/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"basic/t_0000_part_00.parquet", "basic/t_0001_part_00.parquet", "basic/t_0002_part_00.parquet", "basic/t_0003_part_00.parquet", "basic/t_manifest"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	m := readManifest(t, store, "basic/t_")
	if m.Author.Name != "Amazon Redshift" || m.Meta.RecordCount != 11 || len(m.Entries) != 4 {
		t.Errorf("manifest %+v", m)
	}
	schema, rows := readParts(t, store, m)
	if len(rows) != 11 {
		t.Fatalf("%d rows", len(rows))
	}
	if got := schema.Fields()[0].Name(); got != "id" {
		t.Errorf("first column %q", got)
	}
	slices.SortFunc(rows, func(a, b parquet.Row) int { return int(a[0].Int32() - b[0].Int32()) })
	for i, r := range rows {
		id := i + 1
		if r[0].Int32() != int32(id) {
			t.Fatalf("row %d: id %v", i, r[0])
		}
		if id == 11 {
			if !r[1].IsNull() || !r[2].IsNull() || !r[3].IsNull() {
				t.Errorf("row 11 not null: %v", r)
			}
			continue
		}
		if got := string(r[1].ByteArray()); got != fmt.Sprintf("n%d", id) {
			t.Errorf("name %q", got)
		}
		wantAt := time.Date(2026, 1, 2+id, 3, 4, 5, 123456000, time.UTC)
		if got := int96Time(r[2].Int96()); !got.Equal(wantAt) {
			t.Errorf("at %v, want %v", got, wantAt)
		}
		if got, want := r[3].Int64(), int64(id*125); got != want {
			t.Errorf("price unscaled %d, want %d", got, want)
		}
	}
}

// int96Time decodes Parquet's INT96 timestamp (nanoseconds of the day, then
// the Julian day).
func int96Time(v deprecated.Int96) time.Time {
	nanos := int64(v[0]) | int64(v[1])<<32
	return time.Unix((int64(v[2])-2440588)*86400, nanos).UTC()
}

// TestUnloadTypes: a table with every type the stand-in serves that UNLOAD
// writes to Parquet comes back with doc.go's mapping as its Parquet schema
// (physical and logical types, every column optional, in the query's
// order), each value equal to the source's.
func TestUnloadTypes(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 2})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE DOMAIN %s.super AS text;
		CREATE TABLE %[1]s.all_types (
			id integer NOT NULL, i2 smallint, i8 bigint, d5 numeric(5,2), d15 numeric(15,3), d38 numeric(38,10),
			f4 real, f8 double precision, b boolean, c char(5), v varchar(30), tx text, dt date,
			ts timestamp, tstz timestamptz, tm time, tmtz timetz, sup %[1]s.super);
		INSERT INTO %[1]s.all_types VALUES
			(1, -32768, 9223372036854775807, -999.99, 123456789012.345, -1234567890123456789012345678.0123456789,
			 1.5, -2.25, true, 'ab', 'x', 'long text', '2026-02-28',
			 '1999-12-31 23:59:59.999999', '2026-06-01 12:00:00+02', '13:14:15.5', '10:00:00-03:30', '{"a": [1, 2], "b": "x"}'),
			(2, 32767, -1, 0.01, -0.001, 99999999999999999999999999.9999999999,
			 -0.125, 1e300, false, 'abcde', '', '', '1970-01-01',
			 '1970-01-01 00:00:00', '1969-12-31 23:59:59.5+00', '00:00:00', '23:30:00+01', '"s"'),
			(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`, s))
	pgtest.Exec(t, db, fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.all_types') TO 's3://%s/types/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, s, unloadBucket))
	m := readManifest(t, store, "types/")
	schema, rows := readParts(t, store, m)
	wantSchema := `message schema {
	optional int32 id (INT(32,true));
	optional int32 i2 (INT(16,true));
	optional int64 i8 (INT(64,true));
	optional int32 d5 (DECIMAL(5,2));
	optional int64 d15 (DECIMAL(15,3));
	optional fixed_len_byte_array(16) d38 (DECIMAL(38,10));
	optional float f4;
	optional double f8;
	optional boolean b;
	optional binary c (STRING);
	optional binary v (STRING);
	optional binary tx (STRING);
	optional int32 dt (DATE);
	optional int96 ts;
	optional int96 tstz;
	optional int64 tm (TIME(isAdjustedToUTC=false,unit=MICROS));
	optional int64 tmtz (TIME(isAdjustedToUTC=true,unit=MICROS));
	optional binary sup (JSON);
}`
	if got := schema.String(); got != wantSchema {
		t.Errorf("Parquet schema:\n%s\nwant:\n%s", got, wantSchema)
	}
	type el struct {
		Name, Base          string
		Length, Prec, Scale int
	}
	var els []el
	for _, e := range m.Schema.Elements {
		els = append(els, el{e.Name, e.Type.Base, e.Type.Length, e.Type.Precision, e.Type.Scale})
	}
	wantEls := []el{{"id", "integer", 0, 0, 0}, {"i2", "smallint", 0, 0, 0}, {"i8", "bigint", 0, 0, 0},
		{"d5", "numeric", 0, 5, 2}, {"d15", "numeric", 0, 15, 3}, {"d38", "numeric", 0, 38, 10},
		{"f4", "real", 0, 0, 0}, {"f8", "double precision", 0, 0, 0}, {"b", "boolean", 0, 0, 0},
		{"c", "character", 5, 0, 0}, {"v", "character varying", 30, 0, 0}, {"tx", "character varying", 256, 0, 0},
		{"dt", "date", 0, 0, 0}, {"ts", "timestamp without time zone", 0, 0, 0}, {"tstz", "timestamp with time zone", 0, 0, 0},
		{"tm", "time without time zone", 0, 0, 0}, {"tmtz", "time with time zone", 0, 0, 0}, {"sup", "super", 0, 0, 0}}
	if !slices.Equal(els, wantEls) {
		t.Errorf("manifest schema %+v\nwant %+v", els, wantEls)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	slices.SortFunc(rows, func(a, b parquet.Row) int { return int(a[0].Int32() - b[0].Int32()) })
	dec := func(s string) *big.Int {
		n, _ := new(big.Int).SetString(s, 10)
		return n
	}
	flba := func(v parquet.Value) *big.Int {
		b := v.ByteArray()
		n := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		return n
	}
	utc := func(y int, mo time.Month, d, h, mi, sec, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, sec, ns, time.UTC)
	}
	days := func(y int, mo time.Month, d int) int32 { return int32(utc(y, mo, d, 0, 0, 0, 0).Unix() / 86400) }
	type vals struct {
		i2       int32
		i8       int64
		d5       int32
		d15      int64
		d38      *big.Int
		f4       float32
		f8       float64
		b        bool
		c, v, tx string
		dt       int32
		ts, tstz time.Time
		tm, tmtz int64
		sup      string
	}
	want := []vals{
		{-32768, 9223372036854775807, -99999, 123456789012345, dec("-12345678901234567890123456780123456789"),
			1.5, -2.25, true, "ab   ", "x", "long text", days(2026, 2, 28),
			utc(1999, 12, 31, 23, 59, 59, 999999000), utc(2026, 6, 1, 10, 0, 0, 0), (13*3600+14*60+15)*1e6 + 500000, (13*3600 + 30*60) * 1e6, `{"a":[1,2],"b":"x"}`},
		{32767, -1, 1, -1, dec("999999999999999999999999999999999999"),
			-0.125, 1e300, false, "abcde", "", "", 0,
			utc(1970, 1, 1, 0, 0, 0, 0), utc(1969, 12, 31, 23, 59, 59, 500000000), 0, (22*3600 + 30*60) * 1e6, `"s"`},
	}
	for i, w := range want {
		r := rows[i]
		got := vals{r[1].Int32(), r[2].Int64(), r[3].Int32(), r[4].Int64(), flba(r[5]), r[6].Float(), r[7].Double(), r[8].Boolean(),
			string(r[9].ByteArray()), string(r[10].ByteArray()), string(r[11].ByteArray()), r[12].Int32(),
			int96Time(r[13].Int96()), int96Time(r[14].Int96()), r[15].Int64(), r[16].Int64(), string(r[17].ByteArray())}
		if got.d38.Cmp(w.d38) != 0 {
			t.Errorf("row %d: d38 %v, want %v", i+1, got.d38, w.d38)
		}
		got.d38, w.d38 = nil, nil
		if !got.ts.Equal(w.ts) || !got.tstz.Equal(w.tstz) {
			t.Errorf("row %d: ts %v tstz %v, want %v %v", i+1, got.ts, got.tstz, w.ts, w.tstz)
		}
		got.ts, got.tstz, w.ts, w.tstz = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if got != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i+1, got, w)
		}
	}
	for k, v := range rows[2][1:] {
		if !v.IsNull() {
			t.Errorf("row 3 column %d: %v, want NULL", k+1, v)
		}
	}
}

// TestUnloadRejects: the combinations r_UNLOAD says cannot go together,
// the types it writes only to text, an outer LIMIT, and what the inner
// query's analysis rejects, each answered with its error and nothing
// written.
func TestUnloadRejects(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE DOMAIN %s.hllsketch AS text;
		CREATE TABLE %[1]s.sp (id int, g geometry, vb varbyte, h %[1]s.hllsketch, iv interval, n numeric);
		INSERT INTO %[1]s.sp VALUES (1, NULL, NULL, NULL, NULL, NULL)`, s))
	to := fmt.Sprintf(`TO 's3://%s/rej/'`, unloadBucket)
	role := `IAM_ROLE 'arn:aws:iam::0123456789012:role/R'`
	sel := `UNLOAD ('SELECT 1 AS x') ` + to + ` `
	conflict := func(a, b string) string { return "UNLOAD: " + a + " cannot be used with " + b + " (r_UNLOAD)" }
	for _, c := range []struct{ sql, code, msg string }{
		{sel + role + ` PARQUET DELIMITER '|'`, "0A000", conflict("PARQUET", "DELIMITER")},
		{sel + role + ` FORMAT AS PARQUET FIXEDWIDTH 'x:1'`, "0A000", conflict("PARQUET", "FIXEDWIDTH")},
		{sel + role + ` PARQUET ADDQUOTES`, "0A000", conflict("PARQUET", "ADDQUOTES")},
		{sel + role + ` PARQUET ESCAPE`, "0A000", conflict("PARQUET", "ESCAPE")},
		{sel + role + ` PARQUET NULL AS 'x'`, "0A000", conflict("PARQUET", "NULL AS")},
		{sel + role + ` HEADER FORMAT PARQUET`, "0A000", conflict("PARQUET", "HEADER")},
		{sel + role + ` PARQUET GZIP`, "0A000", conflict("PARQUET", "GZIP")},
		{sel + role + ` PARQUET BZIP2`, "0A000", conflict("PARQUET", "BZIP2")},
		{sel + role + ` PARQUET ZSTD`, "0A000", conflict("PARQUET", "ZSTD")},
		{sel + role + ` PARQUET ENCRYPTED`, "0A000", "UNLOAD: PARQUET with ENCRYPTED is only supported with server-side encryption with an AWS KMS key (KMS_KEY_ID) (r_UNLOAD)"},
		{sel + role + ` PARQUET ENCRYPTED MASTER_SYMMETRIC_KEY 'k'`, "0A000", "UNLOAD: PARQUET with ENCRYPTED is only supported with server-side encryption with an AWS KMS key (KMS_KEY_ID) (r_UNLOAD)"},
		{sel + role + ` CSV FIXEDWIDTH 'x:1'`, "0A000", conflict("CSV", "FIXEDWIDTH")},
		{sel + role + ` JSON HEADER`, "0A000", conflict("JSON", "HEADER")},
		{sel + role + ` FIXEDWIDTH 'x:1' DELIMITER ','`, "0A000", conflict("FIXEDWIDTH", "DELIMITER")},
		{sel + role + ` PARQUET CLEANPATH ALLOWOVERWRITE`, "0A000", conflict("CLEANPATH", "ALLOWOVERWRITE")},
		{sel + role + ` PARQUET KMS_KEY_ID 'k'`, "0A000", "UNLOAD: KMS_KEY_ID requires ENCRYPTED (r_UNLOAD)"},
		{sel + `CREDENTIALS 'aws_access_key_id=A;aws_secret_access_key=B' PARQUET ENCRYPTED KMS_KEY_ID 'k'`, "0A000", conflict("KMS_KEY_ID", "CREDENTIALS")},
		{sel + role + ` ACCESS_KEY_ID 'A' SECRET_ACCESS_KEY 'B' PARQUET`, "0A000", conflict("IAM_ROLE", "ACCESS_KEY_ID, SECRET_ACCESS_KEY or SESSION_TOKEN")},
		{sel + role + ` CREDENTIALS 'aws_iam_role=arn:aws:iam::0123456789012:role/R' PARQUET`, "0A000", conflict("IAM_ROLE", "CREDENTIALS")},
		{sel + `ACCESS_KEY_ID 'A' PARQUET`, "XX000", "UNLOAD: ACCESS_KEY_ID and SECRET_ACCESS_KEY must be given together (copy-parameters-authorization)"},
		{sel + `PARQUET`, "XX000", "UNLOAD: no authorization: give IAM_ROLE, ACCESS_KEY_ID and SECRET_ACCESS_KEY, or CREDENTIALS (copy-parameters-authorization)"},
		{sel + `IAM_ROLE 'MyRole' PARQUET`, "XX000", "UNLOAD: IAM_ROLE is not a role ARN (arn:aws:iam::<account-id>:role/<role-name>) (copy-parameters-authorization)"},
		{sel + role + ` PARQUET MAXFILESIZE 4 MB`, "XX000", "UNLOAD: MAXFILESIZE 4 MB is out of range: give a value between 5 MB and 6.2 GB (r_UNLOAD)"},
		{sel + role + ` PARQUET MAXFILESIZE AS 6.3 GB`, "XX000", "UNLOAD: MAXFILESIZE 6451.2 MB is out of range: give a value between 5 MB and 6.2 GB (r_UNLOAD)"},
		{sel + role + ` PARQUET ROWGROUPSIZE 16 MB`, "XX000", "UNLOAD: ROWGROUPSIZE 16 MB is out of range: give an integer between 32 MB and 128 MB (r_UNLOAD)"},
		{sel + role + ` CSV ROWGROUPSIZE 64`, "0A000", "UNLOAD: ROWGROUPSIZE requires FORMAT PARQUET (r_UNLOAD)"},
		{sel + role + ` PARQUET PARQUET`, "42601", "conflicting or redundant options: PARQUET is given twice"},
		{sel + role + ` PARQUET VERBOSE`, "42601", `syntax error at or near "VERBOSE"`},
		{`UNLOAD ('SELECT 1') TO 'https://x/y' ` + role + ` PARQUET`, "XX000", `UNLOAD: TO "https://x/y" is not an Amazon S3 location: give s3://bucket/name-prefix (r_UNLOAD)`},
		{`UNLOAD ('SELECT 1') TO 's3://no-such-bucket/p/' ` + role + ` PARQUET`, "XX000", "S3ServiceException:redshift-standin: list s3://no-such-bucket/p/: NoSuchBucket: The specified bucket does not exist"},
		{fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.sp LIMIT 10') %s %s PARQUET`, s, to, role), "0A000", "Limit clause is not supported in the outermost select of an UNLOAD statement"},
		{fmt.Sprintf(`UNLOAD ('SELECT version(), id FROM %s.sp') %s %s PARQUET`, s, to, role), "0A000", "Specified types or functions (one per INFO message) not supported on Redshift tables."},
		{fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.sp WHERE (id, id) > (0, 0)') %s %s PARQUET`, s, to, role), "0A000", "row value constructors and row comparisons are not supported"},
		{fmt.Sprintf(`UNLOAD ('SELECT id, g FROM %s.sp') %s %s PARQUET`, s, to, role), "0A000", `UNLOAD: column "g" is of type GEOMETRY, which UNLOAD writes only to text or CSV (r_UNLOAD usage notes): cast it in the query`},
		{fmt.Sprintf(`UNLOAD ('SELECT vb FROM %s.sp') %s %s PARQUET`, s, to, role), "0A000", `UNLOAD: column "vb" is of type VARBYTE, which UNLOAD writes only to text or CSV (r_UNLOAD usage notes): cast it in the query`},
		{fmt.Sprintf(`UNLOAD ('SELECT h FROM %s.sp') %s %s PARQUET`, s, to, role), "0A000", `UNLOAD: column "h" is of type HLLSKETCH, which UNLOAD writes only to text or CSV (r_UNLOAD usage notes): cast it in the query`},
		{fmt.Sprintf(`UNLOAD ('SELECT iv FROM %s.sp') %s %s PARQUET`, s, to, role), "0A000", `UNLOAD: column "iv" is of type INTERVAL, which the stand-in does not write to Parquet (AWS documents no Parquet form for it): cast it in the query`},
		{fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.nope') %s %s PARQUET`, s, to, role), "42P01", fmt.Sprintf(`relation "%s.nope" does not exist`, s)},
		{sel + role + ` PARQUET; SELECT 1`, "0A000", "redshift-standin: send UNLOAD alone, not with other statements in one text"},
		{sel + role, "0A000", "redshift-standin: UNLOAD executes FORMAT PARQUET only (text, CSV and JSON are not implemented)"},
	} {
		_, err := db.Exec(c.sql)
		if err == nil {
			t.Errorf("%s: accepted", c.sql)
			continue
		}
		if e := pqErr(t, err); string(e.Code) != c.code || e.Message != c.msg {
			t.Errorf("%s:\n got %s %s\nwant %s %s", c.sql, e.Code, e.Message, c.code, c.msg)
		}
	}
	if keys, err := store.ListKeys(unloadBucket, ""); err != nil || len(keys) != 0 {
		t.Errorf("rejected UNLOADs wrote %q (%v)", keys, err)
	}
	// The accepted forms of the same statement work.
	for _, opts := range []string{role + ` PARQUET`, `ACCESS_KEY_ID 'A' SECRET_ACCESS_KEY 'B' SESSION_TOKEN 'C' FORMAT AS PARQUET ALLOWOVERWRITE`,
		`CREDENTIALS 'aws_access_key_id=A;aws_secret_access_key=B' PARQUET ALLOWOVERWRITE MAXFILESIZE 5.5`,
		`WITH CREDENTIALS AS 'aws_iam_role=arn:aws:iam::0123456789012:role/R' PARQUET CLEANPATH PARALLEL OFF MAXFILESIZE AS 6.2 GB ROWGROUPSIZE 128 MB`,
		`IAM_ROLE default PARQUET ENCRYPTED KMS_KEY_ID '1234' ALLOWOVERWRITE REGION 'us-east-1' MANIFEST`} {
		if _, err := db.Exec(sel + opts); err != nil {
			t.Errorf("%s: %v", opts, err)
		}
	}
}

// literal quotes v as a string literal Redshift reads back as v: quotes
// doubled, and backslashes doubled (Redshift reads a backslash in '…' as an
// escape).
func literal(v string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `''`) + "'"
}

// unloadKeys lists the keys under prefix.
func unloadKeys(t *testing.T, store *s3stub.Server, prefix string) []string {
	t.Helper()
	keys, err := store.ListKeys(unloadBucket, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestUnloadQuoting: the query is a literal inside the statement, so a
// literal inside the query is quoted twice, and Redshift reads a backslash
// as an escape at both levels (r_UNLOAD: quotes doubled, or \' as in the
// documented ('select * from venue where venuestate=\'NV\”)). Hostile
// values (quotes, backslashes, a comment and a semicolon) select exactly
// their row; quoting that forgets a level selects nothing.
func TestUnloadQuoting(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 1})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	hostile := []string{`O'Brien`, `back\slash`, `\'; DROP TABLE x; --`, `''\\''`, `NV`, `tab\tnot`, `end\`}
	admin := pgtest.Open(t)
	pgtest.Exec(t, admin, fmt.Sprintf(`CREATE TABLE %s.q (id int, v text)`, s))
	for i, v := range hostile {
		pgtest.Exec(t, admin, fmt.Sprintf(`INSERT INTO %s.q VALUES ($1, $2)`, s), i, v)
	}
	unload := func(prefix, query string) []parquet.Row {
		t.Helper()
		pgtest.Exec(t, db, fmt.Sprintf(`UNLOAD (%s) TO 's3://%s/%s' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, literal(query), unloadBucket, prefix))
		if len(unloadKeys(t, store, prefix)) == 0 {
			return nil
		}
		_, rows := readParts(t, store, readManifest(t, store, prefix))
		return rows
	}
	for i, v := range hostile {
		rows := unload(fmt.Sprintf("q%d/", i), fmt.Sprintf(`SELECT id, v FROM %s.q WHERE v = %s`, s, literal(v)))
		if len(rows) != 1 || rows[0][0].Int32() != int32(i) || string(rows[0][1].ByteArray()) != v {
			t.Errorf("%q: rows %v", v, rows)
		}
	}
	// r_UNLOAD's own example: \' for a quote inside the query.
	pgtest.Exec(t, db, fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.q WHERE v = \'NV\'') TO 's3://%s/nv/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, s, unloadBucket))
	if _, rows := readParts(t, store, readManifest(t, store, "nv/")); len(rows) != 1 || rows[0][0].Int32() != 4 {
		t.Errorf(`\'NV\': rows %v`, rows)
	}
	// Escaping the inner literal's backslash once only (as PostgreSQL's
	// standard strings would): Redshift reads \s as s, and no row matches.
	if rows := unload("once/", fmt.Sprintf(`SELECT id FROM %s.q WHERE v = '%s'`, s, `back\slash`)); rows != nil {
		t.Errorf("single-level backslash matched %v", rows)
	}
}

// TestUnloadDestination: UNLOAD fails on a prefix that holds files, unless
// ALLOWOVERWRITE (which replaces what it writes, the manifest included) or
// CLEANPATH (which removes everything under the prefix first); an empty
// result writes neither parts nor manifest.
func TestUnloadDestination(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 2})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.d (id int); INSERT INTO %[1]s.d SELECT generate_series(1, 5)`, s))
	stmt := fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.d WHERE id <= %%d') TO 's3://%s/dest/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, s, unloadBucket)
	pgtest.Exec(t, db, fmt.Sprintf(stmt, 5))
	_, err := db.Exec(fmt.Sprintf(stmt, 5))
	if e := pqErr(t, err); e.Code != "XX000" || !strings.HasPrefix(e.Message, "Specified unload destination on S3 is not empty.") {
		t.Errorf("second UNLOAD: %s %s", e.Code, e.Message)
	}
	// A stray file under the prefix also counts.
	if err := store.PutObject(unloadBucket, "dest/stray.csv", []byte("x")); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, fmt.Sprintf(stmt, 3)+" ALLOWOVERWRITE")
	if m := readManifest(t, store, "dest/"); m.Meta.RecordCount != 3 {
		t.Errorf("ALLOWOVERWRITE: manifest counts %d records", m.Meta.RecordCount)
	}
	if !slices.Contains(unloadKeys(t, store, "dest/"), "dest/stray.csv") {
		t.Error("ALLOWOVERWRITE removed a file it did not write")
	}
	pgtest.Exec(t, db, fmt.Sprintf(stmt, 1)+" CLEANPATH")
	want := []string{"dest/0000_part_00.parquet", "dest/manifest"}
	if keys := unloadKeys(t, store, "dest/"); !slices.Equal(keys, want) {
		t.Errorf("CLEANPATH left %q, want %q", keys, want)
	}
	// No row: no file, no manifest.
	pgtest.Exec(t, db, strings.Replace(fmt.Sprintf(stmt, 0), "dest/", "empty/", 1))
	if keys := unloadKeys(t, store, "empty/"); len(keys) != 0 {
		t.Errorf("empty result wrote %q", keys)
	}
}

// TestUnloadFileSizes: MAXFILESIZE cuts a slice's output into part_00,
// part_01, … of whole 32-MB row groups (rounded down; MB scaled down here
// so a small table fills several), and PARALLEL OFF writes 000.parquet,
// 001.parquet, … in the query's order.
func TestUnloadFileSizes(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 2, MB: 16})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.big (id int, pad text); INSERT INTO %[1]s.big SELECT i, repeat('x', 20) FROM generate_series(1, 2000) i`, s))
	// 32 MB = 512 bytes here: a row group every ~20 rows; MAXFILESIZE 100
	// MB rounds down to 96 MB, three row groups a file.
	pgtest.Exec(t, db, fmt.Sprintf(`UNLOAD ('SELECT id, pad FROM %s.big ORDER BY id') TO 's3://%s/sized/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE MAXFILESIZE 100 MB`, s, unloadBucket))
	m := readManifest(t, store, "sized/")
	parts := map[string]int{}
	for _, e := range m.Entries {
		key := strings.TrimPrefix(e.URL, "s3://"+unloadBucket+"/sized/")
		parts[key[:4]]++
		body := getObject(t, store, "sized/"+key)
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(f.RowGroups()); n > 3 {
			t.Errorf("%s: %d row groups, MAXFILESIZE allows 3", key, n)
		}
		if want := fmt.Sprintf("%s_part_%02d.parquet", key[:4], parts[key[:4]]-1); key != want {
			t.Errorf("part %q, want %q (parts of a slice numbered in order)", key, want)
		}
	}
	if len(parts) != 2 || parts["0000"] < 3 || parts["0001"] < 3 {
		t.Errorf("parts per slice %v", parts)
	}
	if _, rows := readParts(t, store, m); len(rows) != 2000 {
		t.Errorf("%d rows", len(rows))
	}

	pgtest.Exec(t, db, fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.big ORDER BY id') TO 's3://%s/serial_' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE PARALLEL OFF MAXFILESIZE 5 MB`, s, unloadBucket))
	m = readManifest(t, store, "serial_")
	if len(m.Entries) < 2 {
		t.Fatalf("PARALLEL OFF wrote %d files", len(m.Entries))
	}
	for i, e := range m.Entries {
		if want := fmt.Sprintf("s3://%s/serial_%03d.parquet", unloadBucket, i); e.URL != want {
			t.Errorf("file %d: %s, want %s", i, e.URL, want)
		}
	}
	_, rows := readParts(t, store, m)
	for i, r := range rows {
		if r[0].Int32() != int32(i+1) {
			t.Fatalf("PARALLEL OFF row %d is id %d: not in ORDER BY order", i, r[0].Int32())
		}
	}
}

// TestUnloadCredentialsNotLogged: the stand-in logs UNLOADs (executed and
// rejected, at Debug) with every credential literal replaced, whichever
// form carries it and wherever the statement fails; what the upstream is
// sent in the UNLOAD's place holds none either.
func TestUnloadCredentialsNotLogged(t *testing.T) {
	db, _, logs, _ := startUnload(t, standin.UnloadConfig{})
	secrets := []string{"AKIASECRETKEYID0001", "wJalrXUtnFEMIsecretkey0002", "sessiontoken0003", "role-secret-0004", "masterkey0005", "credsecret0006"}
	to := fmt.Sprintf(`TO 's3://%s/creds/'`, unloadBucket)
	for _, stmt := range []string{
		`UNLOAD ('SELECT 1 AS x') ` + to + ` ACCESS_KEY_ID 'AKIASECRETKEYID0001' SECRET_ACCESS_KEY 'wJalrXUtnFEMIsecretkey0002' SESSION_TOKEN 'sessiontoken0003' PARQUET`,
		`UNLOAD ('SELECT 1 AS x') ` + to + ` IAM_ROLE 'arn:aws:iam::0123456789012:role/role-secret-0004' PARQUET ALLOWOVERWRITE`,
		`UNLOAD ('SELECT 1 AS x') ` + to + ` CREDENTIALS 'aws_access_key_id=AKIASECRETKEYID0001;aws_secret_access_key=credsecret0006' PARQUET`,
		`UNLOAD ('SELECT 1 AS x') ` + to + ` IAM_ROLE 'arn:aws:iam::0123456789012:role/role-secret-0004' PARQUET ENCRYPTED MASTER_SYMMETRIC_KEY 'masterkey0005'`,
		`UNLOAD ('SELECT 1 AS x') ` + to + ` ACCESS_KEY_ID 'AKIASECRETKEYID0001' SECRET_ACCESS_KEY 'wJalrXUtnFEMIsecretkey0002' PARQUET GZIP`,
		`UNLOAD ('SELECT 1 AS x') ` + to + ` ACCESS_KEY_ID 'AKIASECRETKEYID0001' SECRET_ACCESS_KEY 'wJalrXUtnFEMIsecretkey0002`,
		`UNLOAD ('SELECT 1 AS x') ` + to + ` ACCESS_KEY_ID 'AKIASECRETKEYID0001' SECRET_ACCESS_KEY 'wJalrXUtnFEMIsecretkey0002' PARQUET; SELECT 1`,
		`UNLOAD ('SELECT nope') ` + to + ` IAM_ROLE 'arn:aws:iam::0123456789012:role/role-secret-0004' PARQUET ALLOWOVERWRITE`,
	} {
		_, _ = db.Exec(stmt)
	}
	out := logs.String()
	if !strings.Contains(out, "msg=unloaded") || !strings.Contains(out, "msg=rejected") {
		t.Fatalf("the UNLOADs were not logged:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log shows %q:\n%s", s, out)
		}
	}
	// Nor did the upstream receive them (its statement log would keep
	// them): none is in pg_stat_activity's last statements.
	for _, s := range secrets {
		if n := pgtest.QueryValue[int](t, pgtest.Open(t), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, s); n != 0 {
			t.Errorf("the upstream was sent %q", s)
		}
	}
}

// TestUnloadPrivilegesAndProtocols: the inner query runs with the client's
// role (a role without SELECT is refused as the same SELECT is), UNLOAD
// works through the extended protocol (a prepared statement), and in an
// aborted transaction it is refused like any statement, writing nothing.
func TestUnloadPrivilegesAndProtocols(t *testing.T) {
	db, store, _, u := startUnload(t, standin.UnloadConfig{Slices: 2})
	admin := pgtest.Open(t)
	s := pgtest.NewSchema(t, admin)
	role := strings.ToLower(s) + "_u"
	pgtest.Exec(t, admin, fmt.Sprintf(`CREATE TABLE %[2]s.p (id int); INSERT INTO %[2]s.p VALUES (1), (2);
		CREATE ROLE %[1]s LOGIN; GRANT USAGE ON SCHEMA %[2]s TO %[1]s`, role, s))
	t.Cleanup(func() { pgtest.Exec(t, admin, fmt.Sprintf(`DROP OWNED BY %s; DROP ROLE %[1]s`, role)) })
	user := pgtest.OpenDSN(t, asRole(t, u, role))
	stmt := fmt.Sprintf(`UNLOAD ('SELECT id FROM %s.p') TO 's3://%s/%%s/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, s, unloadBucket)
	_, direct := user.Exec(fmt.Sprintf(`SELECT id FROM %s.p`, s))
	_, err := user.Exec(fmt.Sprintf(stmt, "denied"))
	if e, d := pqErr(t, err), pqErr(t, direct); e.Code != "42501" || e.Message != d.Message {
		t.Errorf("UNLOAD without grant: %s %s, the SELECT: %s %s", e.Code, e.Message, d.Code, d.Message)
	}
	pgtest.Exec(t, admin, fmt.Sprintf(`GRANT SELECT ON %s.p TO %s`, s, role))
	pgtest.Exec(t, user, fmt.Sprintf(stmt, "granted"))
	if m := readManifest(t, store, "granted/"); m.Meta.RecordCount != 2 {
		t.Errorf("granted: %d records", m.Meta.RecordCount)
	}

	// Extended protocol: Parse, Describe, Bind, Execute.
	ps, err := db.Prepare(fmt.Sprintf(stmt, "prepared"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Exec(); err != nil {
		t.Fatal(err)
	}
	_ = ps.Close()
	if m := readManifest(t, store, "prepared/"); m.Meta.RecordCount != 2 {
		t.Errorf("prepared: %d records", m.Meta.RecordCount)
	}

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT 1/0`); err == nil {
		t.Fatal("division by zero accepted")
	}
	_, err = tx.Exec(fmt.Sprintf(stmt, "aborted"))
	if e := pqErr(t, err); e.Code != "25P02" {
		t.Errorf("UNLOAD in an aborted transaction: %s %s", e.Code, e.Message)
	}
	if keys := unloadKeys(t, store, "aborted/"); len(keys) != 0 {
		t.Errorf("UNLOAD in an aborted transaction wrote %q", keys)
	}
}

// sessionConn returns one connection of db, for statements that share a
// session.
func sessionConn(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// unloadOneRow runs UNLOAD of query (the literal's text: the caller doubles
// its quotes) on c and returns the schema and the one row written, its
// values by column name.
func unloadOneRow(t *testing.T, c *sql.Conn, store *s3stub.Server, prefix, query string) (*parquet.Schema, map[string]parquet.Value) {
	t.Helper()
	if _, err := c.ExecContext(t.Context(), fmt.Sprintf(`UNLOAD ('%s') TO 's3://%s/%s' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, query, unloadBucket, prefix)); err != nil {
		t.Fatalf("UNLOAD: %v", err)
	}
	schema, rows := readParts(t, store, readManifest(t, store, prefix))
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	out := map[string]parquet.Value{}
	for i, f := range schema.Fields() {
		out[f.Name()] = rows[0][i]
	}
	return schema, out
}

// TestUnloadRendersAsSQLPath: text made in the query (casts to VARCHAR of
// intervals, TIMETZ, TIME, floats, dates and timestamps) is the same
// through UNLOAD as through the SQL path of the same session: the UNLOAD's
// query runs with the client's IntervalStyle, DateStyle, TimeZone and
// extra_float_digits, and the same rewrites.
func TestUnloadRendersAsSQLPath(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 1})
	c := sessionConn(t, db)
	cols := []string{"iv", "ivn", "tz", "tm", "r", "d", "dt", "ts", "tstz"}
	query := `SELECT CAST(interval '1 year 2 months 3 days 04:05:06' AS varchar) AS iv,
		CAST(interval '-1 day 00:00:01.5' AS varchar) AS ivn,
		CAST(timetz '10:00:00-03:30' AS varchar) AS tz, CAST(time '13:14:15.5' AS varchar) AS tm,
		CAST(CAST(0.1 AS real) AS varchar) AS r, CAST(CAST(0.1 AS double precision) / 3 AS varchar) AS d,
		CAST(date '2026-02-28' AS varchar) AS dt, CAST(timestamp '1999-12-31 23:59:59.5' AS varchar) AS ts,
		CAST(timestamptz '2026-06-01 12:00:00+02' AS varchar) AS tstz`
	for i, setup := range []string{"SET extra_float_digits TO 0", "SET timezone TO 'America/New_York'", "SET extra_float_digits TO 2"} {
		if _, err := c.ExecContext(t.Context(), setup); err != nil {
			t.Fatalf("%s: %v", setup, err)
		}
		want := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for k := range want {
			ptrs[k] = &want[k]
		}
		if err := c.QueryRowContext(t.Context(), query).Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		_, got := unloadOneRow(t, c, store, fmt.Sprintf("render%d/", i), strings.ReplaceAll(query, "'", "''"))
		for k, name := range cols {
			if g := string(got[name].ByteArray()); g != want[k] {
				t.Errorf("after %s: %s through UNLOAD %q, through SQL %q", setup, name, g, want[k])
			}
		}
	}
}

// TestUnloadDateRange: DATE and TIMESTAMP values across Redshift's range
// (4713 BC to 294276 AD, r_Datetime_types), BC and past year 9999
// included, are written as Parquet DATE days since 1970-01-01 and INT96
// Julian days and nanoseconds, as Go's proleptic Gregorian calendar counts
// them.
func TestUnloadDateRange(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 1})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	// Go's year 0 is 1 BC, -4712 is 4713 BC.
	cases := []struct {
		date, ts string
		at       time.Time
	}{
		{"4713-11-24 BC", "4713-11-24 00:00:00.000001 BC", time.Date(-4712, 11, 24, 0, 0, 0, 1000, time.UTC)},
		{"0001-12-31 BC", "0001-12-31 23:59:59.999999 BC", time.Date(0, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{"0001-01-01", "0001-01-01 00:00:00", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"1969-12-31", "1969-12-31 12:00:00", time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC)},
		{"10000-01-01", "10000-01-01 06:07:08.09", time.Date(10000, 1, 1, 6, 7, 8, 90000000, time.UTC)},
		{"294276-12-31", "294276-12-31 23:59:59.999999", time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	}
	var vals []string
	for i, c := range cases {
		vals = append(vals, fmt.Sprintf("(%d, '%s', '%s', '%s+00')", i, c.date, c.ts, c.ts))
	}
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.dates (id integer, dt date, ts timestamp, tstz timestamptz);
		INSERT INTO %[1]s.dates VALUES %s`, s, strings.Join(vals, ", ")))
	pgtest.Exec(t, db, fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.dates') TO 's3://%s/dates/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`, s, unloadBucket))
	_, rows := readParts(t, store, readManifest(t, store, "dates/"))
	if len(rows) != len(cases) {
		t.Fatalf("%d rows, want %d", len(rows), len(cases))
	}
	slices.SortFunc(rows, func(a, b parquet.Row) int { return int(a[0].Int32() - b[0].Int32()) })
	for i, c := range cases {
		day := c.at.Unix() / 86400
		if c.at.Unix()%86400 < 0 {
			day--
		}
		if got := int64(rows[i][1].Int32()); got != day {
			t.Errorf("%s: DATE %d days, want %d", c.date, got, day)
		}
		for k := 2; k <= 3; k++ {
			if got := int96Time(rows[i][k].Int96()); !got.Equal(c.at) {
				t.Errorf("%s: column %d INT96 %v, want %v", c.ts, k, got, c.at)
			}
		}
	}
}

// TestUnloadSuperExpression: a SUPER made in the query (JSON_PARSE, a
// column of a view) is written as a SUPER column is, BYTE_ARRAY with the
// JSON logical type, holding the compact text the SQL path returns.
func TestUnloadSuperExpression(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 1})
	c := sessionConn(t, db)
	query := `SELECT JSON_PARSE('{"a": [1, 2.50, {"b": null}], "c": "x é y"}') AS p, JSON_PARSE('[10001, 10002, "abc"]') AS q`
	var p, q string
	if err := c.QueryRowContext(t.Context(), query).Scan(&p, &q); err != nil {
		t.Fatal(err)
	}
	schema, got := unloadOneRow(t, c, store, "super/", strings.ReplaceAll(query, "'", "''"))
	want := "message schema {\n\toptional binary p (JSON);\n\toptional binary q (JSON);\n}"
	if schema.String() != want {
		t.Errorf("schema\n%s\nwant\n%s", schema, want)
	}
	if g := string(got["p"].ByteArray()); g != p {
		t.Errorf("p through UNLOAD %q, through SQL %q", g, p)
	}
	if g := string(got["q"].ByteArray()); g != q || q != `[10001,10002,"abc"]` {
		t.Errorf("q through UNLOAD %q, through SQL %q", g, q)
	}
}

// TestFromVarbyte: FROM_VARBYTE and TO_VARBYTE as r_FROM_VARBYTE and
// r_TO_VARBYTE give them (the pages' examples, each format in any case),
// and FROM_VARBYTE(col, 'hex') in an UNLOAD's query, the documented way to
// unload a VARBYTE column to Parquet, writes the text the SQL path returns.
func TestFromVarbyte(t *testing.T) {
	db, store, _, _ := startUnload(t, standin.UnloadConfig{Slices: 1})
	c := sessionConn(t, db)
	for _, tc := range []struct{ sql, want string }{
		{`SELECT FROM_VARBYTE('ab', 'hex')`, "6162"},
		{`SELECT FROM_VARBYTE(TO_VARBYTE('4d', 'hex'), 'binary')`, "01001101"},
		{`SELECT TO_VARBYTE('6162', 'hex')`, "6162"},
		{`SELECT TO_VARBYTE('01001101', 'binary')`, "4d"},
		{`SELECT TO_VARBYTE('a', 'utf8')`, "61"},
		{`SELECT TO_VARBYTE('4', 'hex')`, "04"},
		{`SELECT FROM_VARBYTE(TO_VARBYTE('héllo', 'UTF-8'), 'utf_8')`, "héllo"},
		{`SELECT FROM_VARBYTE(TO_VARBYTE('00ff10', 'hex'), 'Base64')`, "AP8Q"},
		{`SELECT FROM_VARBYTE(TO_VARBYTE('AP8Q', 'base64'), 'HEX')`, "00ff10"},
	} {
		var got string
		if err := c.QueryRowContext(t.Context(), tc.sql).Scan(&got); err != nil {
			t.Errorf("%s: %v", tc.sql, err)
		} else if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.sql, got, tc.want)
		}
	}
	var s string
	err := c.QueryRowContext(t.Context(), `SELECT FROM_VARBYTE('ab', 'octal')`).Scan(&s)
	if pe, ok := err.(*pq.Error); !ok || pe.Code != "22023" {
		t.Errorf("FROM_VARBYTE(…, 'octal'): %v, want 22023", err)
	}

	sch := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.vb (id integer, b varbyte);
		INSERT INTO %[1]s.vb VALUES (1, '\x00ff6162'::bytea)`, sch))
	query := fmt.Sprintf(`SELECT FROM_VARBYTE(b, 'hex') AS h, FROM_VARBYTE(b, 'base64') AS b64, FROM_VARBYTE(b, 'binary') AS bits FROM %s.vb`, sch)
	var h, b64, bits string
	if err := c.QueryRowContext(t.Context(), query).Scan(&h, &b64, &bits); err != nil {
		t.Fatal(err)
	}
	if h != "00ff6162" || b64 != "AP9hYg==" || bits != "00000000111111110110000101100010" {
		t.Errorf("SQL path: %q %q %q", h, b64, bits)
	}
	schema, got := unloadOneRow(t, c, store, "varbyte/", strings.ReplaceAll(query, "'", "''"))
	want := "message schema {\n\toptional binary h (STRING);\n\toptional binary b64 (STRING);\n\toptional binary bits (STRING);\n}"
	if schema.String() != want {
		t.Errorf("schema\n%s\nwant\n%s", schema, want)
	}
	for name, w := range map[string]string{"h": h, "b64": b64, "bits": bits} {
		if g := string(got[name].ByteArray()); g != w {
			t.Errorf("%s through UNLOAD %q, through SQL %q", name, g, w)
		}
	}
}

// TestUnloadLastCount: PG_LAST_UNLOAD_COUNT() as its page documents it: 0
// in a session without UNLOAD, the rows of the last completed UNLOAD, the
// previous count after an UNLOAD that fails for its syntax or a missing
// table or privilege, 0 after one that fails while unloading (here: the
// destination holds files).
func TestUnloadLastCount(t *testing.T) {
	db, _, _, _ := startUnload(t, standin.UnloadConfig{Slices: 2})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.n (id integer); INSERT INTO %[1]s.n SELECT generate_series(1, 3)`, s))
	c := sessionConn(t, db)
	role := "IAM_ROLE 'arn:aws:iam::0123456789012:role/R'"
	for _, step := range []struct {
		unload string
		fails  bool
		want   int64
	}{
		{"", false, 0},
		{fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.n') TO 's3://%s/count/a/' %s PARQUET`, s, unloadBucket, role), false, 3},
		{fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.n') TO 's3://%s/count/b/' %s PARQUET GZIP`, s, unloadBucket, role), true, 3},
		{fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.missing') TO 's3://%s/count/b/' %s PARQUET`, s, unloadBucket, role), true, 3},
		{fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.n') TO 's3://%s/count/a/' %s PARQUET`, s, unloadBucket, role), true, 0},
		{fmt.Sprintf(`UNLOAD ('SELECT * FROM %s.n WHERE id < 3') TO 's3://%s/count/c/' %s PARQUET`, s, unloadBucket, role), false, 2},
	} {
		if step.unload != "" {
			_, err := c.ExecContext(t.Context(), step.unload)
			if (err != nil) != step.fails {
				t.Fatalf("%s: error %v, want failure %v", step.unload, err, step.fails)
			}
		}
		var n int64
		var name string
		rows, err := c.QueryContext(t.Context(), `SELECT PG_LAST_UNLOAD_COUNT()`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		name = cols[0]
		for rows.Next() {
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
		if n != step.want || name != "pg_last_unload_count" {
			t.Errorf("after %q: %s = %d, want pg_last_unload_count = %d", step.unload, name, n, step.want)
		}
	}
}
