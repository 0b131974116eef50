// This file holds UNLOAD's Parquet side: which Parquet type each Redshift
// type is written as (the table in doc.go), the conversion of the
// upstream's text values to Parquet values, and the part files of each
// slice, cut into row groups and files by size.

package standin

import (
	"bytes"
	"context"
	endian "encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
)

// PostgreSQL type OIDs the upstream describes result columns with (a
// domain by its base type).
const (
	oidBool        = 16
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidNumeric     = 1700
)

// valueKind is how a column's text values become Parquet values.
type valueKind int

const (
	kInt32 valueKind = iota + 1
	kInt64
	kFloat
	kDouble
	kBool
	kString
	kJSON
	kDate
	kTimestamp // INT96
	kTime
	kTimetz
	kDecimal
)

// unloadColumn is one column of an UNLOAD's result.
type unloadColumn struct {
	name     string
	kind     valueKind
	node     parquet.Node
	manifest manifestType
	// precision and scale of a DECIMAL; size of its FIXED_LEN_BYTE_ARRAY
	// (0 when stored as INT32 or INT64).
	precision, scale, flba int
}

// binaryResult says whether the upstream sends the column's values in
// PostgreSQL's binary form: floats, dates, times and timestamps, whose text
// depends on the session (extra_float_digits, DateStyle, TimeZone, which
// are the client's: see unloadConn) and stops at year 9999 in ISO form;
// the binary form is exact over the whole range (4713 BC to 294276 AD).
func (c *unloadColumn) binaryResult() bool {
	switch c.kind {
	case kFloat, kDouble, kDate, kTimestamp, kTime, kTimetz:
		return true
	}
	return false
}

// domainTypes are the Redshift types the stand-in serves as domains (see
// catalog.go), by name: a column of one is known by its table's catalog.
var domainTypes = set("varbyte", "geometry", "geography", "super", "hllsketch")

// unloadColumns returns the columns of a result described by fields, with
// their Parquet types, or the rejection of a type UNLOAD cannot write to
// Parquet.
func unloadColumns(ctx context.Context, c *pgconn.PgConn, query string, fields []pgconn.FieldDescription) ([]unloadColumn, *Rejection) {
	domains, r := resultDomains(ctx, c, query, fields)
	if r != nil {
		return nil, r
	}
	seen := map[string]bool{}
	out := make([]unloadColumn, len(fields))
	for i, f := range fields {
		if seen[f.Name] {
			return nil, unloadReject("UNLOAD column names", "XX000", fmt.Sprintf("redshift-standin: UNLOAD to PARQUET: column name %q appears twice in the query: give each column its own name", f.Name))
		}
		seen[f.Name] = true
		col, r := parquetColumn(f, domains[i])
		if r != nil {
			return nil, r
		}
		out[i] = col
	}
	return out, nil
}

// resultDomains returns, per field of query's result, the name of the
// stand-in domain type (varbyte, geometry, super, …) it has, "" for others.
// PostgreSQL describes a domain's values by the base type, so the types
// are read from a temporary view of the query (rolled back): that finds an
// expression's domain too (JSON_PARSE(…) is SUPER). Where the view cannot
// be made (no TEMP privilege, a name twice), the columns of tables the
// fields select are looked up instead.
func resultDomains(ctx context.Context, c *pgconn.PgConn, query string, fields []pgconn.FieldDescription) ([]string, *Rejection) {
	const view = "redshift_standin_unload_columns"
	res, err := c.Exec(ctx, "BEGIN; CREATE TEMP VIEW "+view+" AS "+query+`
;
		SELECT a.attnum, t.typname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
		WHERE a.attrelid = 'pg_temp.`+view+`'::regclass AND a.attnum > 0 AND t.typtype = 'd'`).ReadAll()
	if _, rerr := c.Exec(ctx, "ROLLBACK").ReadAll(); rerr != nil {
		return nil, upstreamError(rerr)
	}
	if err != nil || len(res) != 3 {
		return columnDomains(ctx, c, fields)
	}
	out := make([]string, len(fields))
	for _, row := range res[2].Rows {
		num, _ := strconv.Atoi(string(row[0]))
		if n := string(row[1]); num >= 1 && num <= len(out) && domainTypes[n] {
			out[num-1] = n
		}
	}
	return out, nil
}

