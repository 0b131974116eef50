// This file holds the values the relay renders as Redshift does where
// PostgreSQL 12+ differs: REAL and DOUBLE PRECISION, and binary values, in
// text form.

package standin

import (
	"math"
	"strconv"

	"github.com/jackc/pgx/v5/pgproto3"
)

// PostgreSQL type OIDs of the float types.
const (
	oidBytea  = 17
	oidFloat4 = 700
	oidFloat8 = 701
)

// binary marks a column of binary values in renderedColumns' result.
const binary = 1

// renderedColumns returns, per column of d, 4 or 8 for a REAL or DOUBLE
// PRECISION column sent as text, binary for a bytea (VARBYTE) one, 0 for
// any other; nil when there is none.
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

// renderValues rewrites the float columns of r as Redshift prints them
// (r_extra_float_digits): PostgreSQL 8.0.2's "%.*g" with FLT_DIG (6) or
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
