// This file holds the values the relay renders as Redshift does where
// PostgreSQL 12+ differs: REAL and DOUBLE PRECISION, binary values, TIMETZ,
// and intervals with a qualifier, in text form.

package standin

import (
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// PostgreSQL type OIDs of the types rendered (oidTimetz and oidInterval
// are unload_parquet.go's).
const (
	oidBytea  = 17
	oidFloat4 = 700
	oidFloat8 = 701
)

// binary marks a column of binary values in renderedColumns' result,
// timeTZ one of TIMETZ values.
const (
	binary = 1
	timeTZ = 2
	// y2m and d2s mark an interval with a year-month or a day-second
	// qualifier.
	y2m = 3
	d2s = 5 // (4 and 8 are REAL and DOUBLE PRECISION)
)

// The range bits of an interval's type modifier (PostgreSQL's
// INTERVAL_RANGE: typmod >> 16).
const (
	rangeMonth   = 1 << 1
	rangeYear    = 1 << 2
	rangeDay     = 1 << 3
	rangeHour    = 1 << 10
	rangeMinute  = 1 << 11
	rangeSecond  = 1 << 12
	daySecondAll = rangeDay | rangeHour | rangeMinute | rangeSecond
)

// renderedColumns returns, per column of d, 4 or 8 for a REAL or DOUBLE
// PRECISION column sent as text, binary for a bytea (VARBYTE) one, timeTZ
// for a TIMETZ one, y2m or d2s for an interval with a year-month or a
// day-second qualifier, 0 for any other; nil when there is none.
func renderedColumns(d *pgproto3.RowDescription) []int {
	var out []int
	for i, f := range d.Fields {
		bits := 0
		if f.Format == 0 {
			switch f.DataTypeOID {
			case oidFloat4:
				bits = 4
			case oidFloat8:
				bits = 8
			case oidBytea:
				bits = binary
			case oidTimetz:
				bits = timeTZ
			case oidInterval:
				// r_interval_data_types: an interval with a qualifier
				// (Redshift's types INTERVALY2M and INTERVALD2S) is
				// printed with every unit of its kind ("Examples of
				// interval literals"); "cast it to text to see the
				// expected interval style" ("Interval styles"), which
				// to_varchar(interval) leaves as PostgreSQL prints it.
				if f.TypeModifier != -1 {
					switch r := f.TypeModifier >> 16; {
					case r&daySecondAll != 0:
						bits = d2s
					case r&(rangeYear|rangeMonth) != 0:
						bits = y2m
					}
				}
			}
		}
		if bits != 0 && out == nil {
			out = make([]int, len(d.Fields))
		}
		if out != nil {
			out[i] = bits
		}
	}
	return out
}

// renderValues rewrites the columns of r that cols marks as Redshift prints
// them (binary, TIMETZ and interval values: see the functions below).
// Floats (r_extra_float_digits): PostgreSQL 8.0.2's "%.*g" with FLT_DIG (6) or
// DBL_DIG (15) plus extra_float_digits significant digits (at least 1),
// where PostgreSQL 12+ prints the shortest exact form whenever
// extra_float_digits is above 0. At Redshift's maximum, 2, a REAL gets 8
// digits, which do not always read back as the same REAL.
func renderValues(r *pgproto3.DataRow, cols []int, extra int) {
	for i, bits := range cols {
		if bits == 0 || i >= len(r.Values) || r.Values[i] == nil {
			continue
		}
		if bits == binary {
			// r_VARBYTE_type: "displayed as hexadecimal", without
			// PostgreSQL's \x prefix (bytea_output hex).
			if v := r.Values[i]; len(v) >= 2 && v[0] == '\\' && v[1] == 'x' {
				r.Values[i] = v[2:]
			}
			continue
		}
		if bits == timeTZ {
			r.Values[i] = []byte(timeTZInUTC(string(r.Values[i])))
			continue
		}
		if bits == y2m || bits == d2s {
			r.Values[i] = []byte(intervalLiteralText(string(r.Values[i]), bits == y2m))
			continue
		}
		size, digits := 64, 15+extra
		if bits == 4 {
			size, digits = 32, 6+extra
		}
		digits = max(digits, 1)
		v, err := strconv.ParseFloat(string(r.Values[i]), size)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue // NaN, Infinity, -Infinity: printed alike
		}
		r.Values[i] = []byte(strconv.FormatFloat(v, 'g', digits, size))
	}
}