// columnDomains returns, per field, the name of the stand-in domain type
// (varbyte, geometry, …) of the table column it selects, "" for others.
func columnDomains(ctx context.Context, c *pgconn.PgConn, fields []pgconn.FieldDescription) ([]string, *Rejection) {
	out := make([]string, len(fields))
	var rels []string
	for _, f := range fields {
		if f.TableOID != 0 {
			rels = append(rels, strconv.FormatUint(uint64(f.TableOID), 10))
		}
	}
	if len(rels) == 0 {
		return out, nil
	}
	res, err := c.Exec(ctx, `SELECT a.attrelid, a.attnum, t.typname FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
		WHERE t.typtype = 'd' AND a.attrelid IN (`+strings.Join(rels, ",")+`)`).ReadAll()
	if err != nil {
		return nil, upstreamError(err)
	}
	type key struct {
		rel uint32
		num uint16
	}
	names := map[key]string{}
	for _, row := range res[0].Rows {
		rel, _ := strconv.ParseUint(string(row[0]), 10, 32)
		num, _ := strconv.ParseUint(string(row[1]), 10, 16)
		names[key{uint32(rel), uint16(num)}] = string(row[2])
	}
	for i, f := range fields {
		if n := names[key{f.TableOID, f.TableAttributeNumber}]; domainTypes[n] {
			out[i] = n
		}
	}
	return out, nil
}

// notParquet is the rejection of a column whose type UNLOAD writes only to
// text or CSV (r_UNLOAD usage notes: GEOMETRY, HLLSKETCH, VARBYTE), or that
// the stand-in does not write.
func notParquet(col, typ, why string) *Rejection {
	return unloadReject("UNLOAD type not in Parquet", "0A000",
		fmt.Sprintf("UNLOAD: column %q is of type %s, which %s: cast it in the query", col, typ, why))
}

// parquetColumn maps one result column to its Parquet type (doc.go's
// table). Every column is optional: UNLOAD writes NOT NULL columns as
// nullable (reported from clusters).
func parquetColumn(f pgconn.FieldDescription, domain string) (unloadColumn, *Rejection) {
	c := unloadColumn{name: f.Name}
	intp := func(v int) *int { return &v }
	switch domain {
	case "geometry", "geography", "hllsketch", "varbyte":
		return c, notParquet(f.Name, strings.ToUpper(domain), "UNLOAD writes only to text or CSV (r_UNLOAD usage notes)")
	case "super":
		// unload-super-parquet: "Amazon Redshift represents SUPER columns
		// in Parquet as the JSON data type."
		c.kind, c.node, c.manifest = kJSON, parquet.Optional(parquet.JSON()), manifestType{Base: "super"}
		return c, nil
	}
	mod := f.TypeModifier
	switch f.DataTypeOID {
	case oidInt2:
		c.kind, c.node, c.manifest = kInt32, parquet.Int(16), manifestType{Base: "smallint"}
	case oidInt4:
		c.kind, c.node, c.manifest = kInt32, parquet.Int(32), manifestType{Base: "integer"}
	case oidInt8:
		c.kind, c.node, c.manifest = kInt64, parquet.Int(64), manifestType{Base: "bigint"}
	case oidNumeric:
		if mod < 4 {
			return c, notParquet(f.Name, "NUMERIC without precision and scale", "the stand-in cannot give a Parquet DECIMAL (Redshift's NUMERIC has them, 18,0 by default)")
		}
		p, s := int((mod-4)>>16), int((mod-4)&0xffff)
		c.kind, c.precision, c.scale = kDecimal, p, s
		c.manifest = manifestType{Base: "numeric", Precision: intp(p), Scale: intp(s)}
		switch {
		case p <= 9:
			c.node = parquet.Decimal(s, p, parquet.Int32Type)
		case p <= 18:
			c.node = parquet.Decimal(s, p, parquet.Int64Type)
		default:
			c.flba = decimalBytes(p)
			c.node = parquet.Decimal(s, p, parquet.FixedLenByteArrayType(c.flba))
		}
	case 700:
		c.kind, c.node, c.manifest = kFloat, parquet.Leaf(parquet.FloatType), manifestType{Base: "real"}
	case 701:
		c.kind, c.node, c.manifest = kDouble, parquet.Leaf(parquet.DoubleType), manifestType{Base: "double precision"}
	case oidBool:
		c.kind, c.node, c.manifest = kBool, parquet.Leaf(parquet.BooleanType), manifestType{Base: "boolean"}
	case oidBpchar:
		c.kind, c.node = kString, parquet.String()
		c.manifest = manifestType{Base: "character", Length: intp(max(int(mod)-4, 1))}
	case oidVarchar, oidText, oidName:
		// Redshift's TEXT is VARCHAR(256) (r_Character_types).
		n := 256
		if f.DataTypeOID == oidVarchar && mod >= 4 {
			n = int(mod) - 4
		}
		c.kind, c.node, c.manifest = kString, parquet.String(), manifestType{Base: "character varying", Length: intp(n)}
	case oidDate:
		c.kind, c.node, c.manifest = kDate, parquet.Date(), manifestType{Base: "date"}
	case oidTimestamp:
		c.kind, c.node, c.manifest = kTimestamp, parquet.Leaf(parquet.Int96Type), manifestType{Base: "timestamp without time zone"}
	case oidTimestamptz:
		// r_UNLOAD, FORMAT AS PARQUET: "only the timestamp values are
		// unloaded. The time zone information isn't unloaded."
		c.kind, c.node, c.manifest = kTimestamp, parquet.Leaf(parquet.Int96Type), manifestType{Base: "timestamp with time zone"}
	case oidTime:
		c.kind, c.node, c.manifest = kTime, parquet.TimeAdjusted(parquet.Microsecond, false), manifestType{Base: "time without time zone"}
	case oidTimetz:
		c.kind, c.node, c.manifest = kTimetz, parquet.TimeAdjusted(parquet.Microsecond, true), manifestType{Base: "time with time zone"}
	case oidInterval:
		return c, notParquet(f.Name, "INTERVAL", "the stand-in does not write to Parquet (AWS documents no Parquet form for it)")
	default:
		return c, notParquet(f.Name, fmt.Sprintf("with OID %d", f.DataTypeOID), "is not a Redshift type the stand-in writes to Parquet")
	}
	c.node = parquet.Optional(c.node)
	return c, nil
}

