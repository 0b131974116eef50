package jsonlsink

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

var (
	bigString = strings.Repeat("abcdefgh", 8<<10) // 64 KiB
	est       = time.FixedZone("EST", -5*3600)
	cet       = time.FixedZone("CET", 3600)
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// valueCases lists, per logical type, edge values and their exact JSON text.
var valueCases = []struct {
	name string
	typ  redshiftsync.LogicalType
	v    any
	want string
}{
	{"null bool", redshiftsync.TypeBoolean, nil, `null`},
	{"true", redshiftsync.TypeBoolean, true, `true`},
	{"false", redshiftsync.TypeBoolean, false, `false`},

	{"short", redshiftsync.TypeShort, int64(-32768), `-32768`},
	{"int", redshiftsync.TypeInt, int64(2147483647), `2147483647`},
	{"long zero", redshiftsync.TypeLong, int64(0), `0`},
	{"long min", redshiftsync.TypeLong, int64(math.MinInt64), `-9223372036854775808`},
	{"long max", redshiftsync.TypeLong, int64(math.MaxInt64), `9223372036854775807`},
	{"null long", redshiftsync.TypeLong, nil, `null`},

	{"decimal 38 digits", redshiftsync.TypeDecimal, redshiftsync.Decimal("12345678901234567890123456789012345678"), `"12345678901234567890123456789012345678"`},
	{"decimal negative 38", redshiftsync.TypeDecimal, redshiftsync.Decimal("-99999999999999999999999999999999999999"), `"-99999999999999999999999999999999999999"`},
	{"decimal fraction", redshiftsync.TypeDecimal, redshiftsync.Decimal("12345678901234567890123456789.123456789"), `"12345678901234567890123456789.123456789"`},
	{"decimal tiny", redshiftsync.TypeDecimal, redshiftsync.Decimal("0.00000000000000000000000000000000000001"), `"0.00000000000000000000000000000000000001"`},
	{"decimal trailing zeros", redshiftsync.TypeDecimal, redshiftsync.Decimal("1.5000"), `"1.5000"`},
	{"decimal NaN", redshiftsync.TypeDecimal, redshiftsync.Decimal("NaN"), `"NaN"`},

	{"double 0.1", redshiftsync.TypeDouble, 0.1, `0.1`},
	{"double zero", redshiftsync.TypeDouble, 0.0, `0`},
	{"double negative zero", redshiftsync.TypeDouble, math.Copysign(0, -1), `-0`},
	{"double 1e21", redshiftsync.TypeDouble, 1e21, `1e+21`},
	{"double 1e-7", redshiftsync.TypeDouble, 1e-7, `1e-07`},
	{"double integer", redshiftsync.TypeDouble, 123456789.0, `1.23456789e+08`},
	{"double max", redshiftsync.TypeDouble, math.MaxFloat64, `1.7976931348623157e+308`},
	{"double smallest", redshiftsync.TypeDouble, math.SmallestNonzeroFloat64, `5e-324`},
	{"double pi", redshiftsync.TypeDouble, math.Pi, `3.141592653589793`},
	{"double NaN", redshiftsync.TypeDouble, math.NaN(), `"NaN"`},
	{"double +Inf", redshiftsync.TypeDouble, math.Inf(1), `"Infinity"`},
	{"double -Inf", redshiftsync.TypeDouble, math.Inf(-1), `"-Infinity"`},
	{"real 0.1", redshiftsync.TypeFloat, float64(float32(0.1)), `0.10000000149011612`},
	{"real max", redshiftsync.TypeFloat, float64(math.MaxFloat32), `3.4028234663852886e+38`},

	{"date", redshiftsync.TypeNaiveDate, date(2024, 1, 31), `"2024-01-31"`},
	{"date year 1", redshiftsync.TypeNaiveDate, date(1, 1, 1), `"0001-01-01"`},
	{"date year 9999", redshiftsync.TypeNaiveDate, date(9999, 12, 31), `"9999-12-31"`},
	{"date 1 BC", redshiftsync.TypeNaiveDate, date(0, 12, 31), `"+0000-12-31"`},
	{"date 44 BC", redshiftsync.TypeNaiveDate, date(-43, 3, 15), `"-0043-03-15"`},
	{"date 4713 BC", redshiftsync.TypeNaiveDate, date(-4712, 11, 24), `"-4712-11-24"`},
	{"date 10000", redshiftsync.TypeNaiveDate, date(10000, 1, 1), `"+10000-01-01"`},
	{"date far future", redshiftsync.TypeNaiveDate, date(5874897, 12, 31), `"+5874897-12-31"`},
	{"date infinity", redshiftsync.TypeNaiveDate, "infinity", `"infinity"`},
	{"date -infinity", redshiftsync.TypeNaiveDate, "-infinity", `"-infinity"`},

	{"timestamp micros", redshiftsync.TypeNaiveDateTime, time.Date(2024, 1, 31, 13, 45, 1, 123456000, time.UTC), `"2024-01-31T13:45:01.123456"`},
	{"timestamp whole second", redshiftsync.TypeNaiveDateTime, time.Date(2024, 1, 31, 13, 45, 1, 0, time.UTC), `"2024-01-31T13:45:01.000000"`},
	{"timestamp one micro", redshiftsync.TypeNaiveDateTime, time.Date(2024, 1, 31, 0, 0, 0, 1000, time.UTC), `"2024-01-31T00:00:00.000001"`},
	{"timestamp nanos truncated", redshiftsync.TypeNaiveDateTime, time.Date(2024, 1, 31, 23, 59, 59, 999999999, time.UTC), `"2024-01-31T23:59:59.999999"`},
	{"timestamp naive keeps wall clock", redshiftsync.TypeNaiveDateTime, time.Date(2024, 1, 31, 13, 0, 0, 0, est), `"2024-01-31T13:00:00.000000"`},
	{"timestamp BC", redshiftsync.TypeNaiveDateTime, time.Date(-4712, 1, 1, 0, 0, 0, 0, time.UTC), `"-4712-01-01T00:00:00.000000"`},
	{"timestamp max", redshiftsync.TypeNaiveDateTime, time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC), `"+294276-12-31T23:59:59.999999"`},
	{"timestamp infinity", redshiftsync.TypeNaiveDateTime, "infinity", `"infinity"`},

	{"timestamptz", redshiftsync.TypeUTCDateTime, time.Date(2024, 1, 31, 13, 45, 1, 123456000, time.UTC), `"2024-01-31T13:45:01.123456Z"`},
	{"timestamptz converted to UTC", redshiftsync.TypeUTCDateTime, time.Date(2024, 1, 1, 0, 30, 0, 0, cet), `"2023-12-31T23:30:00.000000Z"`},
	{"timestamptz from EST", redshiftsync.TypeUTCDateTime, time.Date(2024, 1, 31, 20, 0, 0, 500000000, est), `"2024-02-01T01:00:00.500000Z"`},
	{"timestamptz BC", redshiftsync.TypeUTCDateTime, time.Date(-1, 6, 1, 12, 0, 0, 0, time.UTC), `"-0001-06-01T12:00:00.000000Z"`},
	{"timestamptz epoch", redshiftsync.TypeUTCDateTime, time.Unix(0, 0), `"1970-01-01T00:00:00.000000Z"`},
	{"timestamptz -infinity", redshiftsync.TypeUTCDateTime, "-infinity", `"-infinity"`},

	{"time", redshiftsync.TypeNaiveTime, "13:45:01.123456", `"13:45:01.123456"`},
	{"timetz", redshiftsync.TypeTimeTZ, "13:45:01+02", `"13:45:01+02"`},
	{"interval", redshiftsync.TypeInterval, "P1Y2M3DT4H5M6.789S", `"P1Y2M3DT4H5M6.789S"`},
	{"interval negative", redshiftsync.TypeInterval, "-P1DT-2H", `"-P1DT-2H"`},

	{"empty string", redshiftsync.TypeString, "", `""`},
	{"null string", redshiftsync.TypeString, nil, `null`},
	{"string null text", redshiftsync.TypeString, "null", `"null"`},
	{"ascii", redshiftsync.TypeString, "hello, world", `"hello, world"`},
	{"unicode", redshiftsync.TypeString, "héllo 世界 🎉 Ω", `"héllo 世界 🎉 Ω"`},
	{"quotes and backslash", redshiftsync.TypeString, `a"b\c/d`, `"a\"b\\c/d"`},
	{"short escapes", redshiftsync.TypeString, "\n\r\t\b\f", `"\n\r\t\b\f"`},
	{"control chars", redshiftsync.TypeString, "\x00\x01\x1f\x7f", `"\u0000\u0001\u001f\u007f"`},
	{"C1 control", redshiftsync.TypeString, "a\u0085b", `"a\u0085b"`},
	{"line separators", redshiftsync.TypeString, "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
	{"invalid UTF-8", redshiftsync.TypeString, "a\xffb", `"a\ufffdb"`},
	{"truncated rune", redshiftsync.TypeString, "x\xe4\xb8", `"x\ufffd\ufffd"`},
	{"surrogate half", redshiftsync.TypeString, "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
	{"html kept", redshiftsync.TypeString, "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
	{"padded char", redshiftsync.TypeString, "ab   ", `"ab   "`},
	{"64 KiB", redshiftsync.TypeString, bigString, `"` + bigString + `"`},

	{"bytes", redshiftsync.TypeBinary, []byte{0, 1, 2, 0xfe, 0xff}, `"AAEC/v8="`},
	{"bytes empty", redshiftsync.TypeBinary, []byte{}, `""`},
	{"bytes nil slice", redshiftsync.TypeBinary, []byte(nil), `""`},
	{"bytes null", redshiftsync.TypeBinary, nil, `null`},
	{"bytes text", redshiftsync.TypeBinary, []byte("hi\n"), `"aGkK"`},

	{"json object", redshiftsync.TypeJSON, json.RawMessage(`{"a":[1,2,{"b":null}],"c":"d"}`), `{"a":[1,2,{"b":null}],"c":"d"}`},
	{"json nested deep", redshiftsync.TypeJSON, json.RawMessage(`[[[[{"x":[[]]}]]]]`), `[[[[{"x":[[]]}]]]]`},
	{"json null value", redshiftsync.TypeJSON, json.RawMessage(`null`), `null`},
	{"sql null json", redshiftsync.TypeJSON, nil, `null`},
	{"json big number kept", redshiftsync.TypeJSON, json.RawMessage(`{"n":123456789012345678901234567890.5}`), `{"n":123456789012345678901234567890.5}`},
	{"json string", redshiftsync.TypeJSON, json.RawMessage(`"text"`), `"text"`},
	{"json duplicate keys kept", redshiftsync.TypeJSON, json.RawMessage(`{"a":1,"a":2}`), `{"a":1,"a":2}`},
	{"json spaces kept", redshiftsync.TypeJSON, json.RawMessage(`{"a": 1, "b": [1, 2]}`), `{"a": 1, "b": [1, 2]}`},
	{"json multi-line compacted", redshiftsync.TypeJSON, json.RawMessage("{\n  \"a\": 1,\r\n  \"b\": \"x\\ny\"\n}\n"), `{"a":1,"b":"x\ny"}`},
	{"json newline only", redshiftsync.TypeJSON, json.RawMessage("[1,\n2]"), `[1,2]`},
	{"json carriage return only", redshiftsync.TypeJSON, json.RawMessage("[1,\r2]"), `[1,2]`},
	{"json invalid", redshiftsync.TypeJSON, json.RawMessage(`{"a":`), `"{\"a\":"`},
	{"json invalid multi-line", redshiftsync.TypeJSON, json.RawMessage("{\n"), `"{\n"`},
	{"json empty", redshiftsync.TypeJSON, json.RawMessage{}, `""`},
	{"json invalid UTF-8", redshiftsync.TypeJSON, json.RawMessage("[\"a\xffb\"]"), "[\"a\uFFFDb\"]"},
}

func TestEncodeValue(t *testing.T) {
	for _, tc := range valueCases {
		t.Run(tc.name, func(t *testing.T) {
			var e encoder
			e.setColumns(&redshiftsync.Table{Schema: "s", Name: "t", Columns: []redshiftsync.Column{{Name: "c", Type: tc.typ}}})
			line, err := e.encodeRow([]any{tc.v})
			if err != nil {
				t.Fatal(err)
			}
			want := `{"c":` + tc.want + "}\n"
			if string(line) != want {
				if len(want) > 200 {
					t.Fatalf("got %d bytes %.100q..., want %d bytes", len(line), line, len(want))
				}
				t.Fatalf("got  %q\nwant %q", line, want)
			}
			if !json.Valid(line) {
				t.Fatalf("invalid JSON: %q", line)
			}
		})
	}
}

func TestEncodeUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  redshiftsync.LogicalType
		v    any
		want string // in the error
	}{
		{"int", redshiftsync.TypeLong, 5, "int"},
		{"int32", redshiftsync.TypeInt, int32(5), "int32"},
		{"float32", redshiftsync.TypeFloat, float32(1.5), "float32"},
		{"map", redshiftsync.TypeJSON, map[string]any{"a": 1}, "map[string]interface {}"},
		{"pointer", redshiftsync.TypeString, new(string), "*string"},
		{"time in string column", redshiftsync.TypeString, time.Now(), "time.Time"},
		{"time in interval column", redshiftsync.TypeInterval, time.Now(), "INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e encoder
			e.setColumns(&redshiftsync.Table{Schema: "sch", Name: "tbl", Columns: []redshiftsync.Column{
				{Name: "ok", Type: redshiftsync.TypeLong}, {Name: "bad col", Type: tc.typ},
			}})
			_, err := e.encodeRow([]any{int64(1), tc.v})
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []string{"sch.tbl", `"bad col"`, tc.want} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestEncodeRowShape(t *testing.T) {
	var e encoder
	e.setColumns(&redshiftsync.Table{Schema: "s", Name: "t"})
	line, err := e.encodeRow(nil)
	if err != nil || string(line) != "{}\n" {
		t.Fatalf("no columns: %q, %v", line, err)
	}
	e.setColumns(&redshiftsync.Table{Schema: "s", Name: "t", Columns: []redshiftsync.Column{
		{Name: "id", Type: redshiftsync.TypeLong},
		{Name: "we\"ird\nkey\xff", Type: redshiftsync.TypeString},
		{Name: "", Type: redshiftsync.TypeBoolean},
	}})
	line, err = e.encodeRow([]any{int64(1), "x", true})
	if want := `{"id":1,"we\"ird\nkey\ufffd":"x","":true}` + "\n"; err != nil || string(line) != want {
		t.Fatalf("got %q, %v; want %q", line, err, want)
	}
	if _, err := e.encodeRow([]any{int64(1)}); err == nil {
		t.Fatal("short row: no error")
	}
	if _, err := e.encodeRow([]any{int64(1), "x", true, 4}); err == nil {
		t.Fatal("long row: no error")
	}
}

// TestEncodeRowDayPerColumn encodes rows whose date and timestamp columns
// move through days independently, and in the same column back and forth,
// so that each column's remembered day is both hit and missed, and checks
// every line against time.Format.
func TestEncodeRowDayPerColumn(t *testing.T) {
	var e encoder
	e.setColumns(&redshiftsync.Table{Schema: "s", Name: "t", Columns: []redshiftsync.Column{
		{Name: "dt", Type: redshiftsync.TypeNaiveDate},
		{Name: "ts", Type: redshiftsync.TypeNaiveDateTime},
		{Name: "tstz", Type: redshiftsync.TypeUTCDateTime},
		{Name: "dt2", Type: redshiftsync.TypeNaiveDate},
	}})
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	east := time.FixedZone("east", 13*3600)
	for g := range 3000 {
		dt := date(2000, 1, 1).AddDate(0, 0, g%9131*37%9131)                                   // a new day every row
		ts := base.Add(time.Duration(g) * 17 * time.Minute)                                    // a day every 85 rows
		tstz := base.Add(time.Duration(g*13) * time.Minute).In(east)                           // its wall day is not its UTC day
		dt2 := date(1999, 12, 31).AddDate(0, 0, (g/7)%3-1).Add(time.Duration(g%5) * time.Hour) // back and forth
		line, err := e.encodeRow([]any{dt, ts, tstz, dt2})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"dt":"%s","ts":"%s","tstz":"%s","dt2":"%s"}`+"\n",
			dt.Format("2006-01-02"), ts.Format("2006-01-02T15:04:05.000000"),
			tstz.UTC().Format("2006-01-02T15:04:05.000000Z"), dt2.Format("2006-01-02"))
		if string(line) != want {
			t.Fatalf("row %d: got  %s want %s", g, line, want)
		}
	}
}

func TestEncodeNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool (used by json.Valid) allocate")
	}
	table, rows := benchTable(16)
	var e encoder
	e.setColumns(table)
	allocs := testing.AllocsPerRun(1000, func() {
		for _, row := range rows {
			if _, err := e.encodeRow(row); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per %d rows, want 0", allocs, len(rows))
	}
}

// TestStringRoundTrip checks that every valid UTF-8 string reads back
// exactly, and every other one reads back as valid UTF-8.
func TestStringRoundTrip(t *testing.T) {
	var all []string
	for r := rune(0); r < 0x3000; r++ {
		all = append(all, string(r), "a"+string(r)+"b")
	}
	all = append(all, "\U0010FFFF", "\U0001F600x", "\xc0\x80", "\xf4\x90\x80\x80", "\xff\xfe", bigString)
	for b := 0; b < 256; b++ {
		all = append(all, string([]byte{byte(b)}), "é"+string([]byte{byte(b)}))
	}
	for _, s := range all {
		enc := appendString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q: %s does not parse: %v", s, enc, err)
		}
		// Valid UTF-8 reads back as is; each invalid byte as U+FFFD.
		want := perByteReplacement(s)
		if got != want {
			t.Fatalf("%q: read back %q, want %q", s, got, want)
		}
	}
}

func perByteReplacement(s string) string {
	var b strings.Builder
	for _, r := range s { // ranging yields U+FFFD for each invalid byte
		b.WriteRune(r)
	}
	return b.String()
}

// BenchmarkAppendString measures the encoding of strings shaped like the
// text column of the benchmark's bench.wide (70-130 characters of hex and
// spaces, one in a hundred with a quote, a tab, a backslash and a non-ASCII
// letter); one op is one string.
func BenchmarkAppendString(b *testing.B) {
	var strs []string
	for i := range 100 {
		s := strings.Repeat("0123456789abcdef0123456789abcdef ", 4)[:70+i*61/100]
		if i == 0 {
			s = "Zürich \"quoted\", tab\tand \\ backslash: " + s
		}
		strs = append(strs, s)
	}
	var buf []byte
	i, n := 0, 0
	for b.Loop() {
		buf = appendString(buf[:0], strs[i])
		n += len(strs[i])
		i = (i + 1) % len(strs)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/op")
}

// appendDateTimeRef is appendDateTime as it was before it computed the date
// and the clock from one count of seconds: t.Date and t.Clock. The tests
// below check the new one against it.
func appendDateTimeRef(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = appendDate(b, y, m, d)
	hh, mm, ss := t.Clock()
	b = append(b, 'T')
	b = append(b, byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':', byte('0'+ss/10), byte('0'+ss%10), '.')
	us := t.Nanosecond() / 1000
	for div := 100000; div > 0; div /= 10 {
		b = append(b, byte('0'+us/div%10))
	}
	return b
}

// dateTimeZones are the locations the equivalence tests put times in: the
// decoder's (UTC), fixed offsets either side, and a zone with history
// (local mean time offsets of seconds, DST).
func dateTimeZones(t testing.TB) []*time.Location {
	zs := []*time.Location{time.UTC, est, cet, time.FixedZone("odd", -(3*3600 + 25*60 + 7)), time.FixedZone("+14", 14*3600)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zs = append(zs, ny)
	} else {
		t.Logf("no America/New_York (%v): fixed zones only", err)
	}
	return zs
}

// checkDay is the day cache the checks share, so that it is both hit (a
// time of the day before) and missed across them.
var checkDay civilDay

func checkDateTime(t testing.TB, tm time.Time) {
	got, want := appendDateTime(nil, tm, &checkDay), appendDateTimeRef(nil, tm)
	if string(got) != string(want) {
		t.Fatalf("appendDateTime(%v (unix %d)) = %s, want %s", tm, tm.Unix(), got, want)
	}
	y, m, d := tm.Date()
	gotDate, _ := appendWallDate(nil, tm, &checkDay)
	if wantDate := appendDate(nil, y, m, d); string(gotDate) != string(wantDate) {
		t.Fatalf("appendWallDate(%v (unix %d)) = %s, want %s", tm, tm.Unix(), gotDate, wantDate)
	}
}

// TestAppendDateTimeEveryDay checks appendDateTime against t.Date and
// t.Clock on every day (in UTC, the decoder's location; every 101st day in
// the other zones of dateTimeZones) from 4714 BC (PostgreSQL's first) to
// 10001 AD and around the end of PostgreSQL's timestamp range, at a time of
// day that moves by 7 s 1 µs a day, and at the nanosecond before the day.
func TestAppendDateTimeEveryDay(t *testing.T) {
	for _, loc := range dateTimeZones(t) {
		step := 1
		if loc != time.UTC {
			step = 101
		}
		if raceEnabled {
			step *= 17 // the race detector makes the full walk take minutes
		}
		ranges := [][2]time.Time{
			{time.Date(-4713, 1, 1, 0, 0, 0, 0, loc), time.Date(10001, 12, 31, 0, 0, 0, 0, loc)},
			{time.Date(294270, 1, 1, 0, 0, 0, 0, loc), time.Date(294280, 12, 31, 0, 0, 0, 0, loc)},
		}
		for _, r := range ranges {
			i := 0
			for day := r[0]; !day.After(r[1]); day = day.Add(time.Duration(step) * 24 * time.Hour) {
				i++
				checkDateTime(t, day.Add(time.Duration(i%12343)*(7*time.Second+time.Microsecond)))
				checkDateTime(t, day.Add(-time.Nanosecond)) // 23:59:59.999999 of the day before
			}
		}
	}
	for _, tm := range []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-86400, 0), time.Unix(-86401, 999_999_999),
		time.Date(0, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(-4, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(1900, 2, 28, 23, 59, 59, 0, time.UTC), time.Date(2000, 2, 29, 0, 0, 0, 0, cet),
		time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC), time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 1, 31, 23, 59, 60, 0, time.UTC), // Go normalizes a leap second to the next minute
	} {
		checkDateTime(t, tm)
	}
}

// FuzzAppendDateTime checks appendDateTime against t.Date and t.Clock for
// any instant within ±300,000 years of 1970, any nanosecond, any offset up
// to ±18 h.
func FuzzAppendDateTime(f *testing.F) {
	f.Add(int64(0), int64(0), int32(0))
	f.Add(int64(-62135596800), int64(1), int32(-18000))
	f.Add(int64(9224318015999), int64(999999999), int32(3600))
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int32) {
		const maxSec = 300_000 * 366 * 86400
		sec %= maxSec
		nsec %= 1_000_000_000
		off %= 18 * 3600
		checkDateTime(t, time.Unix(sec, nsec).In(time.FixedZone("z", int(off))))
		checkDateTime(t, time.Unix(sec, nsec).UTC())
	})
}

// BenchmarkAppendDateTime measures one timestamp of the decoder's kind (UTC).
func BenchmarkAppendDateTime(b *testing.B) {
	tm := time.Date(2024, 1, 31, 13, 45, 1, 123456000, time.UTC)
	var buf []byte
	for b.Loop() {
		buf = appendDateTime(buf[:0], tm, new(civilDay))
	}
}

// BenchmarkAppendDateTimeRef measures the same with t.Date and t.Clock,
// for comparison.
func BenchmarkAppendDateTimeRef(b *testing.B) {
	tm := time.Date(2024, 1, 31, 13, 45, 1, 123456000, time.UTC)
	var buf []byte
	for b.Loop() {
		buf = appendDateTimeRef(buf[:0], tm)
	}
}