// timeTZInUTC returns the TIMETZ text v (PostgreSQL's: "13:24:55.5-08",
// "10:00:00+05:30", "24:00:00+02") as Redshift prints it: the time of day
// in UTC, offset +00. r_Datetime_types: "TIMETZ values are UTC in both user
// tables and Amazon Redshift system tables"; r_DATEADD_function's examples
// print timetz '13:24:55 PST' plus 2 hours as 23:24:55+00. PostgreSQL keeps
// the offset the value was written with. A text it cannot read is left as
// it is.
func timeTZInUTC(v string) string {
	i := strings.LastIndexAny(v, "+-")
	if i < 8 {
		return v
	}
	clock, zone := v[:i], v[i:]
	off := 0
	for n, part := range strings.Split(zone[1:], ":") {
		x, err := strconv.Atoi(part)
		if err != nil || n > 2 {
			return v
		}
		off += x * []int{3600, 60, 1}[n]
	}
	if zone[0] == '-' {
		off = -off
	}
	whole, frac, _ := strings.Cut(clock, ".")
	hms := strings.Split(whole, ":")
	if len(hms) != 3 {
		return v
	}
	secs := 0
	for n, part := range hms {
		x, err := strconv.Atoi(part)
		if err != nil {
			return v
		}
		secs += x * []int{3600, 60, 1}[n]
	}
	if off == 0 {
		return clock + "+00"
	}
	secs = ((secs-off)%86400 + 86400) % 86400
	out := []byte(strconv.Itoa(100 + secs/3600)[1:] + ":" + strconv.Itoa(100 + secs%3600/60)[1:] + ":" + strconv.Itoa(100 + secs%60)[1:])
	if frac != "" {
		out = append(append(out, '.'), frac...)
	}
	return string(append(out, "+00"...))
}

// intervalLiteralText returns PostgreSQL's postgres-style text of an
// interval ("1 year 1 mon", "-1 days +02:00:00", "00:00:01.235") as
// Redshift prints an interval with a qualifier that is not cast to text
// (r_interval_data_types, "Examples of interval literals"): a year-month
// one as "1 years 1 mons", a day-second one as "0 days 0 hours 0 mins
// 1.235 secs" (seconds with at least one decimal). A text it cannot read is
// left as it is.
func intervalLiteralText(v string, yearMonth bool) string {
	var months, days, micros int64
	f := strings.Fields(v)
	for i := 0; i < len(f); i++ {
		if strings.Contains(f[i], ":") {
			neg := strings.HasPrefix(f[i], "-")
			hms := strings.Split(strings.TrimLeft(f[i], "+-"), ":")
			if len(hms) != 3 {
				return v
			}
			h, err1 := strconv.ParseInt(hms[0], 10, 64)
			m, err2 := strconv.ParseInt(hms[1], 10, 64)
			sec, err3 := strconv.ParseFloat(hms[2], 64)
			if err1 != nil || err2 != nil || err3 != nil {
				return v
			}
			t := (h*3600+m*60)*1e6 + int64(math.Round(sec*1e6))
			if neg {
				t = -t
			}
			micros += t
			continue
		}
		if i+1 >= len(f) {
			return v
		}
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return v
		}
		switch strings.TrimSuffix(f[i+1], "s") {
		case "year":
			months += 12 * n
		case "mon":
			months += n
		case "day":
			days += n
		default:
			return v
		}
		i++
	}
	if yearMonth {
		return strconv.FormatInt(months/12, 10) + " years " + strconv.FormatInt(months%12, 10) + " mons"
	}
	secs := strconv.FormatFloat(float64(micros%60_000_000)/1e6, 'f', -1, 64)
	if !strings.Contains(secs, ".") {
		secs += ".0"
	}
	return strconv.FormatInt(days, 10) + " days " + strconv.FormatInt(micros/3_600_000_000, 10) + " hours " +
		strconv.FormatInt(micros%3_600_000_000/60_000_000, 10) + " mins " + secs + " secs"
}