// decimalBytes is the fewest bytes a two's-complement FIXED_LEN_BYTE_ARRAY
// needs for precision p (Parquet's LogicalTypes, DECIMAL).
func decimalBytes(p int) int {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
	for n := 1; ; n++ {
		if new(big.Int).Lsh(big.NewInt(1), uint(8*n-1)).Cmp(limit) >= 0 {
			return n
		}
	}
}

// orderedGroup is a Parquet group whose fields keep the query's column
// order (parquet.Group sorts them by name).
type orderedGroup []parquetField

type parquetField struct {
	parquet.Node
	name string
}

func (f parquetField) Name() string { return f.name }
func (f parquetField) Value(base reflect.Value) reflect.Value {
	return base.MapIndex(reflect.ValueOf(f.name))
}

func (g orderedGroup) group() parquet.Group {
	m := parquet.Group{}
	for _, f := range g {
		m[f.name] = f.Node
	}
	return m
}
func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return g.group().String() }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return g.group().GoType() }
func (g orderedGroup) Fields() []parquet.Field {
	out := make([]parquet.Field, len(g))
	for i, f := range g {
		out[i] = f
	}
	return out
}

// sliceWriter is one slice's output: its open part file and how full it is.
type sliceWriter struct {
	part       int
	buf        bytes.Buffer
	w          *parquet.Writer
	rows       int64
	groups     int
	groupBytes int64
}

// unloadOutput writes an UNLOAD's rows to part files, slice by slice.
type unloadOutput struct {
	store         ObjectStore
	u             *Unload
	cols          []unloadColumn
	schema        *parquet.Schema
	groupBytes    int64
	groupsPerFile int
	slices        []sliceWriter
	entries       []manifestEntry
	row           parquet.Row
	serial        int // PARALLEL OFF: the next file's number
}

// key returns the object key of slice i's current part: r_UNLOAD's
// <name-prefix><slice-number>_part_<part-number>, with the .parquet
// extension of r_UNLOAD_command_examples; with PARALLEL OFF
// <name-prefix>000.parquet, 001, … (r_UNLOAD, PARALLEL).
func (o *unloadOutput) key(i int) string {
	if !o.u.Parallel {
		return fmt.Sprintf("%s%03d.parquet", o.u.Prefix, o.serial)
	}
	return fmt.Sprintf("%s%04d_part_%02d.parquet", o.u.Prefix, i, o.slices[i].part)
}

