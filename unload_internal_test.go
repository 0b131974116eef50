package redshiftsync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// ParseRedshiftLiteral reads the string literal at the start of s as
// Redshift does (” is a quote, a backslash escapes the next character)
// and returns its value and the text after it: the tests' model of the
// server's side of unloadLiteral.
func ParseRedshiftLiteral(s string) (value, rest string, err error) {
	if !strings.HasPrefix(s, "'") {
		return "", s, errors.New("no literal")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("backslash at the end")
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", errors.New("unterminated literal")
}

// WithUnloadExec runs the extractor's UNLOAD statements with fn, given the
// connection the extractor would run them on: a test counts them, or runs
// them elsewhere (an in-memory UNLOAD).
func WithUnloadExec(fn func(ctx context.Context, conn *sql.Conn, stmt string) error) Option {
	return func(e *Extractor) error {
		e.unloadExec = fn
		return nil
	}
}

// hostile are values a bookmark may hold that break naive quoting.
var hostile = []string{
	"", "plain", "it's", "''", `\`, `\\`, `\'`, `'\`, `a\'; DROP TABLE t; --`,
	"line\nbreak\r\n", "tab\there", "ünïcødé ☃ 𝄞", `\x41\u0041\n`, `'); SELECT 1; --`,
	"trailing backslash\\", "\\'\\''\\",
}

// TestUnloadLiteralNested: a value put in a literal of the inner SELECT,
// which is itself put in a literal of the UNLOAD, reads back exactly after
// both levels are unescaped as Redshift does; a NUL is refused.
func TestUnloadLiteralNested(t *testing.T) {
	for _, v := range hostile {
		inner, err := unloadLiteral(v)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		query := "SELECT 1 WHERE x = " + inner + " AND y = 2"
		outer, err := unloadLiteral(query)
		if err != nil {
			t.Fatal(err)
		}
		stmt := "UNLOAD (" + outer + ") TO 's3://b/p/'"
		got, rest, err := ParseRedshiftLiteral(strings.TrimPrefix(stmt, "UNLOAD ("))
		if err != nil || got != query || rest != ") TO 's3://b/p/'" {
			t.Fatalf("%q: outer level reads %q, rest %q, %v", v, got, rest, err)
		}
		val, rest, err := ParseRedshiftLiteral(strings.TrimPrefix(got, "SELECT 1 WHERE x = "))
		if err != nil || val != v || rest != " AND y = 2" {
			t.Errorf("%q: inner level reads %q, rest %q, %v", v, val, rest, err)
		}
	}
	if _, err := unloadLiteral("a\x00b"); !errors.Is(err, errNULInLiteral) {
		t.Errorf("NUL: %v", err)
	}
}

func unloadTestPlan(mode Mode) *Plan {
	t := &Table{Schema: `we"ird`, Name: "Order Items; --drop", EstimatedRows: 100, Columns: []Column{
		{Name: "id", SourceType: "bigint", Type: TypeLong},
		{Name: `na"me`, SourceType: "character varying(20)", Type: TypeString, Nullable: true},
		{Name: "at", SourceType: "time with time zone", Type: TypeTimeTZ, Nullable: true},
		{Name: "updated_at", SourceType: "timestamp without time zone", Type: TypeNaiveDateTime},
	}}
	p := &Plan{Table: t, Mode: mode}
	if mode == ModeIncremental {
		p.ReplicationKey = "updated_at"
	}
	return p
}

// TestUnloadStatement: the statement quotes every identifier, casts TIMETZ
// to text, puts an incremental phase's bounds (the lookback applied) in the
// inner SELECT as literals cast to the key's type, and its redacted form
// holds no key.
func TestUnloadStatement(t *testing.T) {
	from, hw := "2024-01-01 00:00:10", "2024-02-01 00:00:00"
	q, err := unloadSelect(unloadTestPlan(ModeIncremental), &progress{From: &from, HighWater: &hw}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT "id", "na""me", CAST("at" AS VARCHAR) AS "at", "updated_at" FROM "we""ird"."Order Items; --drop"` +
		` WHERE "updated_at" IS NOT NULL AND "updated_at" >= CAST('2024-01-01 00:00:00.000000' AS timestamp without time zone)` +
		` AND "updated_at" <= CAST('2024-02-01 00:00:00' AS timestamp without time zone)`
	if q != want {
		t.Errorf("inner SELECT:\n%s\nwant\n%s", q, want)
	}
	full, _ := unloadSelect(unloadTestPlan(ModeFull), &progress{}, 0)
	if strings.Contains(full, "WHERE") {
		t.Errorf("full sync's SELECT has a predicate: %s", full)
	}
	auth := unloadAuth{keyID: "AKIAEXAMPLEKEYID0001", secret: "s3cr3t/with'quote\\", token: "tok-en", region: "eu-west-1"}
	stmt, err := unloadStatement(q, "s3://bucket/p/run/t/", auth, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"UNLOAD ('SELECT \"id\"", "TO 's3://bucket/p/run/t/'", `SECRET_ACCESS_KEY 's3cr3t/with''quote\\'`,
		"FORMAT PARQUET MANIFEST VERBOSE PARALLEL ON MAXFILESIZE 128 MB REGION 'eu-west-1'", "CAST(''2024-01-01 00:00:00.000000'' AS"} {
		if !strings.Contains(stmt, part) {
			t.Errorf("statement lacks %s:\n%s", part, stmt)
		}
	}
	shown, _ := unloadStatement(q, "s3://bucket/p/run/t/", auth, true)
	for _, secret := range []string{"AKIAEXAMPLEKEYID0001", "s3cr3t", "tok-en"} {
		if strings.Contains(shown, secret) {
			t.Errorf("redacted statement shows %s: %s", secret, shown)
		}
	}
	role, _ := unloadStatement(q, "s3://b/", unloadAuth{role: "default"}, false)
	if !strings.Contains(role, " IAM_ROLE default FORMAT") {
		t.Errorf("default role: %s", role)
	}
	if err := auth.redactError(errors.New("S3 said no to AKIAEXAMPLEKEYID0001")); strings.Contains(err.Error(), "AKIA") {
		t.Errorf("error not redacted: %v", err)
	}
}

// TestUnloadLocation: one level per run and table, the table's name made
// a single safe segment.
func TestUnloadLocation(t *testing.T) {
	tab := &Table{Schema: "s", Name: "a/b c'ü"}
	loc := unloadLocation("s3://bucket/pre", tab, time.Date(2026, 11, 30, 15, 4, 5, 0, time.UTC))
	if !strings.HasPrefix(loc, "s3://bucket/pre/20261130T150405Z-") || !strings.HasSuffix(loc, "/s.a%2Fb%20c%27%C3%BC/") {
		t.Errorf("location %s", loc)
	}
	if other := unloadLocation("s3://bucket/pre/", tab, time.Date(2026, 11, 30, 15, 4, 5, 0, time.UTC)); other == loc {
		t.Errorf("two locations of the same second are equal: %s", loc)
	}
}

// TestPlanUnload: why a table is, or is not, unloaded.
func TestPlanUnload(t *testing.T) {
	fake := struct{ Unloader }{}
	cfg := Config{UnloadS3URI: "s3://b/", UnloadIAMRole: "default", UnloadThreshold: 50}
	e := &Extractor{cfg: cfg, unloader: fake}
	cases := []struct {
		name    string
		e       *Extractor
		plan    func() *Plan
		dialect Dialect
		use     bool
		reason  string
	}{
		{"postgres", e, func() *Plan { return unloadTestPlan(ModeFull) }, DialectPostgres, false, "the source is postgres"},
		{"no unloader", &Extractor{cfg: cfg}, func() *Plan { return unloadTestPlan(ModeFull) }, DialectRedshift, false, "no Unloader was given"},
		{"never", &Extractor{cfg: Config{UnloadS3URI: "s3://b/"}, unloader: fake}, func() *Plan { return unloadTestPlan(ModeFull) }, DialectRedshift, false, "unload_threshold_rows is 0"},
		{"large", e, func() *Plan { return unloadTestPlan(ModeIncremental) }, DialectRedshift, true, "about 100 rows reach unload_threshold_rows (50); a later incremental sync"},
		{"small", e, func() *Plan { p := unloadTestPlan(ModeFull); p.Table.EstimatedRows = 49; return p }, DialectRedshift, false, "below unload_threshold_rows"},
		{"unknown", e, func() *Plan { p := unloadTestPlan(ModeFull); p.Table.EstimatedRows = -1; return p }, DialectRedshift, true, "the catalog has no estimate"},
		{"geometry", e, func() *Plan {
			p := unloadTestPlan(ModeFull)
			p.Table.Columns = append(p.Table.Columns, Column{Name: "g", SourceType: "geometry", Type: TypeString})
			return p
		}, DialectRedshift, false, `column "g" is geometry, which UNLOAD writes to text formats only`},
		{"hllsketch", e, func() *Plan {
			p := unloadTestPlan(ModeFull)
			p.Table.Columns = append(p.Table.Columns, Column{Name: "h", SourceType: "hllsketch", Type: TypeString})
			return p
		}, DialectRedshift, false, "hllsketch, which UNLOAD writes to text formats only"},
		{"varbyte", e, func() *Plan {
			p := unloadTestPlan(ModeFull)
			p.Table.Columns = append(p.Table.Columns, Column{Name: "b", SourceType: "varbyte(64)", Type: TypeBinary})
			return p
		}, DialectRedshift, false, "varbyte(64), which UNLOAD writes to text formats only"},
	}
	for _, c := range cases {
		up := c.e.planUnload(c.plan(), c.dialect)
		if up == nil || up.Use != c.use || !strings.Contains(up.Reason, c.reason) {
			t.Errorf("%s: %+v, want use %v and a reason with %q", c.name, up, c.use, c.reason)
		}
	}
	if up := e.planUnload(unloadTestPlan(ModeFull), DialectRedshift); len(up.Casts) != 1 || up.Casts[0] != "at (time with time zone)" {
		t.Errorf("casts %v", up.Casts)
	}
	if up := (&Extractor{}).planUnload(unloadTestPlan(ModeFull), DialectRedshift); up != nil {
		t.Errorf("without unload_s3_uri: %+v", up)
	}
	for _, c := range []struct {
		col  Column
		cast bool
	}{
		{Column{SourceType: "time without time zone", Type: TypeNaiveTime}, true},
		{Column{SourceType: "interval year to month", Type: TypeInterval}, true},
		{Column{SourceType: "numeric", Type: TypeDecimal}, true},
		{Column{SourceType: "numeric(18,4)", Type: TypeDecimal, Precision: 18, Scale: 4}, false},
		{Column{SourceType: "uuid", Type: TypeString}, true},
		{Column{SourceType: "character(3)", Type: TypeString}, false},
		{Column{SourceType: "super", Type: TypeJSON}, false},
		{Column{SourceType: "real", Type: TypeFloat}, false},
	} {
		if got := unloadCast(c.col); got != c.cast {
			t.Errorf("%s: cast %v, want %v", c.col.SourceType, got, c.cast)
		}
	}
}

// TestStateVersionUnload: a document is written as version 3 only while a
// table is read from an UNLOAD, which a library reading up to version 2
// would misread; otherwise as version 2. The UNLOAD's progress survives a
// round trip and a clone deeply.
func TestStateVersionUnload(t *testing.T) {
	ctx := context.Background()
	store := &MemoryStore{}
	ck := &checkpointer{store: store}
	if err := ck.load(ctx, "d/s"); err != nil {
		t.Fatal(err)
	}
	version := func() int {
		doc, _ := store.Load(ctx)
		var head struct{ Version int }
		json.Unmarshal(doc, &head)
		return head.Version
	}
	ts := tableState{Mode: ModeFull, InProgress: &progress{Phase: phaseRows, Unload: &unloadProgress{Location: "s3://b/r/s.t/", Ran: true,
		Parts: []*unloadPartProgress{{UnloadPart: UnloadPart{URL: "s3://b/r/s.t/0000_part_00.parquet", Rows: 3, Bytes: 10}, Done: true}}}}}
	if err := ck.save(ctx, "s.t", ts, 0, false, nil); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 3 {
		t.Errorf("with an UNLOAD in progress: version %d, want 3", v)
	}
	doc, _ := store.Load(ctx)
	st, err := decodeState(doc, "d/s")
	if err != nil {
		t.Fatal(err)
	}
	got := st.Tables["s.t"].InProgress.Unload
	if got.Location != "s3://b/r/s.t/" || !got.Ran || len(got.Parts) != 1 || !got.Parts[0].Done || got.Parts[0].Rows != 3 {
		t.Errorf("decoded %+v", got)
	}
	c := st.Tables["s.t"].InProgress.clone()
	c.Unload.Parts[0].Done = false
	if !got.Parts[0].Done {
		t.Error("clone shares the parts")
	}
	ts.InProgress = nil
	if err := ck.save(ctx, "s.t", ts, 0, true, nil); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 2 {
		t.Errorf("without one: version %d, want 2", v)
	}
	bad := `{"version":3,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"rows","rows":0,"unload":{"location":"/tmp/x"}}}}}`
	if _, err := decodeState([]byte(bad), ""); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a location outside S3: %v", err)
	}
}