// write adds one row (text values) to slice i.
func (o *unloadOutput) write(i int, values [][]byte) *Rejection {
	if o.schema == nil {
		g := make(orderedGroup, len(o.cols))
		for k, c := range o.cols {
			g[k] = parquetField{Node: c.node, name: c.name}
		}
		o.schema = parquet.NewSchema("schema", g)
	}
	sw := &o.slices[i]
	if sw.w == nil {
		sw.buf.Reset()
		// r_UNLOAD, FORMAT: "Apache Parquet version 1.0 format. By
		// default, each row group is compressed using SNAPPY compression."
		sw.w = parquet.NewWriter(&sw.buf, o.schema, parquet.Compression(&parquet.Snappy), parquet.DataPageVersion(1),
			parquet.CreatedBy("redshift-standin", "1.0.0", ""))
	}
	o.row = o.row[:0]
	var size int64
	for k, c := range o.cols {
		raw := values[k]
		size += int64(len(raw)) + 1
		if raw == nil {
			o.row = append(o.row, parquet.NullValue().Level(0, 0, k))
			continue
		}
		v, err := c.value(raw)
		if err != nil {
			return unloadReject("UNLOAD value", "XX000", fmt.Sprintf("redshift-standin: UNLOAD: column %q: %v", c.name, err))
		}
		o.row = append(o.row, v.Level(0, 1, k))
	}
	if _, err := sw.w.WriteRows([]parquet.Row{o.row}); err != nil {
		return unloadReject("UNLOAD write", "XX000", "redshift-standin: UNLOAD: write Parquet: "+err.Error())
	}
	sw.rows++
	sw.groupBytes += size
	if sw.groupBytes >= o.groupBytes {
		if err := sw.w.Flush(); err != nil {
			return unloadReject("UNLOAD write", "XX000", "redshift-standin: UNLOAD: write Parquet: "+err.Error())
		}
		sw.groups++
		sw.groupBytes = 0
		if sw.groups >= o.groupsPerFile {
			return o.close(i)
		}
	}
	return nil
}

// close ends slice i's open file, stores it and records its entry.
func (o *unloadOutput) close(i int) *Rejection {
	sw := &o.slices[i]
	if sw.w == nil || sw.rows == 0 {
		return nil
	}
	if err := sw.w.Close(); err != nil {
		return unloadReject("UNLOAD write", "XX000", "redshift-standin: UNLOAD: write Parquet: "+err.Error())
	}
	key := o.key(i)
	body := bytes.Clone(sw.buf.Bytes())
	if err := o.store.PutObject(o.u.Bucket, key, body); err != nil {
		return s3Error(err)
	}
	n := sw.rows
	o.entries = append(o.entries, manifestEntry{URL: "s3://" + o.u.Bucket + "/" + key,
		Meta: &manifestMeta{ContentLength: int64(len(body)), RecordCount: &n}})
	sw.w, sw.rows, sw.groups, sw.groupBytes = nil, 0, 0, 0
	sw.part++
	o.serial++
	return nil
}

// finish closes every slice's open file; a slice without rows writes none.
func (o *unloadOutput) finish() *Rejection {
	for i := range o.slices {
		if r := o.close(i); r != nil {
			return r
		}
	}
	return nil
}

// julianEpoch is the Julian day number of 1970-01-01, INT96's day origin;
// pgEpochDays is 2000-01-01, PostgreSQL's binary origin, in days after
// 1970-01-01.
const (
	julianEpoch = 2440588
	pgEpochDays = 10957
	dayMicros   = 86400_000_000
)

// value converts a value of the upstream to the column's Parquet value:
// binary for the columns binaryResult names, text (of a session with any
// DateStyle, TimeZone or extra_float_digits) for the others.
func (c *unloadColumn) value(raw []byte) (parquet.Value, error) {
	s := string(raw)
	switch c.kind {
	case kInt32:
		n, err := strconv.ParseInt(s, 10, 32)
		return parquet.Int32Value(int32(n)), err
	case kInt64:
		n, err := strconv.ParseInt(s, 10, 64)
		return parquet.Int64Value(n), err
	case kBool:
		return parquet.BooleanValue(s == "t"), nil
	case kString:
		// A copy: pgconn reuses raw for the next row.
		return parquet.ByteArrayValue([]byte(s)), nil
	case kJSON:
		// SUPER serialized as Redshift's JSON_SERIALIZE gives it: compact.
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return parquet.Value{}, fmt.Errorf("SUPER value is not JSON: %w", err)
		}
		return parquet.ByteArrayValue(b.Bytes()), nil
	case kDecimal:
		return c.decimal(s)
	}
	// Binary values (big-endian).
	want := map[valueKind]int{kFloat: 4, kDouble: 8, kDate: 4, kTimestamp: 8, kTime: 8, kTimetz: 12}[c.kind]
	if len(raw) != want {
		return parquet.Value{}, fmt.Errorf("binary value of %d bytes, want %d", len(raw), want)
	}
	u64 := func(b []byte) int64 { return int64(endian.BigEndian.Uint64(b)) }
	switch c.kind {
	case kFloat:
		return parquet.FloatValue(math.Float32frombits(endian.BigEndian.Uint32(raw))), nil
	case kDouble:
		return parquet.DoubleValue(math.Float64frombits(endian.BigEndian.Uint64(raw))), nil
	case kDate:
		// Days since 2000-01-01; ±infinity are the int32 extremes.
		d := int32(endian.BigEndian.Uint32(raw))
		if d == math.MaxInt32 || d == math.MinInt32 {
			return parquet.Value{}, fmt.Errorf("date infinity has no Redshift form")
		}
		return parquet.Int32Value(d + pgEpochDays), nil
	case kTimestamp:
		// Microseconds since 2000-01-01 00:00 (UTC for TIMESTAMPTZ);
		// ±infinity are the int64 extremes. INT96: nanoseconds of the
		// day, then the Julian day (PostgreSQL's and Parquet's calendar
		// alike: proleptic Gregorian).
		us := u64(raw)
		if us == math.MaxInt64 || us == math.MinInt64 {
			return parquet.Value{}, fmt.Errorf("timestamp infinity has no Redshift form")
		}
		days, rest := us/dayMicros, us%dayMicros
		if rest < 0 {
			days, rest = days-1, rest+dayMicros
		}
		nanos := uint64(rest) * 1000
		return parquet.Int96Value(deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days + pgEpochDays + julianEpoch)}), nil
	case kTime:
		return parquet.Int64Value(u64(raw)), nil
	case kTimetz:
		// Microseconds of the local time, then the zone in seconds west
		// of UTC; written in UTC as render.go prints it (24:00:00+00
		// kept).
		us, west := u64(raw), int64(int32(endian.BigEndian.Uint32(raw[8:])))
		if west != 0 {
			us = ((us+west*1_000_000)%dayMicros + dayMicros) % dayMicros
		}
		return parquet.Int64Value(us), nil
	}
	return parquet.Value{}, fmt.Errorf("no Parquet form")
}

// decimal converts a numeric's text to the unscaled integer at the
// column's scale, as INT32, INT64 or big-endian two's complement.
func (c *unloadColumn) decimal(s string) (parquet.Value, error) {
	if s == "NaN" {
		return parquet.Value{}, fmt.Errorf("NaN has no DECIMAL form")
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > c.scale {
		return parquet.Value{}, fmt.Errorf("%s has more than %d decimal places", s, c.scale)
	}
	digits := whole + frac + strings.Repeat("0", c.scale-len(frac))
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return parquet.Value{}, fmt.Errorf("%q is not a decimal", s)
	}
	if neg {
		n.Neg(n)
	}
	switch {
	case c.flba == 0 && c.precision <= 9:
		return parquet.Int32Value(int32(n.Int64())), nil
	case c.flba == 0:
		return parquet.Int64Value(n.Int64()), nil
	}
	b := make([]byte, c.flba)
	if n.Sign() >= 0 {
		n.FillBytes(b)
	} else {
		// Two's complement: 2^(8·size) + n.
		m := new(big.Int).Lsh(big.NewInt(1), uint(8*c.flba))
		m.Add(m, n).FillBytes(b)
	}
	return parquet.FixedLenByteArrayValue(b), nil
}
